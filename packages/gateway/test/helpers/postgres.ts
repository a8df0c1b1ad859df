// A throwaway PostgreSQL cluster for tests (initdb into a temp dir, postgres on a free port, as the
// `postgres` user when root, removed by close()): the same module `npm run cluster` uses.
//
// The default collation is ICU's en-US, which does NOT sort bytewise ('a' < 'B' < 'é' there), so a
// store that forgets COLLATE "C" lists keys in the wrong order and its tests fail.
import { postgresBinDir, postgresMissing, startPostgres, type PostgresCluster } from '../../../../scripts/lib/postgres.js';
import { sharedPostgres } from '../../../../scripts/lib/test-services.js';

export { postgresBinDir, startPostgres, type PostgresCluster } from '../../../../scripts/lib/postgres.js';

/**
 * The test run's PostgreSQL cluster (scripts/lib/test-services.ts), else one of the file's own: for files that
 * only create databases. A file that stops or kills PostgreSQL calls startPostgres().
 */
export async function testPostgres(): Promise<PostgresCluster> {
  return sharedPostgres() ?? (await startPostgres());
}

export function postgresAvailable(): boolean {
  return postgresBinDir() !== undefined;
}

/** For `describe(name, { skip: postgresSkipReason() })`: false when PostgreSQL is installed. */
export function postgresSkipReason(): string | false {
  return postgresMissing() ?? false;
}
