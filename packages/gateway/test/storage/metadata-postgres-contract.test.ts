// The metadata store contract, and its part for gateways sharing the store, against the PostgreSQL store on
// a throwaway cluster: each suite on a fresh database; the peer store is a second pool on the same database,
// as a second gateway has. Skipped, with the reason, where PostgreSQL is not installed.
import { after, before, describe } from 'node:test';
import { openPostgresMetadataStore } from '../../src/storage/metadata/postgres/index.js';
import type { MetadataStore } from '../../src/storage/metadata/types.js';
import { postgresSkipReason, testPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { describeCoordination } from './contract/coordination-contract.js';
import { describeMetadataStore } from './contract/metadata-contract.js';

describe('PostgreSQL metadata store contracts', { skip: postgresSkipReason() }, () => {
  let cluster: PostgresCluster;
  let databases = 0;
  before(async () => {
    cluster = await testPostgres();
  });
  after(async () => {
    await cluster?.close();
  });

  async function open() {
    const url = await cluster.createDatabase(`contract_${++databases}`);
    const store = await openPostgresMetadataStore({ url });
    const peers: MetadataStore[] = [];
    return {
      store,
      async openPeer() {
        const peer = await openPostgresMetadataStore({ url });
        peers.push(peer);
        return peer;
      },
      async cleanup() {
        await store.close();
        for (const peer of peers) await peer.close().catch(() => undefined);
      },
    };
  }

  describeMetadataStore('postgres', open);
  describeCoordination('postgres', open);
});
