// Schema v5 (inline parts) over a store written by v4, on both layouts: objects are written with every byte in
// blobs, the database is taken back to v4 (the column v5 adds dropped, the version set back), and the store is
// opened by this release with small objects inline. It must upgrade the schema, read the old objects' bytes
// from their blobs, keep new small objects inline, and reclaim an old blob when an inline object replaces it.
// On PostgreSQL the store then also takes v6 (the inline column stored out of line without compression); on SQLite
// v6 rebuilds object_parts as a rowid table (it was WITHOUT ROWID, slow with inline packages in its rows).
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

describe('schema v6 migration (object_parts as a rowid table): sqlite + fs', () => {
  it('rebuilds a v5 WITHOUT ROWID object_parts on open: inline and blob objects still read, (object, part) stays unique', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kesgate-parts-migrate-'));
    const metaDb = join(dir, 'store', 'meta.db');
    const tableSql = (db: DatabaseConstructor.Database): string =>
      (db.prepare("SELECT sql FROM sqlite_master WHERE name = 'object_parts'").get() as { sql: string }).sql;
    try {
      const backend: BackendConfig = { fs: { path: join(dir, 'store') }, inlineThreshold: RECOMMENDED_INLINE_THRESHOLD };
      let store = await openObjectStore(backend);
      await store.createBucket(B);
      const small = randomBytes(100);
      const large = randomBytes(20_000);
      await putBytes(store, B, 'small', small);
      await putBytes(store, B, 'large', large);
      await store.close();

      // v5's table, as v1 created it and v5 added the inline column to it.
      const db = new DatabaseConstructor(metaDb);
      db.pragma('foreign_keys = OFF');
      db.exec(`
        CREATE TABLE object_parts_v5 (
          object_id INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE, number INTEGER NOT NULL,
          plain_size INTEGER NOT NULL, enc_size INTEGER NOT NULL, etag TEXT NOT NULL, data_id TEXT NOT NULL UNIQUE,
          extra TEXT, inline_data BLOB, PRIMARY KEY (object_id, number)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO object_parts_v5 SELECT object_id, number, plain_size, enc_size, etag, data_id, extra, inline_data FROM object_parts;
        DROP TABLE object_parts;
        ALTER TABLE object_parts_v5 RENAME TO object_parts;
        PRAGMA user_version = 5;`);
      assert.match(tableSql(db), /WITHOUT ROWID/);
      db.close();

      store = await openObjectStore(backend);
      try {
        assert.equal(await store.metadata.schemaVersion(), SQLITE_SCHEMA_VERSION);
        const readSmall = (await store.getObject(B, 'small'))!;
        assert.ok(readSmall.parts[0]!.inline, 'the inline package moved with its row');
        assert.ok((await readObject(store, readSmall)).equals(small));
        assert.ok((await readObject(store, (await store.getObject(B, 'large'))!)).equals(large));
        const fresh = randomBytes(200);
        await putBytes(store, B, 'small', fresh);
        assert.ok((await readObject(store, (await store.getObject(B, 'small'))!)).equals(fresh), 'writes go on after the rebuild');
      } finally {
        await store.close();
      }
      const after = new DatabaseConstructor(metaDb);
      try {
        assert.doesNotMatch(tableSql(after), /WITHOUT ROWID/);
        const part = after.prepare('SELECT object_id, number FROM object_parts LIMIT 1').get() as { object_id: number; number: number };
        assert.throws(
          () =>
            after
              .prepare("INSERT INTO object_parts (object_id, number, plain_size, enc_size, etag, data_id) VALUES (?, ?, 0, 0, 'e', 'x')")
              .run(part.object_id, part.number),
          /UNIQUE constraint failed: object_parts\.object_id, object_parts\.number/,
        );
      } finally {
        after.close();
      }
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
