// A throwaway PostgreSQL cluster for tests: initdb into a temp dir, postgres on a free port (TCP on
// 127.0.0.1 with a password, and a Unix socket in the same dir), waited for with pg_isready, removed by
// close(). Run as the `postgres` user when the tests run as root (postgres refuses root). Fast and
// unsafe on purpose: no fsync, nothing is meant to survive the test process.
//
// The default collation is ICU's en-US, which does NOT sort bytewise ('a' < 'B' < 'é' there), so a
// store that forgets COLLATE "C" lists keys in the wrong order and its tests fail.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

const PG_LIB = '/usr/lib/postgresql';

/** The bin directory of the newest installed PostgreSQL (Debian layout), or undefined. */
export function postgresBinDir(): string | undefined {
  if (!existsSync(PG_LIB)) return undefined;
  const versions = readdirSync(PG_LIB)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(PG_LIB, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(PG_LIB, versions[0], 'bin');
}

export function postgresAvailable(): boolean {
  return postgresBinDir() !== undefined;
}

/** For `describe(name, { skip: postgresSkipReason() })`: false when PostgreSQL is installed. */
export function postgresSkipReason(): string | false {
  return postgresAvailable()
    ? false
    : `PostgreSQL is not installed (no ${PG_LIB}/*/bin/postgres; Debian: apt-get install postgresql)`;
}

export interface PostgresCluster {
  readonly port: number;
  /** A URL for the superuser (with its password) to `db` (default 'postgres') over TCP. */
  url(db?: string): string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /**
   * Stops the server and waits until it exited. SIGINT (default) is a fast shutdown that ends every
   * session; SIGQUIT is an immediate one, like a crash (the next start recovers from the WAL). SIGTERM
   * would wait for every client to disconnect, which a pool never does.
   */
  stop(signal?: 'SIGINT' | 'SIGQUIT'): Promise<void>;
  /** Starts the server again on the same data directory and port. */
  start(): Promise<void>;
  /** Stops the server and removes the cluster. */
  close(): Promise<void>;
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error(postgresSkipReason() || 'PostgreSQL is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-pg-'));
  const data = join(dir, 'data');
  const password = `pw-${randomBytes(12).toString('hex')}`;
  // postgres will not run as root: hand the directory to the postgres user and run as it.
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  if (user) chownSync(dir, user.uid, user.gid);
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user) chownSync(pwfile, user.uid, user.gid);

  const initdb = spawnSync(
    join(bin, 'initdb'),
    [
      '-D', data, '-U', 'postgres', `--pwfile=${pwfile}`,
      '--auth-local=trust', '--auth-host=scram-sha-256',
      '-E', 'UTF8', '--locale=C.UTF-8', '--locale-provider=icu', '--icu-locale=en-US',
      '--no-sync', '--no-instructions',
    ],
    { cwd: dir, encoding: 'utf8', ...(user ?? {}) },
  );
  rmSync(pwfile, { force: true });
  if (initdb.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${initdb.status}): ${initdb.stderr || initdb.error?.message}`);
  }

  const port = await freePort();
  let server: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  const onExit = (): void => {
    // The test process is going away: take the server (and its files) with it.
    if (server?.pid !== undefined && server.exitCode === null) {
      try {
        process.kill(server.pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', onExit);

  async function start(): Promise<void> {
    log = '';
    const child = spawn(
      join(bin!, 'postgres'),
      [
        '-D', data, '-k', dir, '-p', String(port),
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'fsync=off', '-c', 'full_page_writes=off',
        '-c', 'max_connections=200', '-c', 'shared_buffers=32MB',
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], ...(user ?? {}) },
    );
    server = child;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      log = (log + chunk).slice(-8000);
    });
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
    for (let i = 0; i < 300; i++) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`postgres exited at start (${child.exitCode ?? child.signalCode}): ${log}`);
      }
      const ready = spawnSync(join(bin!, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)]);
      if (ready.status === 0) return;
      await sleep(100);
    }
    child.kill('SIGQUIT');
    throw new Error(`postgres did not become ready on port ${port} within 30 s: ${log}`);
  }

  async function stop(signal: 'SIGINT' | 'SIGQUIT' = 'SIGINT'): Promise<void> {
    const child = server;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
    server = undefined;
  }

  const url = (db = 'postgres'): string =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;

  try {
    await start();
  } catch (err) {
    process.off('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    port,
    url,
    async createDatabase(name: string): Promise<string> {
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop,
    start,
    async close(): Promise<void> {
      await stop('SIGINT');
      process.off('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string): number => {
    const out = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error('running as root needs a `postgres` user to run PostgreSQL as (Debian\'s postgresql package creates it)');
    return Number(out.stdout.trim());
  };
  return { uid: id('-u'), gid: id('-g') };
}

/** A port nothing listens on right now (the OS picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP port for postgres');
  return address.port;
}
