// The metadata store contract against the PostgreSQL store: one throwaway cluster for the file, a fresh
// database for the suite. Skipped, with the reason, where PostgreSQL is not installed.
import { after, before, describe } from 'node:test';
import { openPostgresMetadataStore } from '../../src/storage/metadata/postgres/index.js';
import { postgresSkipReason, startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { describeMetadataStore } from './contract/metadata-contract.js';

describe('PostgreSQL', { skip: postgresSkipReason() }, () => {
  let cluster: PostgresCluster;
  let databases = 0;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => cluster?.close());

  describeMetadataStore('postgres', async () => {
    const url = await cluster.createDatabase(`contract_${++databases}`);
    const store = await openPostgresMetadataStore({ url });
    return { store, cleanup: () => store.close() };
  });
});
