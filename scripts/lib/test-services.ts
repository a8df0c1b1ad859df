// One throwaway PostgreSQL cluster and one moto_server for a whole test run, instead of one of each per test
// file: scripts/run-tests.js starts them (scripts/lib/test-services-daemon.ts) and tells the test files where
// they are in the file KESGATE_TEST_SERVICES_FILE names (or KESGATE_TEST_SERVICES itself holds the JSON). A file
// takes its own databases and buckets of them (names carry its process id, so files running at once never meet),
// and drops its databases when it is done. A file that stops or
// kills PostgreSQL must start a cluster of its own (`startPostgres`): the shared one refuses stop() and start().
// Run alone (`node --test FILE`), nothing is shared and every file starts its own, as before.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { createDatabaseIn, superuserClient, type PostgresCluster } from './postgres.js';

export const SERVICES_ENV = 'KESGATE_TEST_SERVICES';
/**
 * Where the run writes that JSON once its services are up (scripts/lib/run-services.js): the test files start at once,
 * and the first one that asks for a service waits for the file; files that need none never wait.
 */
export const SERVICES_FILE_ENV = 'KESGATE_TEST_SERVICES_FILE';
/** How long a file waits for the run's services: PostgreSQL and moto_server start in seconds. */
const SERVICES_WAIT_MS = 120_000;

/** What the daemon announces: where the run's services listen (either may be missing when not installed). */
export interface RunServicesInfo {
  postgres?: { port: number; password: string; dir: string };
  moto?: { endpoint: string };
}

/** The run's services, when this process was started by a run that has them. */
export function runServices(): RunServicesInfo | undefined {
  const text = process.env[SERVICES_ENV] ?? awaitServicesFile(process.env[SERVICES_FILE_ENV]);
  if (!text) return undefined;
  let info: RunServicesInfo & { error?: string };
  try {
    info = JSON.parse(text) as RunServicesInfo & { error?: string };
  } catch (err) {
    const from = process.env[SERVICES_ENV] === undefined ? `the file ${SERVICES_FILE_ENV} names` : SERVICES_ENV;
    throw new Error(`${from} is not the JSON scripts/run-tests.js writes: unset it to start services per file`, {
      cause: err,
    });
  }
  if (info.error) throw new Error(`the run's test services did not start: ${info.error}`);
  return info;
}

/**
 * The services file's text once the run has written it (it appears whole: written beside, then renamed). Waits
 * synchronously: callers decide at module load whether to skip, and a file that needs a service cannot go on without it.
 */
function awaitServicesFile(file: string | undefined): string | undefined {
  if (!file) return undefined;
  const deadline = Date.now() + SERVICES_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (Date.now() > deadline) throw new Error(`the run's test services were not up after ${SERVICES_WAIT_MS / 1000} s (${file})`);
    Atomics.wait(pause, 0, 0, 25);
  }
}

/** The run's PostgreSQL cluster as this file's handle, or undefined when the run has none. */
export function sharedPostgres(): PostgresCluster | undefined {
  const info = runServices()?.postgres;
  if (!info) return undefined;
  const { port, password, dir } = info;
  const url = (db = 'postgres', role = 'postgres', pw = password): string =>
    `postgres://${encodeURIComponent(role)}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
  const created: string[] = [];
  const roles: string[] = [];
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = superuserClient(dir, port);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  const refuse = (what: string) => (): Promise<void> =>
    Promise.reject(new Error(`the test run's shared PostgreSQL cannot be ${what} by one file: start a cluster of its own (startPostgres)`));
  return {
    port,
    dir,
    process: undefined,
    log: '',
    url: (db?: string) => url(db),
    async createDatabase(name, owner) {
      const db = uniqueInProcess(`${name}_p${process.pid}`);
      const user = owner && uniqueInProcess(`${owner.user}_p${process.pid}`);
      await admin(async (client) => {
        if (owner && user) {
          await client.query(`CREATE ROLE ${client.escapeIdentifier(user)} LOGIN PASSWORD ${client.escapeLiteral(owner.password)}`);
          roles.push(user);
        }
        await createDatabaseIn(client, db, user);
        created.push(db);
      });
      return owner && user ? url(db, user, owner.password) : url(db);
    },
    stop: refuse('stopped'),
    start: refuse('started'),
    async close() {
      // The cluster is the run's: only this file's databases go (FORCE ends sessions a pool still holds).
      const dbs = created.splice(0);
      const users = roles.splice(0);
      if (dbs.length === 0 && users.length === 0) return;
      await admin(async (client) => {
        for (const db of dbs) await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(db)} WITH (FORCE)`);
        for (const user of users) await client.query(`DROP ROLE IF EXISTS ${client.escapeIdentifier(user)}`);
      });
    },
  };
}

/**
 * `name`, or `name_2`, `name_3`… when a file earlier in this process took it: light test files share a process
 * (scripts/lib/test-groups.js), and two of them may ask for the same database or role name. Kept on globalThis, so
 * copies of this module in different bundles agree.
 */
function uniqueInProcess(name: string): string {
  const key = Symbol.for('kesgate.test.postgres-names');
  const taken = ((globalThis as Record<symbol, unknown>)[key] ??= new Set<string>()) as Set<string>;
  let candidate = name;
  for (let n = 2; taken.has(candidate); n += 1) candidate = `${name}_${n}`;
  taken.add(candidate);
  return candidate;
}

/** The run's moto_server endpoint, or undefined when the run has none. */
export function sharedMotoEndpoint(): string | undefined {
  return runServices()?.moto?.endpoint;
}
