// A throwaway PostgreSQL cluster per test file (initdb into a temp dir, postgres on a free port, as
// the `postgres` user when root, removed by close()): the module the gateway's tests and
// `npm run cluster` use too. Tests never depend on a running server.
import { postgresMissing } from '../../../../scripts/lib/postgres.js';

export { startPostgres, type PostgresCluster } from '../../../../scripts/lib/postgres.js';

/** For `describe(name, { skip: postgresSkipReason() })`: false when PostgreSQL is installed. */
export function postgresSkipReason(): string | false {
  return postgresMissing() ?? false;
}
