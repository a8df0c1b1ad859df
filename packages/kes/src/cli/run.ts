// One run of the `kes` command: parses `argv` (the arguments after `kes`), runs the command with `io`, and
// returns the exit status. Any error a command ends with is printed to stderr as one message; the status
// tells its kind (exit-codes.ts). main.ts runs it with the real process; tests run it in-process.
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { describeError } from './output.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { Cli, type KesIO } from './io.js';

export async function runKes(argv: readonly string[], io: KesIO): Promise<number> {
  const cli = new Cli(io);
  try {
    await buildProgram(cli).parseAsync([...argv], { from: 'user' });
    return cli.exitCode;
  } catch (e) {
    // Commander has printed the message (and the usage hint); --help and --version end here too.
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    io.stderr.write(`kes: ${describeError(e)}\n`);
    return exitCodeOf(e);
  }
}
