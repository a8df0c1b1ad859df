// The repository's commands (packages/*/bin) run as an operator runs them: a child process to its end, its
// exit code and output collected. The bins run the built bundle while it is current, else the sources.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const KESGATE_BIN = fileURLToPath(new URL('../../bin/kesgate.js', import.meta.url));
export const KES_BIN = fileURLToPath(new URL('../../../kes/bin/kes.js', import.meta.url));
export const KESGATE_SSE_BIN = fileURLToPath(new URL('../../../dare/bin/kesgate-sse.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  /** stdout as bytes, for a command that writes binary data (kesgate-sse decrypt). */
  stdoutBytes: Buffer;
  stderr: string;
}

/**
 * The environment of the shell running the tests without its variables that start with one of `prefixes`
 * (KESGATE_ by default: a developer's KESGATE_HOME must not decide what a test's command finds), plus `extra`.
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}, prefixes: readonly string[] = ['KESGATE_']): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !prefixes.some((p) => k.startsWith(p))));
  return { ...env, ...extra };
}

/** Runs `bin args…` to its end; `input` is its stdin (none by default). The environment is cleanEnv() unless given. */
export function runCli(
  bin: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: Buffer } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: options.env ?? cleanEnv(),
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString(), stdoutBytes, stderr: Buffer.concat(err).toString() });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}
