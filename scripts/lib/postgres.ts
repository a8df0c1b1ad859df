// A throwaway PostgreSQL server: a fresh temp dir holding a copy of an initdb'd data directory, postgres on a
// free port (TCP on 127.0.0.1 with a password, and a Unix socket in the same dir), waited for until its
// postmaster.pid says ready, removed by close().
// Run as the `postgres` user when the caller is root (postgres refuses root). Fast and unsafe on purpose:
// no fsync, nothing is meant to survive the process that started it. Used by the tests
// (packages/gateway/test/helpers/postgres.ts, packages/kes/test/helpers/postgres.ts), `npm run cluster` and the
// cluster and kes benchmarks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from './free-port.js';

const PG_LIB = '/usr/lib/postgresql';

/** The bin directory of the newest installed PostgreSQL (Debian layout), or undefined. */
export function postgresBinDir(): string | undefined {
  if (!existsSync(PG_LIB)) return undefined;
  const versions = readdirSync(PG_LIB)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(PG_LIB, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(PG_LIB, versions[0], 'bin');
}

/** Why no PostgreSQL server can be started here, or undefined when one can. */
export function postgresMissing(): string | undefined {
  return postgresBinDir() === undefined
    ? `PostgreSQL is not installed (no ${PG_LIB}/*/bin/postgres; Debian: apt-get install postgresql)`
    : undefined;
}

/**
 * A client for the superuser over the cluster's Unix socket in `dir`: local connections are trusted, so no SCRAM
 * exchange (~5 ms of the client's CPU each, and some of the server's) for the CREATE and DROP DATABASE of every test file.
 */
export function superuserClient(dir: string, port: number): pg.Client {
  return new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
}

/**
 * CREATE DATABASE `name` (owned by `owner`) on `client`'s server. PostgreSQL 15's default strategy (WAL_LOG) writes the
 * whole template database into the WAL, ~85 ms of server CPU per database here; FILE_COPY copies its files (~25 ms).
 */
export async function createDatabaseIn(client: pg.Client, name: string, owner?: string): Promise<void> {
  const { rows } = await client.query<{ v: string }>('SHOW server_version_num');
  // Before 15 there was no STRATEGY: FILE_COPY was the only way.
  const strategy = Number(rows[0]?.v) >= 150000 ? ' STRATEGY FILE_COPY' : '';
  const ownedBy = owner === undefined ? '' : ` OWNER ${client.escapeIdentifier(owner)}`;
  await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}${ownedBy}${strategy}`);
}

export interface PostgresCluster {
  readonly port: number;
  /** The temp directory holding the data directory and the Unix socket. */
  readonly dir: string;
  /** The running server process (undefined while stopped). */
  readonly process: ChildProcess | undefined;
  /** The last lines the server wrote to stderr. */
  readonly log: string;
  /** A URL for the superuser (with its password) to `db` (default 'postgres') over TCP. */
  url(db?: string): string;
  /**
   * Creates a fresh database and returns its URL: the superuser's, or with `owner` a new login role of
   * that name and password that owns the database (what a deployment gives its gateways).
   */
  createDatabase(name: string, owner?: { user: string; password: string }): Promise<string>;
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

export interface PostgresOptions {
  /** TCP port (default: one the OS says is free). */
  port?: number;
  /** Server settings (`-c name=value`) on top of the fast, unsafe defaults. */
  settings?: Record<string, string>;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error(postgresMissing());
  // postgres will not run as root: hand the directory to the postgres user and run as it.
  const user = process.getuid?.() === 0 ? postgresUser() : undefined;
  // A copy of the data directory initdb made once (initdb costs a second or more of CPU each time, a copy
  // hundredths); `cp -a` keeps the postgres user's ownership. The superuser's password is set once it runs.
  const template = initdbTemplate(bin, user);
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-pg-'));
  const data = join(dir, 'data');
  const password = `pw-${randomBytes(12).toString('hex')}`;
  if (user) chownSync(dir, user.uid, user.gid);
  const copy = spawnSync('cp', ['-a', template, data], { encoding: 'utf8' });
  if (copy.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot copy the initdb template to ${data}: ${copy.stderr || copy.error?.message}`);
  }

  const port = options.port ?? (await freePort());
  // Nothing in a throwaway cluster is replicated, and a test run is too short for autovacuum to matter: minimal WAL
  // (no replication) and no autovacuum workers forked per database. A benchmark wanting a deployment's settings passes them.
  const settings = {
    fsync: 'off',
    full_page_writes: 'off',
    wal_level: 'minimal',
    max_wal_senders: '0',
    autovacuum: 'off',
    max_connections: '200',
    shared_buffers: '32MB',
    ...options.settings,
  };
  let server: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  const onExit = (): void => {
    // The process that started it is going away: take the server (and its files) with it.
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
        '-D',
        data,
        '-k',
        dir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], ...(user ?? {}) },
    );
    server = child;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      log = (log + chunk).slice(-8000);
    });
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
    for (let i = 0; i < 600; i++) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`postgres exited at start (${child.exitCode ?? child.signalCode}): ${log}`);
      }
      // What pg_ctl -w reads, without a pg_isready process per look: this server's lock file, status ready.
      if (postmasterReady(data, child.pid)) return;
      await sleep(50);
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

  const url = (db = 'postgres', role = 'postgres', pw = password): string =>
    `postgres://${encodeURIComponent(role)}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;

  try {
    await start();
    // Over the Unix socket, where the superuser is trusted: TCP connections need this password.
    const admin = superuserClient(dir, port);
    await admin.connect();
    try {
      await admin.query(`ALTER ROLE postgres PASSWORD ${admin.escapeLiteral(password)}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    process.off('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    port,
    dir,
    get process() {
      return server;
    },
    get log() {
      return log;
    },
    url: (db?: string) => url(db),
    async createDatabase(name: string, owner?: { user: string; password: string }): Promise<string> {
      const client = superuserClient(dir, port);
      await client.connect();
      try {
        if (owner) {
          await client.query(`CREATE ROLE ${client.escapeIdentifier(owner.user)} LOGIN PASSWORD ${client.escapeLiteral(owner.password)}`);
        }
        await createDatabaseIn(client, name, owner?.user);
      } finally {
        await client.end();
      }
      return owner ? url(name, owner.user, owner.password) : url(name);
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

/**
 * The data directory of a fresh cluster, made by initdb once per PostgreSQL version and user under the temp
 * directory and copied by each start. Built beside its final name and renamed into place, so a directory
 * found there is whole; of two processes building it at once, the second's rename fails and its copy goes.
 */
function initdbTemplate(bin: string, user: { uid: number; gid: number } | undefined): string {
  const path = join(tmpdir(), `kesgate-initdb-v1-pg${basename(dirname(bin))}-uid${process.getuid?.() ?? 0}`);
  const data = join(path, 'data');
  if (existsSync(join(data, 'PG_VERSION'))) return data;
  const building = mkdtempSync(`${path}.building-`);
  if (user) chownSync(building, user.uid, user.gid);
  // The default collation is ICU's en-US, which does NOT sort bytewise ('a' < 'B' < 'é' there), so a
  // store that forgets COLLATE "C" lists keys in the wrong order and its tests fail.
  const initdb = spawnSync(
    join(bin, 'initdb'),
    [
      '-D',
      join(building, 'data'),
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--locale-provider=icu',
      '--icu-locale=en-US',
      '--no-sync',
      '--no-instructions',
    ],
    { cwd: building, encoding: 'utf8', ...(user ?? {}) },
  );
  if (initdb.status !== 0) {
    rmSync(building, { recursive: true, force: true });
    throw new Error(`initdb failed (${initdb.status}): ${initdb.stderr || initdb.error?.message}`);
  }
  try {
    renameSync(building, path);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another process put its template there first
  }
  return data;
}

/** Whether the postmaster `pid` runs on `data` and accepts connections (line 8 of postmaster.pid: "ready"). */
function postmasterReady(data: string, pid: number | undefined): boolean {
  try {
    const lines = readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n');
    return Number(lines[0]) === pid && lines[7]?.trim() === 'ready';
  } catch {
    return false; // not written yet
  }
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string): number => {
    const out = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
    if (out.status !== 0)
      throw new Error("running as root needs a `postgres` user to run PostgreSQL as (Debian's postgresql package creates it)");
    return Number(out.stdout.trim());
  };
  return { uid: id('-u'), gid: id('-g') };
}

/** A port nothing listens on right now (the OS picks it). */
