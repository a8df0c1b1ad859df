// The rotation job store contract against its PostgreSQL tables (made by the metadata store's migrations,
// leases from the same database), on a throwaway cluster. Reopening is another pool, as another gateway.
// Skipped, with the reason, where PostgreSQL is not installed.
import { after, before, describe } from 'node:test';
import { PostgresJobStore } from '../../src/rotation/job-store/postgres.js';
import { openPostgresMetadataStore, type PostgresMetadataStore } from '../../src/storage/metadata/postgres/index.js';
import { postgresSkipReason, testPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { describeJobStore } from './contract/job-store-contract.js';

describe('PostgreSQL rotation job store', { skip: postgresSkipReason() }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await testPostgres();
  });
  after(async () => {
    await cluster?.close();
  });

  describeJobStore('postgres', async () => {
    const url = await cluster.createDatabase('jobs');
    const metadata = await openPostgresMetadataStore({ url });
    const others: PostgresMetadataStore[] = [];
    return {
      jobs: new PostgresJobStore(metadata.db),
      metadata,
      async reopen() {
        const other = await openPostgresMetadataStore({ url });
        others.push(other);
        return new PostgresJobStore(other.db);
      },
      async cleanup() {
        for (const store of [metadata, ...others]) await store.close();
      },
    };
  });
});
