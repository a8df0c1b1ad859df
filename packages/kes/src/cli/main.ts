// Entry point of the `kes` command (bin/kes.js loads it through tsx). Any error a command ends
// with is printed to stderr as one message and the exit status is 1.
import { buildProgram } from './program.js';
import { describeError } from './output.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  process.stderr.write(`kes: ${describeError(e)}\n`);
  process.exitCode = 1;
}
