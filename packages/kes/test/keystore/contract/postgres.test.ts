// The keystore contract on PostgreSQL: a throwaway cluster (the test run's, or this file's), a fresh database per
// fixture; two pools on one database stand for two kes nodes.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresKeyStore } from '../../../src/keystore/postgres-store.js';
import { postgresSkipReason, testPostgres, type PostgresCluster } from '../../helpers/postgres.js';
import { keystoreContract, type Tamper } from './suite.js';

let cluster: PostgresCluster | undefined;
let counter = 0;
after(() => cluster?.close());

if (postgresSkipReason() === false) {
  keystoreContract('PostgreSQL', async () => {
    cluster ??= await testPostgres();
    const url = await cluster.createDatabase(`contract_${counter++}`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const q = (sql: string, values: unknown[]) => client.query(sql, values);
    const tamper: Tamper = {
      corruptState: async (name) => {
        await q(
          'UPDATE kes_key_state SET state = overlay(state placing set_byte(substring(state from length(state) - 19 for 1), 0, get_byte(state, length(state) - 20) # 1) from length(state) - 19 for 1) WHERE name = $1',
          [name],
        );
      },
      copyState: async (from, to) => {
        await q('UPDATE kes_key_state SET state = (SELECT state FROM kes_key_state WHERE name = $1) WHERE name = $2', [from, to]);
      },
      readState: async (name) => (await q('SELECT state FROM kes_key_state WHERE name = $1', [name])).rows[0].state as Buffer,
      writeState: async (name, state) => {
        await q('UPDATE kes_key_state SET state = $2 WHERE name = $1', [name, state]);
      },
      copyWrappedKey: async (from, to) => {
        await q(
          'UPDATE kes_keys SET wrapped_key = (SELECT wrapped_key FROM kes_keys WHERE name = $1 AND version = $2) WHERE name = $3 AND version = $4',
          [from.name, from.version, to.name, to.version],
        );
      },
      deleteVersion: async (name, version) => {
        await q('DELETE FROM kes_keys WHERE name = $1 AND version = $2', [name, version]);
      },
      setAlgorithm: async (name, version, algorithm) => {
        await q('UPDATE kes_keys SET algorithm = $3 WHERE name = $1 AND version = $2', [name, version, algorithm]);
      },
    };
    return { open: () => PostgresKeyStore.open({ url, poolSize: 4 }), tamper, close: () => client.end() };
  });
}

test(
  'PostgreSQL: nodes starting at the same moment migrate one at a time (advisory lock); the schema is versioned',
  { skip: postgresSkipReason() },
  async () => {
    cluster ??= await testPostgres();
    const url = await cluster.createDatabase('migrate_race');
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresKeyStore.open({ url, poolSize: 2 })));
    try {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query('SELECT version FROM kes_schema_migrations ORDER BY version');
      await client.end();
      assert.deepEqual(rows, [{ version: 1 }]);
      for (const s of stores) assert.equal(await s.sealEpoch(), 0);
    } finally {
      for (const s of stores) await s.close();
    }
  },
);
