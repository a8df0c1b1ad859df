// Schema v5 (inline parts) over a store written by v4, on both layouts: objects are written with every byte in
// blobs, the database is taken back to v4 (the column v5 adds dropped, the version set back), and the store is
// opened by this release with small objects inline. It must upgrade the schema, read the old objects' bytes
// from their blobs, keep new small objects inline, and reclaim an old blob when an inline object replaces it.
// On PostgreSQL the store then also takes v6 (the inline column stored out of line without compression).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import DatabaseConstructor from 'better-sqlite3';
import pg from 'pg';
import type { BackendConfig } from '../../src/config/backend.js';
import { openObjectStore, type LayeredObjectStore } from '../../src/storage/index.js';
import { RECOMMENDED_INLINE_THRESHOLD } from '../../src/storage/inline-data.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/storage/metadata/postgres/index.js';
import { SCHEMA_VERSION as SQLITE_SCHEMA_VERSION } from '../../src/storage/metadata/sqlite/schema.js';
import { clusterSkipReason, freshClusterBackend } from '../helpers/cluster-services.js';
import { putBytes, readObject } from './helpers.js';

const B = 'upgrade';

async function blobIds(store: LayeredObjectStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const blob of store.blobs.list()) ids.push(blob.id);
  return ids.sort();
}

/** Writes with v4's behaviour (no inline), rolls the database back to v4, reopens and checks the upgrade. */
async function upgradeFromV4(
  backend: BackendConfig,
  /** The layout's current schema version. */
  current: number,
  rollBack: () => Promise<void>,
  open: (b: BackendConfig) => Promise<LayeredObjectStore>,
): Promise<void> {
  const small = randomBytes(100);
  const large = randomBytes(20_000);
  let store = await open({ ...backend, inlineThreshold: 0 });
  await store.createBucket(B);
  const oldSmall = await putBytes(store, B, 'small', small);
  const oldLarge = await putBytes(store, B, 'large', large);
  await putBytes(store, B, 'replaced', randomBytes(50));
  const replacedBlob = (await store.getObject(B, 'replaced'))!.parts[0]!.dataId;
  assert.equal((await blobIds(store)).length, 3, 'v4 kept every object in a blob');
  assert.equal(await store.metadata.schemaVersion(), current);
  await store.close();

  await rollBack();
  store = await open({ ...backend, inlineThreshold: RECOMMENDED_INLINE_THRESHOLD });
  try {
    assert.equal(await store.metadata.schemaVersion(), current, 'the store upgraded on open');
    const readSmall = (await store.getObject(B, 'small'))!;
    assert.equal(readSmall.parts[0]!.inline, undefined);
    assert.equal(readSmall.parts[0]!.dataId, oldSmall.parts[0]!.dataId);
    assert.ok((await readObject(store, readSmall)).equals(small), 'an old small object reads from its blob');
    assert.ok((await readObject(store, (await store.getObject(B, 'large'))!)).equals(large));
    assert.equal((await store.getObject(B, 'large'))!.parts[0]!.dataId, oldLarge.parts[0]!.dataId);

    const fresh = randomBytes(60);
    const replaced = await putBytes(store, B, 'replaced', fresh);
    assert.ok(replaced.parts[0]!.inline, 'a new small object is inline');
    await store.sweep(); // s3 reclaims after a grace period; the sweep removes the unreferenced blob now
    const left = await blobIds(store);
    assert.equal(left.includes(replacedBlob), false, 'the replaced blob is reclaimed');
    assert.deepEqual(left, [oldSmall.parts[0]!.dataId, oldLarge.parts[0]!.dataId].sort());
    assert.ok((await readObject(store, (await store.getObject(B, 'replaced'))!)).equals(fresh));
  } finally {
    await store.close();
  }
}

describe('schema v5 migration (inline parts): sqlite + fs', () => {
  it('upgrades a v4 store on open; its objects still read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kesgate-inline-migrate-'));
    try {
      const backend: BackendConfig = { fs: { path: join(dir, 'store') } };
      await upgradeFromV4(
        backend,
        SQLITE_SCHEMA_VERSION,
        async () => {
          const db = new DatabaseConstructor(join(dir, 'store', 'meta.db'));
          db.exec('ALTER TABLE object_parts DROP COLUMN inline_data');
          db.pragma('user_version = 4');
          db.close();
        },
        (b) => openObjectStore(b),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('schema v5 and v6 migrations (inline parts): postgres + s3', { skip: clusterSkipReason() }, () => {
  it('upgrades a v4 database on open; its objects still read', async () => {
    const { backend, url } = await freshClusterBackend('inline_migrate');
    await upgradeFromV4(
      backend,
      POSTGRES_SCHEMA_VERSION,
      async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query('ALTER TABLE object_parts DROP COLUMN inline_data');
          await client.query('DELETE FROM metadata_schema_migrations WHERE version >= 5');
        } finally {
          await client.end();
        }
      },
      (b) => openObjectStore(b, { orphanMinAgeMs: 0 }),
    );
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ attstorage: string }>(
        "SELECT attstorage FROM pg_attribute WHERE attrelid = 'object_parts'::regclass AND attname = 'inline_data'",
      );
      assert.deepEqual(rows, [{ attstorage: 'e' }], 'v6: inline bytes are stored EXTERNAL (out of line, never compressed)');
    } finally {
      await client.end();
    }
  });
});
