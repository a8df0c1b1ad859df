// SQLite schema v7: an overwrite of a key's latest object updates its row in place (same row id, so no index
// entry moves) instead of deleting the row and inserting another. What must hold, read from the database itself:
// the id stays for a plain overwrite, a version that is not the latest (or a delete marker) is still replaced by
// a new newest row, version order and the latest flag stay right, the replaced data file is reclaimed, and the
// bucket and per-mode totals equal a full recount after every step. Also: a faithful v6 database (whose trigger
// followed only a change of SSE mode) upgrades on open and then counts same-mode replacements right.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import DatabaseConstructor from 'better-sqlite3';
import type { BackendConfig } from '../../src/config/backend.js';
import { openObjectStore, type LayeredObjectStore } from '../../src/storage/index.js';
import { RECOMMENDED_INLINE_THRESHOLD } from '../../src/storage/inline-data.js';
import { SCHEMA_VERSION, STEPS } from '../../src/storage/metadata/sqlite/schema.js';
import { putBytes, readObject } from './helpers.js';

const B = 'inplace';

interface Row {
  id: number;
  version_id: string;
  is_latest: number;
  delete_marker: number;
}

/** The store's database, read while the store is closed (it holds meta.db exclusively while open). */
function inspect(metaDb: string) {
  const db = new DatabaseConstructor(metaDb, { readonly: true });
  return {
    rows: (key: string): Row[] =>
      db
        .prepare('SELECT id, version_id, is_latest, delete_marker FROM objects WHERE bucket = ? AND key = ? ORDER BY id')
        .all(B, key) as Row[],
    /** The kept totals against a recount of every object row (delete markers aside). */
    totals: () => {
      const kept = db
        .prepare('SELECT object_count AS objects, plain_bytes AS bytes, stored_bytes AS stored FROM buckets WHERE name = ?')
        .get(B);
      const counted = db
        .prepare(
          `SELECT COUNT(*) AS objects, coalesce(SUM(size), 0) AS bytes, coalesce(SUM(stored_size), 0) AS stored
             FROM objects WHERE bucket = ? AND delete_marker = 0`,
        )
        .get(B);
      const keptModes = db
        .prepare(
          'SELECT sse, objects, plain_bytes AS bytes, stored_bytes AS stored FROM sse_totals WHERE bucket = ? AND objects <> 0 ORDER BY sse',
        )
        .all(B);
      const countedModes = db
        .prepare(
          `SELECT coalesce(json_extract(sse, '$.sse'), 'unknown') AS sse, COUNT(*) AS objects, SUM(size) AS bytes, SUM(stored_size) AS stored
             FROM objects WHERE bucket = ? AND delete_marker = 0 GROUP BY 1 ORDER BY 1`,
        )
        .all(B);
      return { kept: { ...(kept as object), modes: keptModes }, counted: { ...(counted as object), modes: countedModes } };
    },
    triggers: (): string[] =>
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").all() as { name: string }[]).map((t) => t.name),
    close: () => db.close(),
  };
}

describe('an overwrite of the latest object updates its row in place (SQLite)', () => {
  let dir: string;
  let store: LayeredObjectStore;
  const backend = (): BackendConfig => ({ fs: { path: join(dir, 'store') }, inlineThreshold: RECOMMENDED_INLINE_THRESHOLD });
  /** Closes the store, reads its database, opens the store again. */
  async function look<T>(read: (db: ReturnType<typeof inspect>) => T): Promise<T> {
    await store.close();
    const db = inspect(join(dir, 'store', 'meta.db'));
    try {
      return read(db);
    } finally {
      db.close();
      store = await openObjectStore(backend());
    }
  }
  const rows = (key: string): Promise<Row[]> => look((db) => db.rows(key));
  async function assertTotals(step: string): Promise<void> {
    const { kept, counted } = await look((db) => db.totals());
    assert.deepEqual(kept, counted, `${step}: the kept totals equal a recount`);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kesgate-inplace-'));
    store = await openObjectStore(backend());
    await store.createBucket(B);
  });
  after(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the row id for each overwrite, inline or in a data file, and reclaims the replaced data file', async () => {
    await putBytes(store, B, 'k', randomBytes(100));
    await putBytes(store, B, 'later', randomBytes(10)); // so that k's row is not the newest (SQLite reuses the highest id)
    const [first] = await rows('k');
    await assertTotals('first write');
    const large = randomBytes(20_000);
    const inFile = await putBytes(store, B, 'k', large);
    assert.equal(inFile.parts[0]!.inline, undefined, 'a 20,000-byte body goes to a data file');
    await assertTotals('inline → data file');
    const small = randomBytes(300);
    await putBytes(store, B, 'k', small);
    await assertTotals('data file → inline');
    assert.deepEqual(await rows('k'), [{ ...first!, version_id: 'null' }], 'one row, the same id, still the latest');
    assert.ok((await readObject(store, (await store.getObject(B, 'k'))!)).equals(small));
    await store.sweep();
    const blobs: string[] = [];
    for await (const blob of store.blobs.list()) blobs.push(blob.id);
    assert.equal(blobs.includes(inFile.parts[0]!.dataId), false, 'the replaced data file is reclaimed');
  });

  it('replaces a delete marker or an older null version with a new newest row', async () => {
    await store.putBucketVersioning(B, 'Enabled');
    await putBytes(store, B, 'v', randomBytes(10)); // a versioned object
    await store.putBucketVersioning(B, 'Suspended');
    await store.deleteObject(B, 'v'); // a null delete marker on top
    const [older, marker] = await rows('v');
    assert.deepEqual([older!.delete_marker, marker!.delete_marker, marker!.version_id], [0, 1, 'null']);
    await putBytes(store, B, 'v', randomBytes(20)); // replaces the marker: a new row
    const [, replaced] = await rows('v');
    assert.deepEqual([replaced!.version_id, replaced!.is_latest, replaced!.delete_marker], ['null', 1, 0]);
    await assertTotals('marker replaced');
    await putBytes(store, B, 'v', randomBytes(30)); // null is now the latest object: in place
    assert.equal((await rows('v'))[1]!.id, replaced!.id);
    await assertTotals('null overwritten');

    await store.putBucketVersioning(B, 'Enabled');
    await putBytes(store, B, 'v', randomBytes(40)); // a newer version above the null one
    await store.putBucketVersioning(B, 'Suspended');
    await putBytes(store, B, 'v', randomBytes(50)); // the null version is not the latest: a new newest row
    assert.deepEqual(
      (await rows('v')).map((r) => [r.version_id === 'null', r.is_latest]),
      [
        [false, 0],
        [false, 0],
        [true, 1],
      ],
      'the older null version was removed; the new one is the newest and the latest',
    );
    await assertTotals('null above a newer version');
  });
});

describe('schema v7 migration (same-mode replacements counted): sqlite + fs', () => {
  it('upgrades a v6 store on open, and an overwrite in place keeps the per-mode totals right', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kesgate-v7-migrate-'));
    const metaDb = join(dir, 'store', 'meta.db');
    const backend: BackendConfig = { fs: { path: join(dir, 'store') }, inlineThreshold: RECOMMENDED_INLINE_THRESHOLD };
    try {
      let store = await openObjectStore(backend);
      await store.createBucket(B);
      await putBytes(store, B, 'k', randomBytes(100));
      await store.close();

      // v6's trigger, as v4's step created it: it followed a change of SSE mode only.
      const rekey = /CREATE TRIGGER sse_totals_rekey[\s\S]*?\nEND;/.exec(STEPS[3]!);
      assert.ok(rekey, 'schema step 4 creates sse_totals_rekey');
      const raw = new DatabaseConstructor(metaDb);
      raw.exec(`DROP TRIGGER sse_totals_update; ${rekey[0]} PRAGMA user_version = 6;`);
      raw.close();

      store = await openObjectStore(backend);
      const body = randomBytes(5000);
      try {
        assert.equal(await store.metadata.schemaVersion(), SCHEMA_VERSION);
        await putBytes(store, B, 'k', body); // same mode, another size, in place
        assert.ok((await readObject(store, (await store.getObject(B, 'k'))!)).equals(body));
      } finally {
        await store.close();
      }
      const db = inspect(metaDb);
      try {
        assert.deepEqual(db.triggers(), ['sse_totals_add', 'sse_totals_remove', 'sse_totals_update']);
        const { kept, counted } = db.totals();
        assert.deepEqual(kept, counted, 'the totals follow the new size');
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
