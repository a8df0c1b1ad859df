// The CLI suites' ways to run `kes`: in this process by default (runKes, the function the binary runs, with
// its own streams, environment and working directory), or as a real child (bin/kes.js) where the process is
// the point: the binary itself, terminals, signals, `kes server`. A kes server to talk to starts in this
// process (startServerInProcess), or as `kes server` (startServer) when a test is about that command; every
// child and server is stopped afterwards.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { KesClient } from '@kesgate/kes-client';
import type { RunningServer } from '../../src/server.js';
import { runKes } from '../../src/cli/run.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort } from '../../../../scripts/lib/free-port.js';

export const KES_BIN = fileURLToPath(new URL('../../bin/kes.js', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed (stdin is a pipe, never a terminal). */
  input?: string;
  cwd?: string;
}

// The parent's KES_* and KESGATE_* variables (KESGATE_HOME fills in connections) must not leak into a test's child.
function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KES_') && !k.startsWith('KESGATE_')) env[k] = v;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

const children = new Set<ChildProcessWithoutNullStreams>();

/** Spawns `kes args...` (not waiting for it). */
export function spawnKes(args: string[], options: RunOptions = {}): ChildProcessWithoutNullStreams {
  // An empty working directory by default: a ./.kesgate where the tests run would fill in connections.
  const child = spawn(process.execPath, [KES_BIN, ...args], {
    cwd: options.cwd ?? tempDir('kes-cli-cwd-'),
    env: childEnv(options.env),
    stdio: 'pipe',
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** util-linux script(1) gives a child a pseudo-terminal, for the prompts that only a terminal gets. */
export const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Spawns `kes args...` on a pseudo-terminal: write keystrokes to stdin, read the screen (stdout and stderr) from stdout. */
export function spawnKesInTerminal(args: string[], options: RunOptions = {}): ChildProcessWithoutNullStreams {
  const command = [process.execPath, KES_BIN, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], {
    cwd: options.cwd ?? tempDir('kes-cli-cwd-'),
    env: childEnv(options.env),
    stdio: 'pipe',
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Collects what is written to it, as text. */
function textSink(append: (text: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      append(chunk.toString());
      done();
    },
  });
}

/**
 * Runs `kes args...` to completion in this process, as the binary would run it: stdin a pipe (`input`, then
 * its end), stdout and stderr collected, the environment and working directory of a child of spawnKes.
 */
export async function kes(args: string[], options: RunOptions = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const code = await runKes(args, {
    stdin: Readable.from(options.input ? [Buffer.from(options.input)] : []),
    stdout: textSink((t) => (stdout += t)),
    stderr: textSink((t) => (stderr += t)),
    env: childEnv(options.env),
    cwd: options.cwd ?? tempDir('kes-cli-cwd-'),
    isTTY: false,
    onInterrupt: () => () => {},
  });
  return { code, stdout, stderr };
}

/** Runs `kes args...` to completion as a child process of the real binary (bin/kes.js). */
export function kesBinary(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawnKes(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `kes args... --json`, asserting exit 0, and parses stdout. */
export async function kesJson<T = Record<string, unknown>>(args: string[], options: RunOptions = {}): Promise<T> {
  const r = await kes([...args, '--json'], options);
  if (r.code !== 0) throw new Error(`kes ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Resolves when `child` prints a line matching `pattern` on the given stream; rejects if it exits first. */
export function waitForOutput(child: ChildProcessWithoutNullStreams, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (c: Buffer) => {
      seen += c.toString();
      const m = pattern.exec(seen);
      if (m) {
        child[stream].off('data', onData);
        child.off('exit', onExit);
        resolve(m[0]);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`kes exited (${code}) before printing ${pattern}: ${seen}`));
    child[stream].on('data', onData);
    child.once('exit', onExit);
  });
}

/** Ends every child still running (SIGTERM, then SIGKILL for any that does not go) and closes every in-process server. */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...[...children].map((c) => stopChild(c)), ...[...servers].map((s) => s.close())]);
}

export function stopChild(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', (code) => {
      clearTimeout(force);
      resolve(code);
    });
    child.kill(signal);
  });
}

/** A port below the ephemeral range that nothing listens on (scripts/lib/free-port.ts says why). */
export { freePort };

export interface Installation {
  dir: string;
  config: string;
  url: string;
  certs: string;
  adminIdentity: string;
  gatewayIdentity: string;
  /** KES_* variables for client commands as the admin. */
  adminEnv: Record<string, string>;
  gatewayEnv: Record<string, string>;
  dbPath: string;
  auditPath: string;
}

/**
 * A directory with development certificates (made by `kes dev-certs`, or copied from `certsFrom`)
 * and a kes.yaml for 127.0.0.1 on a free port. `extra` lines are appended to the YAML.
 */
export async function makeInstallation(options: { certsFrom?: Installation; extra?: string } = {}): Promise<Installation> {
  const dir = tempDir('kes-cli-test-');
  const certs = join(dir, 'certs');
  let adminIdentity: string;
  let gatewayIdentity: string;
  if (options.certsFrom) {
    const { cpSync } = await import('node:fs');
    cpSync(options.certsFrom.certs, certs, { recursive: true });
    adminIdentity = options.certsFrom.adminIdentity;
    gatewayIdentity = options.certsFrom.gatewayIdentity;
  } else {
    const r = await kesJson<{ admin_identity: string; gateway_identity: string }>(['dev-certs', '--out', certs]);
    adminIdentity = r.admin_identity;
    gatewayIdentity = r.gateway_identity;
  }
  const port = await freePort();
  const config = join(dir, 'kes.yaml');
  writeFileSync(
    config,
    [
      `address: 127.0.0.1:${port}`,
      `admin: { identity: ${adminIdentity} }`,
      'tls: { key: certs/kes.key, cert: certs/kes.crt, ca: certs/ca.crt }',
      'policy:',
      `  gateway: { allow: [/v1/key/generate/*, /v1/key/decrypt/*, /v1/sys/seal-status], identities: [${gatewayIdentity}] }`,
      'keystore: { sqlite: { path: data/kes.db } }',
      'log: { error: on, audit: data/audit.log }',
      options.extra ?? '',
    ].join('\n'),
  );
  const env = (who: string) => ({
    KES_SERVER: `https://127.0.0.1:${port}`,
    KES_CLIENT_CERT: join(certs, `${who}.crt`),
    KES_CLIENT_KEY: join(certs, `${who}.key`),
    KES_CA: join(certs, 'ca.crt'),
  });
  return {
    dir,
    config,
    url: `https://127.0.0.1:${port}`,
    certs,
    adminIdentity,
    gatewayIdentity,
    adminEnv: env('admin'),
    gatewayEnv: env('gateway'),
    dbPath: join(dir, 'data/kes.db'),
    auditPath: join(dir, 'data/audit.log'),
  };
}

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Its log so far (JSON lines on stdout). */
  log(): string;
}

/** Starts `kes server --config` for `inst` and resolves once /version answers over TLS. */
export async function startServer(inst: Installation): Promise<ServerProcess> {
  const child = spawnKes(['server', '--config', inst.config]);
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  const ca = readFileSync(join(inst.certs, 'ca.crt'));
  for (;;) {
    if (child.exitCode !== null) throw new Error(`kes server exited (${child.exitCode}): ${stderr}`);
    const version = await new Promise<string | undefined>((resolve) => {
      get(`${inst.url}/version`, { ca }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
      }).on('error', () => resolve(undefined));
    });
    if (version) return { child, stderr: () => stderr, log: () => stdout };
    await new Promise((r) => setTimeout(r, 100)); // not listening yet: ask again
  }
}

export interface InProcessServer {
  srv: RunningServer;
  /** Its log so far (JSON lines). */
  log(): string;
  close(): Promise<void>;
}

const servers = new Set<InProcessServer>();

/** Starts kes for `inst` in this process, from its config file (what `kes server --config` runs). */
export async function startServerInProcess(inst: Installation): Promise<InProcessServer> {
  // Loaded here: suites that import these helpers without a server do not pay for the server's modules.
  const { startServer: start } = await import('../../src/server.js');
  let log = '';
  const srv = await start(inst.config, { logDestination: { write: (line: string) => void (log += line) } });
  const server: InProcessServer = {
    srv,
    log: () => log,
    close: async () => {
      if (!servers.delete(server)) return;
      await srv.close();
    },
  };
  servers.add(server);
  return server;
}

/** A typed client as `who` (for setting up and checking what the CLI did). */
export function clientFor(inst: Installation, who: 'admin' | 'gateway' = 'admin'): KesClient {
  return new KesClient({
    endpoints: [inst.url],
    cert: readFileSync(join(inst.certs, `${who}.crt`)),
    key: readFileSync(join(inst.certs, `${who}.key`)),
    ca: readFileSync(join(inst.certs, 'ca.crt')),
  });
}
