// A throwaway PostgreSQL cluster for tests (initdb into a temp dir, postgres on a free port, as the `postgres`
// user when root, removed by close()): the module the gateway's tests and `npm run cluster` use too. Under
// scripts/run-tests.js, testPostgres() is the run's one cluster; run alone, a file starts its own.
import { postgresMissing, startPostgres, type PostgresCluster } from '../../../../scripts/lib/postgres.js';
import { sharedPostgres } from '../../../../scripts/lib/test-services.js';

export { startPostgres, type PostgresCluster } from '../../../../scripts/lib/postgres.js';

/**
 * The test run's PostgreSQL cluster (scripts/lib/test-services.ts), else one of the file's own: for files that
 * only create databases. A file that stops or kills PostgreSQL calls startPostgres().
 */
export async function testPostgres(): Promise<PostgresCluster> {
  return sharedPostgres() ?? (await startPostgres());
}

/** For `describe(name, { skip: postgresSkipReason() })`: false when PostgreSQL is installed. */
export function postgresSkipReason(): string | false {
  return postgresMissing() ?? false;
}
