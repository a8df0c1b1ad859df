// The PostgreSQL metadata store against a real, throwaway PostgreSQL cluster (test/helpers/postgres.ts):
// buckets, objects, bytewise listing, multipart uploads, totals, two "gateways" (two pools) racing on
// one key and migrating one database at the same moment, and the database going away and coming back.
// Skipped, with the reason, where PostgreSQL is not installed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { BackendUnavailable, PreconditionFailed, StorageError } from '../../src/storage/errors.js';
import { compareKeys, keyAfter, prefixUpperBound } from '../../src/storage/key-order.js';
import {
  openPostgresMetadataStore,
  POSTGRES_SCHEMA_VERSION,
  type PostgresMetadataOptions,
  type PostgresMetadataStore,
} from '../../src/storage/metadata/postgres/index.js';
import type { ObjectRecord, PartRecord, UploadedPart, UploadRecord } from '../../src/storage/types.js';
import { postgresSkipReason, startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { deleteKeys } from './contract/metadata-contract.js';
import { sseRecord } from './fixtures/sse-records.js';

const T0 = 1_700_000_000_123; // ms: round-trips must keep the milliseconds

/** Asserts `promise` rejects with a StorageError of this class name, code and status. */
async function rejects(promise: Promise<unknown>, name: string, code?: string, status?: number): Promise<StorageError> {
  let failure: unknown;
  try {
    await promise;
  } catch (err) {
    failure = err;
  }
  assert.ok(failure instanceof Error, `expected ${name}, but the call succeeded`);
  assert.equal(failure.name, name, `expected ${name}, got ${failure.name}: ${failure.message}`);
  assert.ok(failure instanceof StorageError);
  if (code !== undefined) assert.equal(failure.code, code);
  if (status !== undefined) assert.equal(failure.status, status);
  return failure;
}

const blobId = (): string => randomBytes(16).toString('hex');

function parts(sizes: number[]): PartRecord[] {
  return sizes.map((size, i) => ({
    number: i + 1,
    plainSize: size,
    encSize: size + 32,
    etag: randomBytes(16).toString('hex'),
    dataId: blobId(),
  }));
}

function object(bucket: string, key: string, sizes = [100], extra: Partial<ObjectRecord> = {}): ObjectRecord {
  const p = parts(sizes);
  return {
    bucket,
    key,
    versionId: 'null',
    revision: randomBytes(12).toString('hex'),
    size: sizes.reduce((a, b) => a + b, 0),
    etag: randomBytes(16).toString('hex'),
    lastModified: new Date(T0),
    userMetadata: { owner: 'me' },
    standardHeaders: {},
    sse: sseRecord({ sse: 'SSE-S3', iv: 'aXY=' }),
    parts: p,
    ...extra,
  };
}

function upload(bucket: string, key: string, uploadId: string, extra: Partial<UploadRecord> = {}): UploadRecord {
  return {
    bucket,
    key,
    uploadId,
    initiated: new Date(T0),
    userMetadata: { camera: 'front' },
    standardHeaders: { 'cache-control': 'no-store' },
    sse: sseRecord({ sse: 'SSE-C', iv: 'aXY=', sseCKeyMD5: 'bWQ1' }),
    ...extra,
  };
}

function uploadedPart(number: number, size = 1000): UploadedPart {
  return {
    number,
    plainSize: size,
    encSize: size + 32,
    etag: randomBytes(16).toString('hex'),
    dataId: blobId(),
    lastModified: new Date(T0 + number),
    extra: { n: number },
  };
}

const blobsOf = (record: ObjectRecord): string[] => record.parts.map((part) => part.dataId);
const refuseExisting = (current: () => ObjectRecord | undefined): void => {
  const existing = current();
  if (existing) throw new PreconditionFailed(`The object ${existing.key} already exists`);
};
const accept = (): void => undefined;
const byteSorted = (keys: string[]): string[] => [...keys].sort(compareKeys);

describe('PostgreSQL metadata store', { skip: postgresSkipReason() }, () => {
  let cluster: PostgresCluster;
  const open: PostgresMetadataStore[] = [];
  let databases = 0;

  /** A store on a fresh database of the cluster; closed after the file. */
  async function freshStore(options: Partial<PostgresMetadataOptions> = {}): Promise<{ store: PostgresMetadataStore; url: string }> {
    const url = await cluster.createDatabase(`meta_${++databases}`);
    const store = await openPostgresMetadataStore({ url, ...options });
    open.push(store);
    return { store, url };
  }

  async function another(url: string, options: Partial<PostgresMetadataOptions> = {}): Promise<PostgresMetadataStore> {
    const store = await openPostgresMetadataStore({ url, ...options });
    open.push(store);
    return store;
  }

  /** Runs SQL as the superuser on `url`'s database, outside the store. */
  async function sql<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end();
    }
  }

  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    for (const store of open) await store.close();
    await cluster?.close();
  });

  describe('buckets', () => {
    let store: PostgresMetadataStore;
    let url: string;
    before(async () => {
      ({ store, url } = await freshStore());
    });

    it('creates a bucket that reads back exactly; a second create is BucketAlreadyExists and changes nothing', async () => {
      const createdAt = new Date(T0);
      assert.deepEqual(await store.createBucket('photos', createdAt, { sse: 'aws:kms', kmsKeyId: 'key-1' }), {
        name: 'photos',
        createdAt,
      });
      assert.deepEqual(await store.getBucket('photos'), {
        name: 'photos',
        createdAt,
        encryption: { sse: 'aws:kms', kmsKeyId: 'key-1' },
      });
      await rejects(store.createBucket('photos', new Date(T0 + 5), undefined), 'BucketAlreadyExists', 'BucketAlreadyOwnedByYou', 409);
      assert.deepEqual(await store.getBucket('photos'), {
        name: 'photos',
        createdAt,
        encryption: { sse: 'aws:kms', kmsKeyId: 'key-1' },
      });
      await rejects(store.getBucket('nope'), 'NoSuchBucket', 'NoSuchBucket', 404);
    });

    it('lists buckets in bytewise order, not the database collation', async () => {
      for (const name of ['zeta', 'Alpha', 'beta', '_under', 'Zed']) await store.createBucket(name, new Date(T0), undefined);
      const names = (await store.listBuckets()).map((b) => b.name);
      assert.deepEqual(names, byteSorted(['zeta', 'Alpha', 'beta', '_under', 'Zed', 'photos']));
      const [collated] = await sql<{ names: string[] }>(
        url,
        'SELECT array_agg(name ORDER BY name::text COLLATE "default") AS names FROM buckets',
      );
      assert.notDeepEqual(collated!.names, names, 'the database collation orders them differently (else this test proves nothing)');
    });

    it('sets and removes the default encryption; NoSuchBucket for a missing bucket', async () => {
      await store.createBucket('enc', new Date(T0), undefined);
      assert.equal((await store.getBucket('enc')).encryption, undefined);
      await store.setBucketEncryption('enc', { sse: 'AES256' });
      assert.deepEqual((await store.getBucket('enc')).encryption, { sse: 'AES256' });
      await store.setBucketEncryption('enc', undefined);
      assert.equal('encryption' in (await store.getBucket('enc')), false);
      await rejects(store.setBucketEncryption('nope', { sse: 'AES256' }), 'NoSuchBucket');
    });

    it('keeps settings as given, replaces and removes them; NoSuchBucket for a missing bucket', async () => {
      await store.createBucket('settings', new Date(T0), undefined);
      assert.equal(await store.getBucketSetting('settings', 'cors'), undefined);
      const cors = [{ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: [], exposeHeaders: ['ETag'], maxAgeSeconds: 10 }];
      await store.putBucketSetting('settings', 'cors', cors);
      await store.putBucketSetting('settings', 'tagging', [{ key: 'k', value: 'v' }]);
      assert.deepEqual(await store.getBucketSetting('settings', 'cors'), cors);
      await store.putBucketSetting('settings', 'tagging', [{ key: 'k2', value: '' }]);
      assert.deepEqual(await store.getBucketSetting('settings', 'tagging'), [{ key: 'k2', value: '' }]);
      await store.putBucketSetting('settings', 'cors', undefined);
      assert.equal(await store.getBucketSetting('settings', 'cors'), undefined);
      assert.deepEqual(await store.getBucketSetting('settings', 'tagging'), [{ key: 'k2', value: '' }]);
      await rejects(store.getBucketSetting('nope', 'cors'), 'NoSuchBucket');
      await rejects(store.putBucketSetting('nope', 'cors', cors), 'NoSuchBucket');
      await rejects(store.putBucketSetting('nope', 'cors', undefined), 'NoSuchBucket');
    });

    it('refuses to delete a bucket with objects; deletes one with uploads, returning their blobs and dropping its settings', async () => {
      await store.createBucket('full', new Date(T0), undefined);
      const record = object('full', 'k');
      await store.putObject(record, accept);
      await rejects(store.deleteBucket('full'), 'BucketNotEmpty', 'BucketNotEmpty', 409);
      assert.deepEqual(await store.getObject('full', 'k'), record, 'the object is still there');

      await store.createBucket('pending', new Date(T0), undefined);
      await store.putBucketSetting('pending', 'tagging', [{ key: 'a', value: 'b' }]);
      await store.createUpload(upload('pending', 'big', 'u1'));
      const p1 = uploadedPart(1);
      const p2 = uploadedPart(2);
      await store.putPart({ bucket: 'pending', key: 'big', uploadId: 'u1' }, p1);
      await store.putPart({ bucket: 'pending', key: 'big', uploadId: 'u1' }, p2);
      const before = await store.stats();
      assert.deepEqual((await store.deleteBucket('pending')).sort(), [p1.dataId, p2.dataId].sort());
      await rejects(store.getBucket('pending'), 'NoSuchBucket');
      const after = await store.stats();
      assert.deepEqual(
        { buckets: after.buckets, uploads: after.uploads, parts: after.uploadParts, bytes: after.uploadStoredBytes },
        {
          buckets: before.buckets - 1,
          uploads: before.uploads - 1,
          parts: before.uploadParts - 2,
          bytes: before.uploadStoredBytes - p1.encSize - p2.encSize,
        },
      );
      await store.createBucket('pending', new Date(T0), undefined);
      assert.equal(await store.getBucketSetting('pending', 'tagging'), undefined, 'settings went with the bucket');
      await rejects(store.deleteBucket('nope'), 'NoSuchBucket');
    });
  });

  describe('objects', () => {
    const B = 'objects';
    let store: PostgresMetadataStore;
    let url: string;
    before(async () => {
      ({ store, url } = await freshStore());
      await store.createBucket(B, new Date(T0), undefined);
    });

    it('stores a record with every field exactly as given, and replaces it returning the old blobs', async () => {
      const first = object(B, 'docs/report.pdf', [5 * 1024 * 1024, 5 * 1024 * 1024, 17], {
        contentType: 'application/pdf',
        userMetadata: { owner: 'me', 'x-quote': '"\'\\ é 😀' },
        standardHeaders: { 'cache-control': 'no-cache', expires: 'Thu, 01 Jan 2037 00:00:00 GMT' },
        tags: [
          { key: 'b', value: '2' },
          { key: 'a', value: '' },
        ],
        checksum: { algorithm: 'CRC32C', value: 'AAAAAA==', type: 'COMPOSITE' },
        sse: sseRecord({ sse: 'SSE-KMS', kmsKey: 'k', future: { z: 1, a: [null, true] }, nul: '\u0000' }),
      });
      first.parts[0]!.extra = { checksum: 'x', nested: { n: 1 } };
      const seen: (ObjectRecord | undefined)[] = [];
      assert.deepEqual(await store.putObject(first, (existing) => void seen.push(existing())), []);
      assert.deepEqual([...seen], [undefined], 'check saw no object, once');
      assert.deepEqual(await store.getObject(B, first.key), first);

      const rowIds = async () =>
        (await sql<{ id: string }>(url, 'SELECT id FROM objects WHERE bucket = $1 AND key = $2', [B, first.key])).map((r) => r.id);
      const [id] = await rowIds();

      const second = object(B, first.key, [3]);
      assert.deepEqual((await store.putObject(second, (existing) => void seen.push(existing()))).sort(), blobsOf(first).sort());
      assert.deepEqual(seen[1], first, 'check saw the current object');
      assert.deepEqual(await store.getObject(B, first.key), second);
      assert.deepEqual(await rowIds(), [id], 'the latest object was replaced in place: one row, the same id');
    });

    it('writes nothing when check refuses', async () => {
      const current = object(B, 'guarded');
      await store.putObject(current, accept);
      const stats = await store.stats();
      const refused = object(B, 'guarded', [999]);
      await rejects(store.putObject(refused, refuseExisting), 'PreconditionFailed', 'PreconditionFailed', 412);
      assert.deepEqual(await store.getObject(B, 'guarded'), current);
      assert.deepEqual(await store.stats(), stats);
      assert.deepEqual(await store.referencedBlobs(blobsOf(refused)), new Set());
    });

    it('answers a missing key with undefined and a missing bucket with NoSuchBucket (check never called)', async () => {
      assert.equal(await store.getObject(B, 'missing'), undefined);
      assert.equal(await store.getObject(B, 'nul\u0000key'), undefined);
      await rejects(store.getObject('nope', 'k'), 'NoSuchBucket');
      let called = false;
      await rejects(
        store.putObject(object('nope', 'k'), () => void (called = true)),
        'NoSuchBucket',
      );
      assert.equal(called, false);
      await rejects(store.putObject(object(B, 'nul\u0000key'), accept), 'InvalidArgument', 'InvalidArgument', 400);
      assert.equal(await store.getObject(B, 'nul'), undefined, 'nothing stored under a truncated key');
    });

    it('deletes the keys that exist, each once, and returns all their blobs', async () => {
      const a = object(B, 'del/a', [1, 2]);
      const b = object(B, 'del/b');
      await store.putObject(a, accept);
      await store.putObject(b, accept);
      const stats = await store.stats();
      const { results, superseded } = await deleteKeys(store, B, ['del/b', 'del/missing', 'del/a', 'del/b', 'x\u0000']);
      assert.deepEqual(results, [
        { key: 'del/b', deleted: true },
        { key: 'del/missing', deleted: false },
        { key: 'del/a', deleted: true },
        { key: 'del/b', deleted: false },
        { key: 'x\u0000', deleted: false },
      ]);
      assert.deepEqual(superseded.sort(), [...blobsOf(a), ...blobsOf(b)].sort());
      assert.equal(await store.getObject(B, 'del/a'), undefined);
      const now = await store.stats();
      assert.equal(now.objects, stats.objects - 2);
      assert.equal(now.bytes, stats.bytes - a.size - b.size);
      assert.deepEqual(await deleteKeys(store, B, ['del/a']), { results: [{ key: 'del/a', deleted: false }], superseded: [] });
      assert.deepEqual(await deleteKeys(store, B, []), { results: [], superseded: [] });
      await rejects(deleteKeys(store, 'nope', ['k']), 'NoSuchBucket');
    });

    it('updates revision, SSE fields and tags only; [] removes the tags; a throwing update changes nothing', async () => {
      const record = object(B, 'rotate', [10], { tags: [{ key: 't', value: '1' }] });
      await store.putObject(record, accept);
      const updated = await store.updateObject(B, 'rotate', (existing) => {
        assert.deepEqual(existing, record);
        return { revision: 'rev-2', sse: sseRecord({ sse: 'SSE-KMS', kmsKey: 'key-b' }) };
      });
      const expected = { ...record, revision: 'rev-2', sse: sseRecord({ sse: 'SSE-KMS', kmsKey: 'key-b' }) };
      assert.deepEqual(updated, expected);
      assert.deepEqual(await store.getObject(B, 'rotate'), expected);

      const retagged = await store.updateObject(B, 'rotate', () => ({ tags: [{ key: 'new', value: 'v' }] }));
      assert.deepEqual(retagged, { ...expected, tags: [{ key: 'new', value: 'v' }] });
      const untagged = await store.updateObject(B, 'rotate', () => ({ tags: [] }));
      assert.equal('tags' in untagged, false);
      assert.deepEqual(await store.getObject(B, 'rotate'), untagged);

      await rejects(
        store.updateObject(B, 'rotate', () => {
          throw new PreconditionFailed('changed since read');
        }),
        'PreconditionFailed',
      );
      assert.deepEqual(await store.getObject(B, 'rotate'), untagged);
      await rejects(
        store.updateObject(B, 'missing', () => ({})),
        'NoSuchKey',
        'NoSuchKey',
        404,
      );
      await rejects(
        store.updateObject('nope', 'rotate', () => ({})),
        'NoSuchBucket',
      );
    });

    it('stores an empty tag set as none', async () => {
      const record = object(B, 'untagged', [1], { tags: [] });
      await store.putObject(record, accept);
      const read = await store.getObject(B, 'untagged');
      assert.equal(read && 'tags' in read, false);
    });
  });

  describe('listing', () => {
    const B = 'listing';
    // Keys whose bytewise order differs from a locale's ('a' < 'B' there), from UTF-16's (U+FFFF vs
    // 😀), and LIKE's special characters.
    const KEYS = ['a', 'B', 'é', '_', '%', '\\', 'Z', 'a/b', 'a/c', 'ab', 'a%', 'a_', 'e', '😀', '\uFFFF', '\u{10FFFF}', 'z'];
    let store: PostgresMetadataStore;
    let url: string;
    const records = new Map<string, ObjectRecord>();
    before(async () => {
      ({ store, url } = await freshStore());
      await store.createBucket(B, new Date(T0), undefined);
      for (const [i, key] of KEYS.entries()) {
        const record = object(B, key, [i + 1], i % 2 ? { checksum: { algorithm: 'SHA256', value: 'x', type: 'FULL_OBJECT' } } : {});
        records.set(key, record);
        await store.putObject(record, accept);
      }
    });

    const keys = (summaries: { key: string }[]): string[] => summaries.map((s) => s.key);

    it('lists every key in bytewise order, where the database collation would not', async () => {
      const listed = await store.listObjects(B, '', undefined, 1000);
      assert.deepEqual(keys(listed), byteSorted(KEYS));
      const [collated] = await sql<{ keys: string[] }>(
        url,
        'SELECT array_agg(key ORDER BY key::text COLLATE "default") AS keys FROM objects',
      );
      assert.notDeepEqual(collated!.keys, keys(listed), 'the database collation orders them differently (else this test proves nothing)');
      const first = listed.find((s) => s.key === 'B')!;
      const record = records.get('B')!;
      assert.deepEqual(first, {
        key: 'B',
        size: record.size,
        etag: record.etag,
        lastModified: record.lastModified,
        checksumAlgorithm: 'SHA256',
        checksumType: 'FULL_OBJECT',
      });
      assert.deepEqual(
        listed.find((s) => s.key === 'a'),
        { key: 'a', size: 1, etag: records.get('a')!.etag, lastModified: new Date(T0) },
      );
    });

    it('takes fromKey <= key < upper, with limits', async () => {
      const all = byteSorted(KEYS);
      const between = (from: string, upper?: string): string[] =>
        all.filter((k) => compareKeys(k, from) >= 0 && (upper === undefined || compareKeys(k, upper) < 0));
      assert.deepEqual(keys(await store.listObjects(B, 'B', 'a', 1000)), between('B', 'a'));
      assert.deepEqual(keys(await store.listObjects(B, 'a', prefixUpperBound('a'), 1000)), between('a', 'b'));
      assert.deepEqual(keys(await store.listObjects(B, '%', prefixUpperBound('%'), 1000)), ['%'], "'%' is no wildcard");
      assert.deepEqual(keys(await store.listObjects(B, '_', prefixUpperBound('_'), 1000)), ['_'], "'_' is no wildcard");
      assert.deepEqual(keys(await store.listObjects(B, '\\', prefixUpperBound('\\'), 1000)), ['\\']);
      assert.deepEqual(keys(await store.listObjects(B, '\uFFFF', undefined, 1000)), between('\uFFFF'));
      assert.deepEqual(keys(await store.listObjects(B, '', undefined, 3)), all.slice(0, 3));
      assert.deepEqual(await store.listObjects(B, '', undefined, 0), []);
      assert.deepEqual(keys(await store.listObjects(B, 'zz', undefined, 10)), between('zz'));
      assert.deepEqual(await store.listObjects(B, '\u{10FFFF}!', undefined, 10), []);
      await rejects(store.listObjects('nope', '', undefined, 10), 'NoSuchBucket');
    });

    it('seeks past a key with keyAfter (U+0000, which PostgreSQL cannot store) and bounds below one', async () => {
      const all = byteSorted(KEYS);
      const after = (k: string): string[] => all.filter((x) => compareKeys(x, k) > 0);
      assert.deepEqual(keys(await store.listObjects(B, keyAfter('a'), undefined, 1000)), after('a'));
      assert.deepEqual(keys(await store.listObjects(B, keyAfter('a/b'), prefixUpperBound('a/'), 1000)), ['a/c']);
      // key < 'a' + U+0000 takes 'a' itself and nothing after it
      assert.deepEqual(keys(await store.listObjects(B, 'Z', keyAfter('a'), 1000)), ['Z', '\\', '_', 'a']);
    });

    it('pages through many keys exactly once each', async () => {
      // 100 keys, 15 a page: seven pages, page ends falling on plain and on 'é' keys; more keys cost a transaction
      // each and cross no other boundary (the query takes `limit` rows, nothing else is batched).
      const many = Array.from({ length: 100 }, (_, i) => `page/${String(i).padStart(3, '0')}${i % 7 === 0 ? 'é' : ''}`);
      for (const key of many) await store.putObject(object(B, key, [1]), accept);
      const seen: string[] = [];
      let from = 'page/';
      for (;;) {
        const page = await store.listObjects(B, from, prefixUpperBound('page/'), 15);
        if (page.length === 0) break;
        seen.push(...keys(page));
        from = keyAfter(page[page.length - 1]!.key);
      }
      assert.deepEqual(seen, byteSorted(many));
    });
  });

  describe('multipart uploads', () => {
    const B = 'mp';
    let store: PostgresMetadataStore;
    before(async () => {
      ({ store } = await freshStore());
      await store.createBucket(B, new Date(T0), undefined);
    });

    it('creates an upload that reads back exactly; wrong key, id or bucket are NoSuchUpload / NoSuchBucket', async () => {
      const u = upload(B, 'video.mp4', 'id-create', {
        contentType: 'video/mp4',
        checksumAlgorithm: 'SHA256',
        checksumType: 'COMPOSITE',
        tags: [{ key: 'a', value: 'b' }],
      });
      await store.createUpload(u);
      assert.deepEqual(await store.getUpload(u), u);
      await rejects(store.getUpload({ ...u, key: 'other' }), 'NoSuchUpload', 'NoSuchUpload', 404);
      await rejects(store.getUpload({ ...u, uploadId: 'id-other' }), 'NoSuchUpload');
      await rejects(store.getUpload({ ...u, uploadId: 'id\u0000' }), 'NoSuchUpload');
      await rejects(store.getUpload({ ...u, bucket: 'nope' }), 'NoSuchBucket');
      await rejects(store.createUpload(upload('nope', 'k', 'id-x')), 'NoSuchBucket');
    });

    it('stores parts, replacing one of the same number (returning its blob), and lists them in pages', async () => {
      const ref = { bucket: B, key: 'parts', uploadId: 'id-parts' };
      await store.createUpload(upload(B, ref.key, ref.uploadId));
      const stored = new Map<number, UploadedPart>();
      for (const n of [3, 1, 2, 10, 5]) {
        const part = uploadedPart(n);
        assert.deepEqual(await store.putPart(ref, part), []);
        stored.set(n, part);
      }
      const replacement = uploadedPart(2, 77);
      assert.deepEqual(await store.putPart(ref, replacement), [stored.get(2)!.dataId]);
      stored.set(2, replacement);
      const ascending = [...stored.values()].sort((a, b) => a.number - b.number);
      assert.deepEqual(await store.listParts(ref, 0, 1000), ascending);
      assert.deepEqual(await store.listParts(ref, 0, 2), ascending.slice(0, 2));
      assert.deepEqual(await store.listParts(ref, 2, 2), ascending.slice(2, 4));
      assert.deepEqual(await store.listParts(ref, 5, 2), ascending.slice(4));
      assert.deepEqual(await store.listParts(ref, 10, 2), []);
      await rejects(store.listParts({ ...ref, uploadId: 'id-none' }, 0, 10), 'NoSuchUpload');
      await rejects(store.listParts({ ...ref, bucket: 'nope' }, 0, 10), 'NoSuchBucket');
      await rejects(store.putPart({ ...ref, key: 'other' }, uploadedPart(1)), 'NoSuchUpload');
      await rejects(store.putPart({ ...ref, bucket: 'nope' }, uploadedPart(1)), 'NoSuchBucket');
      const stats = await store.stats();
      assert.equal(stats.uploadParts, 5);
      assert.equal(
        stats.uploadStoredBytes,
        ascending.reduce((sum, p) => sum + p.encSize, 0),
      );
      await store.abortUpload(ref);
    });

    it('lists uploads in (key, upload id) order from a position, bytewise', async () => {
      const { store: s } = await freshStore();
      await s.createBucket(B, new Date(T0), undefined);
      const made: [string, string][] = [
        ['b', 'id-6'],
        ['a', 'id-2'],
        ['B', 'id-9'],
        ['a', 'id-1'],
        ['é', 'id-3'],
        ['a/x', 'id-4'],
        ['_', 'id-5'],
      ];
      for (const [key, id] of made) await s.createUpload(upload(B, key, id, { initiated: new Date(T0 + id.length) }));
      const order = [...made].sort(([k1, i1], [k2, i2]) => compareKeys(k1, k2) || compareKeys(i1, i2));
      const list = async (key: string, afterId: string, upper?: string, limit = 100): Promise<[string, string][]> =>
        (await s.listUploads(B, { key, afterId }, upper, limit)).map((u) => [u.key, u.uploadId]);
      assert.deepEqual(await list('', ''), order);
      assert.deepEqual(await list('a', 'id-1'), order.slice(order.findIndex(([k, i]) => k === 'a' && i === 'id-2')));
      assert.deepEqual(
        await list('a', ''),
        order.filter(([k]) => compareKeys(k, 'a') >= 0),
      );
      assert.deepEqual(
        await list(keyAfter('a'), ''),
        order.filter(([k]) => compareKeys(k, 'a') > 0),
      );
      assert.deepEqual(await list('a', '', prefixUpperBound('a')), [
        ['a', 'id-1'],
        ['a', 'id-2'],
        ['a/x', 'id-4'],
      ]);
      assert.deepEqual(await list('', '', undefined, 2), order.slice(0, 2));
      assert.deepEqual(await list('', '', undefined, 0), []);
      const [first] = await s.listUploads(B, { key: 'b', afterId: '' }, undefined, 1);
      assert.deepEqual(first, { key: 'b', uploadId: 'id-6', initiated: new Date(T0 + 4) });
      await rejects(s.listUploads('nope', { key: '', afterId: '' }, undefined, 10), 'NoSuchBucket');
    });

    it('completes with the parts build chose: superseded holds the unchosen parts and the replaced version', async () => {
      const ref = { bucket: B, key: 'movie', uploadId: 'id-movie' };
      const current = object(B, ref.key, [10, 20]);
      await store.putObject(current, accept);
      const u = upload(B, ref.key, ref.uploadId, { contentType: 'video/mp4' });
      await store.createUpload(u);
      const uploaded = [uploadedPart(1), uploadedPart(2), uploadedPart(3), uploadedPart(4)];
      for (const part of uploaded) await store.putPart(ref, part);
      const before = await store.stats();

      let built: ObjectRecord | undefined;
      const superseded = await store.completeUpload(ref, (got, partsGot, existing) => {
        assert.deepEqual(got, u);
        assert.deepEqual(partsGot, uploaded);
        assert.deepEqual(existing(), current);
        const chosen = [partsGot[0]!, partsGot[2]!].map(({ lastModified: _, ...part }) => part);
        built = {
          ...object(B, ref.key),
          contentType: got.contentType!,
          size: chosen.reduce((sum, p) => sum + p.plainSize, 0),
          parts: chosen,
        };
        return built;
      });
      assert.deepEqual(superseded.sort(), [...blobsOf(current), uploaded[1]!.dataId, uploaded[3]!.dataId].sort());
      assert.deepEqual(await store.getObject(B, ref.key), built);
      await rejects(store.getUpload(ref), 'NoSuchUpload');
      const now = await store.stats();
      assert.deepEqual(now, {
        ...before,
        bytes: before.bytes - current.size + built!.size,
        storedBytes: before.storedBytes - 30 - 64 + 2 * 1032,
        uploads: before.uploads - 1,
        uploadParts: before.uploadParts - 4,
        uploadStoredBytes: before.uploadStoredBytes - 4 * 1032,
      });
      await rejects(
        store.completeUpload(ref, () => built!),
        'NoSuchUpload',
      );
      assert.deepEqual(await store.referencedBlobs([...blobsOf(built!), uploaded[1]!.dataId]), new Set(blobsOf(built!)));
    });

    it('writes nothing when build throws', async () => {
      const ref = { bucket: B, key: 'refused', uploadId: 'id-refused' };
      await store.createUpload(upload(B, ref.key, ref.uploadId));
      const part = uploadedPart(1);
      await store.putPart(ref, part);
      const stats = await store.stats();
      await rejects(
        store.completeUpload(ref, () => {
          throw new PreconditionFailed('The object already exists');
        }),
        'PreconditionFailed',
      );
      assert.deepEqual(await store.listParts(ref, 0, 10), [part]);
      assert.equal(await store.getObject(B, ref.key), undefined);
      assert.deepEqual(await store.stats(), stats);
      await rejects(
        store.completeUpload({ ...ref, uploadId: 'id-none' }, () => object(B, ref.key)),
        'NoSuchUpload',
      );
      await rejects(
        store.completeUpload({ ...ref, bucket: 'nope' }, () => object(B, ref.key)),
        'NoSuchBucket',
      );
    });

    it("aborts an upload, returning its parts' blobs", async () => {
      const ref = { bucket: B, key: 'aborted', uploadId: 'id-aborted' };
      await store.createUpload(upload(B, ref.key, ref.uploadId));
      const p = [uploadedPart(1), uploadedPart(2)];
      for (const part of p) await store.putPart(ref, part);
      assert.deepEqual((await store.abortUpload(ref)).sort(), p.map((x) => x.dataId).sort());
      await rejects(store.getUpload(ref), 'NoSuchUpload');
      await rejects(store.abortUpload(ref), 'NoSuchUpload');
      await rejects(store.abortUpload({ ...ref, bucket: 'nope' }), 'NoSuchBucket');
      assert.deepEqual(await store.referencedBlobs(p.map((x) => x.dataId)), new Set());
    });

    it("updates an upload's SSE fields; a throwing update changes nothing", async () => {
      const ref = { bucket: B, key: 'rotated', uploadId: 'id-rotated' };
      const u = upload(B, ref.key, ref.uploadId);
      await store.createUpload(u);
      await rejects(
        store.updateUpload(ref, () => {
          throw new PreconditionFailed('changed');
        }),
        'PreconditionFailed',
      );
      assert.deepEqual(await store.getUpload(ref), u);
      await store.updateUpload(ref, (read) => {
        assert.deepEqual(read, u);
        return { sse: sseRecord({ sse: 'SSE-KMS', kmsKey: 'key-b' }) };
      });
      assert.deepEqual(await store.getUpload(ref), { ...u, sse: sseRecord({ sse: 'SSE-KMS', kmsKey: 'key-b' }) });
      await rejects(
        store.updateUpload({ ...ref, uploadId: 'id-none' }, () => ({ sse: sseRecord() })),
        'NoSuchUpload',
      );
    });
  });

  describe('maintenance', () => {
    it('tells which blobs an object part or an upload part references', async () => {
      const { store } = await freshStore();
      await store.createBucket('b', new Date(T0), undefined);
      const record = object('b', 'k', [1, 2]);
      await store.putObject(record, accept);
      await store.createUpload(upload('b', 'k', 'u'));
      const part = uploadedPart(1);
      await store.putPart({ bucket: 'b', key: 'k', uploadId: 'u' }, part);
      const unknown = blobId();
      assert.deepEqual(
        await store.referencedBlobs([...blobsOf(record), part.dataId, unknown, 'nul\u0000']),
        new Set([...blobsOf(record), part.dataId]),
      );
      assert.deepEqual(await store.referencedBlobs([]), new Set());
    });

    it('keeps totals that match a full count after many concurrent writes from two gateways', async () => {
      const { store, url } = await freshStore();
      const other = await another(url);
      const empty = await store.stats();
      assert.deepEqual(empty, { buckets: 0, objects: 0, bytes: 0, storedBytes: 0, uploads: 0, uploadParts: 0, uploadStoredBytes: 0 });
      await store.createBucket('t1', new Date(T0), undefined);
      await store.createBucket('t2', new Date(T0), undefined);
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 120; i++) {
        const s = i % 2 ? store : other;
        const bucket = i % 3 ? 't1' : 't2';
        const key = `k${i % 17}`;
        if (i % 5 === 4) ops.push(deleteKeys(s, bucket, [key, `k${(i + 1) % 17}`]));
        else
          ops.push(
            s.putObject(
              object(bucket, key, [i + 1, (i * 7) % 50], i % 4 < 2 ? { sse: sseRecord({ sse: 'SSE-KMS', kmsKey: 'k' }) } : {}),
              accept,
            ),
          );
      }
      await Promise.all(ops);
      await store.createUpload(upload('t1', 'u', 'u1'));
      await other.putPart({ bucket: 't1', key: 'u', uploadId: 'u1' }, uploadedPart(1, 500));
      const [truth] = await sql<Record<string, number>>(
        url,
        `SELECT (SELECT count(*) FROM buckets)::int AS buckets, (SELECT count(*) FROM objects)::int AS objects,
           (SELECT coalesce(sum(size), 0) FROM objects)::int AS bytes,
           (SELECT coalesce(sum(enc_size), 0) FROM object_parts)::int AS "storedBytes",
           (SELECT count(*) FROM uploads)::int AS uploads, (SELECT count(*) FROM upload_parts)::int AS "uploadParts",
           (SELECT coalesce(sum(enc_size), 0) FROM upload_parts)::int AS "uploadStoredBytes"`,
      );
      assert.ok(truth!.objects! > 0);
      assert.deepEqual(await store.stats(), truth);
      assert.deepEqual(await other.stats(), truth);
      // The per-SSE-mode totals too (half the writes above are SSE-KMS), written in the same transactions.
      const byMode = await sql<Record<string, number | string>>(
        url,
        `SELECT o.sse::jsonb ->> 'sse' AS sse, count(*)::int AS objects, sum(o.size)::int AS bytes,
           sum((SELECT sum(enc_size) FROM object_parts p WHERE p.object_id = o.id))::int AS "storedBytes"
         FROM objects o WHERE NOT o.delete_marker GROUP BY 1 ORDER BY 1`,
      );
      assert.deepEqual(
        byMode.map((r) => r.sse),
        ['SSE-KMS', 'SSE-S3'],
      );
      assert.deepEqual(await store.sseTotals(), byMode);
    });
  });

  describe('two gateways on one database', () => {
    it('lets exactly one of many racing If-None-Match: * puts win, every round', async () => {
      const { store: a, url } = await freshStore();
      const b = await another(url);
      await a.createBucket('race', new Date(T0), undefined);
      for (let round = 0; round < 8; round++) {
        const key = `race-${round}`;
        const contenders = Array.from({ length: 16 }, () => object('race', key));
        const outcomes = await Promise.allSettled(contenders.map((record, i) => (i % 2 ? a : b).putObject(record, refuseExisting)));
        const winners = contenders.filter((_, i) => outcomes[i]!.status === 'fulfilled');
        assert.equal(winners.length, 1, `round ${round}: exactly one put wins`);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof PreconditionFailed, String(outcome.reason));
        }
        assert.deepEqual(await b.getObject('race', key), winners[0]);
        const losers = contenders.filter((r) => r !== winners[0]).flatMap(blobsOf);
        assert.deepEqual(await a.referencedBlobs(losers), new Set(), 'no loser wrote anything');
      }
      assert.equal((await a.stats()).objects, 8);
    });

    it('serialises racing overwrites: each replaced version is superseded exactly once', async () => {
      const { store: a, url } = await freshStore();
      const b = await another(url);
      await a.createBucket('race', new Date(T0), undefined);
      const contenders = Array.from({ length: 16 }, () => object('race', 'hot'));
      const superseded = (await Promise.all(contenders.map((r, i) => (i % 2 ? a : b).putObject(r, accept)))).flat();
      const final = await a.getObject('race', 'hot');
      const all = contenders.flatMap(blobsOf);
      assert.deepEqual([...superseded, ...blobsOf(final!)].sort(), all.sort(), 'every version but the last was superseded, once');
      assert.equal((await a.stats()).objects, 1);
    });

    it('keeps a versioned key consistent under racing puts, markers and removals from two gateways', async () => {
      const { store: a, url } = await freshStore();
      const b = await another(url);
      await a.createBucket('vrace', new Date(T0), undefined);
      await a.setBucketVersioning('vrace', 'Enabled');
      const id = (n: number): string => `${String(n).padStart(4, '0')}${'v'.repeat(28)}`;
      const puts = Array.from({ length: 24 }, (_, n) => ({ ...object('vrace', 'hot'), versionId: id(n) }));
      const ops: Promise<unknown>[] = puts.map((r, n) => (n % 2 ? a : b).putObject(r, () => {}));
      // Delete markers and removals of some of the versions racing the puts.
      for (let n = 0; n < 6; n++) {
        ops.push(
          (n % 2 ? b : a).deleteObjects('vrace', () => [{ key: 'hot', versionId: id(100 + n), marker: { lastModified: new Date(T0) } }]),
        );
        ops.push((n % 2 ? a : b).deleteObjects('vrace', () => [{ key: 'hot', versionId: id(n * 4) }]));
      }
      await Promise.all(ops);
      const listed = await a.listVersions('vrace', { key: '' }, undefined, 1000);
      assert.equal(listed.filter((v) => v.isLatest).length, 1, 'exactly one latest version');
      assert.equal(listed[0]!.isLatest, true, 'the newest is the latest');
      const seqs = listed.map((v) => v.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((x, y) => y - x),
        'newest first',
      );
      const [row] = await sql<{ latest: number }>(url, "SELECT count(*)::int AS latest FROM objects WHERE bucket = 'vrace' AND is_latest");
      assert.equal(row!.latest, 1);
      // Every version written and not named by a racing removal is listed, once (a removal that ran before its
      // put committed found nothing to remove, so those may be either).
      const ids = listed.map((v) => v.versionId);
      assert.equal(new Set(ids).size, ids.length);
      for (let n = 0; n < 24; n++) if (n % 4 !== 0) assert.ok(ids.includes(id(n)), `version ${n} is listed`);
      for (let n = 0; n < 6; n++) assert.ok(ids.includes(id(100 + n)), `delete marker ${n} is listed`);
      const objects = listed.filter((v) => !v.deleteMarker).length;
      assert.equal((await a.stats()).objects, objects);
    });

    it('continues an upload started on one gateway on the other', async () => {
      const { store: a, url } = await freshStore();
      const b = await another(url);
      await a.createBucket('mp', new Date(T0), undefined);
      const ref = { bucket: 'mp', key: 'k', uploadId: 'u' };
      await a.createUpload(upload('mp', 'k', 'u'));
      const part = uploadedPart(1);
      await b.putPart(ref, part);
      const done = object('mp', 'k', [part.plainSize]);
      done.parts = [{ number: 1, plainSize: part.plainSize, encSize: part.encSize, etag: part.etag, dataId: part.dataId, extra: { n: 1 } }];
      assert.deepEqual(await a.completeUpload(ref, () => done), []);
      assert.deepEqual(await b.getObject('mp', 'k'), done);
    });

    it('loses no part blob when parts race a Complete on the other gateway', async () => {
      const { store: a, url } = await freshStore();
      const b = await another(url);
      await a.createBucket('mp', new Date(T0), undefined);
      // The Complete starts after 0, 4, 8 of the parts went in: any interleaving must keep the invariant.
      for (const head of [0, 4, 8]) {
        const ref = { bucket: 'mp', key: 'k', uploadId: `u-${head}` };
        await a.createUpload(upload('mp', 'k', ref.uploadId));
        const first = uploadedPart(1);
        await a.putPart(ref, first);
        const late = Array.from({ length: 12 }, (_, i) => uploadedPart(i + 2));
        const chosen = {
          number: 1,
          plainSize: first.plainSize,
          encSize: first.encSize,
          etag: first.etag,
          dataId: first.dataId,
          extra: { n: 1 },
        };
        await Promise.all(late.map(() => b.getUpload(ref))); // b's connections are open: its puts start at once
        const putting = late.map((part) => b.putPart(ref, part));
        await Promise.allSettled(putting.slice(0, head));
        const [completed, ...puts] = await Promise.allSettled([
          a.completeUpload(ref, (_, seen) => {
            assert.deepEqual(seen[0], first);
            return { ...object('mp', 'k', [first.plainSize]), parts: [chosen] };
          }),
          ...putting,
        ]);
        assert.equal(completed!.status, 'fulfilled');
        const superseded = new Set((completed as PromiseFulfilledResult<string[]>).value);
        for (const [i, outcome] of puts.entries()) {
          // A part either went in before the Complete (and is reclaimed by it) or found the upload gone.
          if (outcome.status === 'fulfilled') assert.ok(superseded.has(late[i]!.dataId), `part ${i + 2} is reclaimed`);
          else assert.equal((outcome.reason as Error).name, 'NoSuchUpload');
        }
        const replaced = new Set(blobsOf((await a.getObject('mp', 'k'))!));
        const previous = [...superseded].filter((id) => !late.some((p) => p.dataId === id));
        assert.equal(superseded.size - previous.length, puts.filter((o) => o.status === 'fulfilled').length);
        assert.ok(replaced.has(first.dataId));
        assert.deepEqual(await a.referencedBlobs([first.dataId, ...late.map((p) => p.dataId)]), new Set([first.dataId]));
      }
      const stats = await b.stats();
      assert.deepEqual([stats.uploads, stats.uploadParts, stats.uploadStoredBytes, stats.objects], [0, 0, 0, 1]);
    });

    it('migrates a fresh database once when several gateways open it at the same moment', async () => {
      const url = await cluster.createDatabase('migrate_race');
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresMetadataStore({ url })));
      open.push(...stores);
      for (const store of stores) assert.equal(await store.schemaVersion(), POSTGRES_SCHEMA_VERSION);
      const applied = await sql<{ version: number }>(url, 'SELECT version FROM metadata_schema_migrations ORDER BY version');
      assert.deepEqual(
        applied.map((r) => r.version),
        Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1),
      );
      await stores[0]!.createBucket('shared', new Date(T0), undefined);
      assert.deepEqual(
        (await stores[3]!.listBuckets()).map((b) => b.name),
        ['shared'],
      );
      open.push(await another(url));
      assert.equal(
        (await sql(url, 'SELECT version FROM metadata_schema_migrations')).length,
        POSTGRES_SCHEMA_VERSION,
        'a reopen migrates nothing',
      );
    });

    it('refuses a database migrated by a newer release, naming both versions', async () => {
      const { url } = await freshStore();
      await sql(url, 'INSERT INTO metadata_schema_migrations (version, applied_at) VALUES (99, 0)');
      await assert.rejects(openPostgresMetadataStore({ url }), (err: Error) => {
        assert.match(err.message, new RegExp(`schema version 99, this kesgate knows ${POSTGRES_SCHEMA_VERSION}\\b`));
        return true;
      });
    });
  });

  describe('the database down, slow or refusing', () => {
    it('keeps the pool within poolSize', async () => {
      const { store, url } = await freshStore({ poolSize: 2 });
      await store.createBucket('b', new Date(T0), undefined);
      await Promise.all(Array.from({ length: 30 }, (_, i) => store.putObject(object('b', `k${i % 5}`), accept)));
      const [row] = await sql<{ n: number }>(
        url,
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'kesgate' AND datname = current_database()",
      );
      assert.ok(row!.n >= 1 && row!.n <= 2, `${row!.n} connections`);
    });

    it('answers a statement that waits too long with BackendUnavailable, commits nothing, and serves again once it is free', async () => {
      const { store, url } = await freshStore({ statementTimeoutMs: 300 });
      await store.createBucket('b', new Date(T0), undefined);
      const current = object('b', 'k');
      await store.putObject(current, accept);
      const blocker = new pg.Client({ connectionString: url });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE objects IN ACCESS EXCLUSIVE MODE');
        const err = await rejects(store.putObject(object('b', 'k'), accept), 'BackendUnavailable', 'ServiceUnavailable', 503);
        assert.match(err.message, /metadata database/);
        await rejects(store.getObject('b', 'k'), 'BackendUnavailable');
        await blocker.query('ROLLBACK');
      } finally {
        await blocker.end();
      }
      assert.deepEqual(await store.getObject('b', 'k'), current, 'nothing was committed');
      const next = object('b', 'k');
      await store.putObject(next, accept);
      assert.deepEqual(await store.getObject('b', 'k'), next);
    });

    it('names no password when it cannot connect', async () => {
      const wrong = new URL(cluster.url());
      wrong.password = 'wrong-secret-4711';
      await assert.rejects(openPostgresMetadataStore({ url: wrong.toString(), statementTimeoutMs: 2000 }), (err: Error) => {
        assert.match(err.message, /Cannot open the PostgreSQL metadata database at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/);
        assert.match(err.message, /password authentication failed/);
        assert.doesNotMatch(
          JSON.stringify({ m: err.message, c: String(err.cause), cc: String((err.cause as Error).cause) }),
          /wrong-secret-4711/,
        );
        return true;
      });
      for (const url of ['mysql://u:secret-4711@127.0.0.1/db', 'postgres://u:secret-4711@[bad']) {
        await assert.rejects(openPostgresMetadataStore({ url }), (err: Error) => {
          assert.match(err.message, /metadata database URL/);
          assert.doesNotMatch(err.message, /secret-4711/);
          return true;
        });
      }
    });

    it('answers BackendUnavailable while PostgreSQL is down, commits nothing, and serves again when it is back, same store', async () => {
      const { store, url } = await freshStore();
      const password = new URL(url).password;
      assert.doesNotMatch(store.target, new RegExp(password));
      await store.createBucket('b', new Date(T0), undefined);
      const current = object('b', 'k');
      await store.putObject(current, accept);
      const stats = await store.stats();

      // A put that is inside its transaction (object row written, waiting for the totals) when the
      // server goes away.
      const blocker = new pg.Client({ connectionString: url });
      blocker.on('error', () => undefined);
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE bucket_totals IN EXCLUSIVE MODE');
      const torn = object('b', 'torn');
      const inFlight = store.putObject(torn, accept);
      inFlight.catch(() => undefined);
      for (;;) {
        const [row] = await sql<{ n: number }>(
          url,
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'kesgate' AND wait_event_type = 'Lock'",
        );
        if (row!.n > 0) break;
        await sleep(20);
      }
      await cluster.stop('SIGQUIT');
      await blocker.end().catch(() => undefined);

      const failures = [
        await rejects(inFlight, 'BackendUnavailable', 'ServiceUnavailable', 503),
        await rejects(store.getObject('b', 'k'), 'BackendUnavailable', 'ServiceUnavailable', 503),
        await rejects(store.putObject(object('b', 'k'), accept), 'BackendUnavailable'),
        await rejects(store.listObjects('b', '', undefined, 10), 'BackendUnavailable'),
        await rejects(store.createBucket('c', new Date(T0), undefined), 'BackendUnavailable'),
        await rejects(store.stats(), 'BackendUnavailable'),
      ];
      for (const err of failures) {
        assert.ok(err instanceof BackendUnavailable);
        assert.match(err.message, /metadata database/);
        assert.doesNotMatch(`${err.message} ${String(err.cause)}`, new RegExp(password));
      }

      await cluster.start();
      assert.deepEqual(await store.getObject('b', 'k'), current);
      assert.equal(await store.getObject('b', 'torn'), undefined, 'the interrupted put left nothing');
      assert.deepEqual(await store.stats(), stats);
      assert.deepEqual(await store.referencedBlobs(blobsOf(torn)), new Set());
      const next = object('b', 'k');
      await store.putObject(next, accept);
      assert.deepEqual(await store.getObject('b', 'k'), next);
      await store.createBucket('c', new Date(T0), undefined);
    });
  });
});
