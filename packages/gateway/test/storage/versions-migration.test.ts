// Schema v3 (object versions) over data written by schema v2, in both metadata databases: a database is
// brought to v2 with the released steps, filled with an object the way v2 wrote it, then opened by this
// release. The object must come back as its key's null version and latest, its parts intact, and the bucket
// unversioned, and (v4) counted under its SSE mode; a second open migrates nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import DatabaseConstructor from 'better-sqlite3';
import pg from 'pg';
import { openPostgresMetadataStore } from '../../src/storage/metadata/postgres/index.js';
import { STEPS as POSTGRES_STEPS } from '../../src/storage/metadata/postgres/schema.js';
import { openSqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { STEPS as SQLITE_STEPS } from '../../src/storage/metadata/sqlite/schema.js';
import type { MetadataStore } from '../../src/storage/metadata/types.js';
import { postgresSkipReason, testPostgres, type PostgresCluster } from '../helpers/postgres.js';

const T = 1_700_000_000_000;

/** What v2 stored for one bucket with one two-part object (the columns both databases had). */
const V2_ROWS = {
  bucket: ['b', T, null],
  object: [
    'b',
    'docs/a.txt',
    'rev1',
    30,
    94,
    'etag-2',
    T,
    'text/plain',
    '{"m":"1"}',
    '{}',
    null,
    '{"sse":"SSE-S3","iv":"aXY=","sealAlgorithm":"test","sealedKey":"c2VhbGVk","kmsKey":"k"}',
    '[{"key":"t","value":"v"}]',
  ],
  parts: [
    [1, 10, 42, 'p1', 'blob-one', null],
    [2, 20, 52, 'p2', 'blob-two', '{"c":1}'],
  ],
};

async function checkMigrated(m: MetadataStore, version: number): Promise<void> {
  assert.equal(await m.schemaVersion(), version);
  assert.equal(await m.getBucketVersioning('b'), 'Unversioned');
  const record = await m.getObject('b', 'docs/a.txt');
  assert.ok(record);
  assert.equal(record.versionId, 'null');
  assert.deepEqual(record.tags, [{ key: 't', value: 'v' }]);
  assert.deepEqual(record.sse, { sse: 'SSE-S3', iv: 'aXY=', sealAlgorithm: 'test', sealedKey: 'c2VhbGVk', kmsKey: 'k' });
  assert.deepEqual(
    record.parts.map((p) => [p.number, p.dataId, p.extra]),
    [
      [1, 'blob-one', undefined],
      [2, 'blob-two', { c: 1 }],
    ],
  );
  const lookup = await m.getVersion('b', 'docs/a.txt', 'null');
  assert.equal(lookup.isLatest, true);
  const listed = await m.listVersions('b', { key: '' }, undefined, 10);
  assert.deepEqual(
    listed.map((v) => [v.key, v.versionId, v.isLatest, v.deleteMarker, v.size]),
    [['docs/a.txt', 'null', true, false, 30]],
  );
  assert.deepEqual(
    (await m.listObjects('b', '', undefined, 10)).map((o) => o.key),
    ['docs/a.txt'],
  );
  assert.deepEqual(await m.referencedBlobs(['blob-one', 'blob-two', 'other']), new Set(['blob-one', 'blob-two']));
  // Schema v4 counted the objects already stored per SSE mode.
  assert.deepEqual(await m.sseTotals(), [{ sse: 'SSE-S3', objects: 1, bytes: 30, storedBytes: 94 }]);
  // The migrated row behaves as any null version: enabling versioning keeps it as a noncurrent version.
  await m.setBucketVersioning('b', 'Enabled');
  await m.putObject(
    { ...record, versionId: 'A'.repeat(32), revision: 'rev2', parts: [{ ...record.parts[0]!, dataId: 'blob-three' }] },
    () => {},
  );
  assert.deepEqual(
    (await m.listVersions('b', { key: '' }, undefined, 10)).map((v) => [v.versionId, v.isLatest]),
    [
      ['A'.repeat(32), true],
      ['null', false],
    ],
  );
}

describe('schema v3 migration: sqlite', () => {
  it('turns every v2 object into its null version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kesgate-migrate-'));
    try {
      const file = join(dir, 'meta.db');
      const db = new DatabaseConstructor(file);
      db.pragma('journal_mode = WAL');
      for (const step of SQLITE_STEPS.slice(0, 2)) db.exec(step);
      db.pragma('user_version = 2');
      db.prepare(
        'INSERT INTO buckets (name, created_at, encryption, object_count, plain_bytes, stored_bytes) VALUES (?, ?, ?, 1, 30, 94)',
      ).run(...V2_ROWS.bucket);
      const { lastInsertRowid } = db
        .prepare(
          `INSERT INTO objects (bucket, key, revision, size, stored_size, etag, last_modified, content_type, user_metadata,
             standard_headers, checksum, sse, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(...V2_ROWS.object);
      for (const part of V2_ROWS.parts) {
        db.prepare(
          'INSERT INTO object_parts (object_id, number, plain_size, enc_size, etag, data_id, extra) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(lastInsertRowid, ...part);
      }
      db.close();

      const m = await openSqliteMetadataStore({ path: file });
      try {
        await checkMigrated(m, SQLITE_STEPS.length);
      } finally {
        await m.close();
      }
      const again = await openSqliteMetadataStore({ path: file });
      assert.equal(await again.schemaVersion(), SQLITE_STEPS.length);
      assert.equal((await again.listVersions('b', { key: '' }, undefined, 10)).length, 2);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('schema v3 migration: postgres', { skip: postgresSkipReason() }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await testPostgres();
  });
  after(async () => {
    await cluster?.close();
  });

  it('turns every v2 object into its null version', async () => {
    const url = await cluster.createDatabase('migrate_v3');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('CREATE TABLE metadata_schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
      for (const [i, step] of POSTGRES_STEPS.slice(0, 2).entries()) {
        await client.query(step);
        await client.query('INSERT INTO metadata_schema_migrations (version, applied_at) VALUES ($1, $2)', [i + 1, T]);
      }
      await client.query('INSERT INTO buckets (name, created_at, encryption) VALUES ($1, $2, $3)', V2_ROWS.bucket);
      const { rows } = await client.query<{ id: number }>(
        `INSERT INTO objects (bucket, key, revision, size, stored_size, etag, last_modified, content_type, user_metadata,
           standard_headers, checksum, sse, tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
        V2_ROWS.object,
      );
      for (const part of V2_ROWS.parts) {
        await client.query(
          'INSERT INTO object_parts (object_id, number, plain_size, enc_size, etag, data_id, extra) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [rows[0]!.id, ...part],
        );
      }
    } finally {
      await client.end();
    }
    const m = await openPostgresMetadataStore({ url });
    try {
      await checkMigrated(m, POSTGRES_STEPS.length);
    } finally {
      await m.close();
    }
  });
});
