// Entry point of the `kes` command (bin/kes.js runs the bundle of it, or it through tsx). Any error a
// command ends with is printed to stderr as one message; the exit status tells its kind (exit-codes.ts).
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { describeError } from './output.js';
import { EXIT, exitCodeOf } from './exit-codes.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander has printed the message (and the usage hint); --help and --version end here too.
    process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    process.stderr.write(`kes: ${describeError(e)}\n`);
    process.exitCode = exitCodeOf(e);
  }
}
