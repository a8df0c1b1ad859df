// `kesgate`'s client commands run in this process (runKesgate, what bin/kesgate.js runs), with their own
// streams, environment and working directory: no process start per command. A module of its own, so the
// suites that only spawn the commands (helpers/cli.ts) do not load the CLI.
import { Writable } from 'node:stream';
import { runKesgate } from '../../src/cli/run.js';
import { cleanEnv, type CliRun } from './cli.js';

/** Collects what is written to it. */
function sink(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
}

/** Runs `kesgate args…` to its end in this process; stderr is not a terminal. The environment is cleanEnv() unless given. */
export async function runKesgateInProcess(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliRun> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const code = await runKesgate(args, {
    stdout: sink(out),
    stderr: sink(err),
    env: options.env ?? cleanEnv(),
    cwd: options.cwd ?? process.cwd(),
    onInterrupt: () => () => {},
  });
  const stdoutBytes = Buffer.concat(out);
  return { code, stdout: stdoutBytes.toString(), stdoutBytes, stderr: Buffer.concat(err).toString() };
}
