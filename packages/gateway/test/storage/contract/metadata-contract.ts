// The MetadataStore contract as tests, through the interface only: every implementation (SQLite, PostgreSQL)
// runs the same suite from a small *.test.ts that passes its own `open`. Records are built the way the object
// store above builds them (fresh revisions and blob ids, Date values to the millisecond), and every refusal
// is checked to have written nothing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PreconditionFailed } from '../../../src/storage/errors.js';
import type { MetadataStore } from '../../../src/storage/metadata/types.js';
import type { ObjectRecord, PartRecord, UploadedPart, UploadRecord, UploadRef } from '../../../src/storage/types.js';
import { sseRecord } from '../fixtures/sse-records.js';

export interface OpenedMetadataStore {
  store: MetadataStore;
  /** Closes the store and removes whatever it was kept in. */
  cleanup(): Promise<void>;
}

const blobId = (): string => randomBytes(16).toString('hex');
const revision = (): string => randomBytes(12).toString('hex');
/** A Date with the millisecond precision every store keeps. */
const now = (): Date => new Date(Date.now());
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
const bytewise = (a: string, b: string): number => Buffer.compare(utf8(a), utf8(b));

function part(number: number, plainSize = 100 * number, extra?: Record<string, unknown>): PartRecord {
  return { number, plainSize, encSize: plainSize + 32, etag: randomBytes(16).toString('hex'), dataId: blobId(), ...(extra && { extra }) };
}

function object(bucket: string, key: string, parts: PartRecord[] = [part(1)], fields: Partial<ObjectRecord> = {}): ObjectRecord {
  return {
    bucket,
    key,
    versionId: 'null',
    revision: revision(),
    size: parts.reduce((sum, p) => sum + p.plainSize, 0),
    etag: randomBytes(16).toString('hex'),
    lastModified: now(),
    userMetadata: {},
    standardHeaders: {},
    sse: sseRecord({ sse: 'SSE-S3', iv: randomBytes(8).toString('base64') }),
    parts,
    ...fields,
  };
}

let uploadSeq = 0;
function upload(bucket: string, key: string, fields: Partial<UploadRecord> = {}): UploadRecord {
  // Ids sort in creation order, as the object store makes them.
  const uploadId = `${(Date.now() * 1000 + uploadSeq++).toString(16).padStart(14, '0')}${randomBytes(8).toString('hex')}`;
  return {
    bucket,
    key,
    uploadId,
    initiated: now(),
    userMetadata: {},
    standardHeaders: {},
    sse: sseRecord({ sse: 'SSE-KMS', kmsKey: 'k' }),
    ...fields,
  };
}

function uploaded(number: number, plainSize = 1000 * number): UploadedPart {
  return { ...part(number, plainSize, { n: number }), lastModified: now() };
}

const ref = (u: UploadRecord): UploadRef => ({ bucket: u.bucket, key: u.key, uploadId: u.uploadId });
const ids = (parts: readonly { dataId: string }[]): string[] => parts.map((p) => p.dataId);
const sorted = (values: readonly string[]): string[] => [...values].sort();

/** Asserts the promise rejects with an error of this name (a StorageError's class name, or the thrown one). */
async function rejects(promise: Promise<unknown>, name: string): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert.equal((err as Error).name, name, `expected ${name}, got ${(err as Error).name}: ${(err as Error).message}`);
    return err as Error;
  }
  assert.fail(`expected ${name}, but the call succeeded`);
}

/** Deletes the null version of each key (what a delete in an unversioned bucket does), reporting each as deleted or not. */
export async function deleteKeys(
  m: MetadataStore,
  bucket: string,
  keys: readonly string[],
): Promise<{ results: { key: string; deleted: boolean }[]; superseded: string[] }> {
  const { results, superseded } = await m.deleteObjects(bucket, () => keys.map((key) => ({ key, versionId: 'null' })));
  return { results: results.map((r) => ({ key: r.key, deleted: r.removed !== 'none' })), superseded };
}

class Refused extends Error {
  override readonly name = 'Refused';
}
const refuse = (): never => {
  throw new Refused('refused by the callback');
};

export function describeMetadataStore(name: string, open: () => Promise<OpenedMetadataStore>): void {
  describe(`metadata store contract: ${name}`, () => {
    let opened: OpenedMetadataStore;
    let m: MetadataStore;
    before(async () => {
      opened = await open();
      m = opened.store;
    });
    after(async () => opened?.cleanup());

    it('names its kind and its schema version', async () => {
      assert.equal(typeof m.kind, 'string');
      assert.ok(m.kind.length > 0);
      const version = await m.schemaVersion();
      assert.ok(Number.isInteger(version) && version >= 1, `schema version ${version}`);
    });

    // ---------------------------------------------------------------- buckets

    it('creates buckets, reads them back, and lists them in bytewise order', async () => {
      const names = ['lst-b', 'lst-ab', 'lst-a.b', 'lst-a', 'lst-a-b'];
      const created = new Map<string, Date>();
      for (const [i, bucket] of names.entries()) {
        const at = new Date(Date.now() - i * 1000);
        const info = await m.createBucket(bucket, at, i === 0 ? { sse: 'aws:kms', kmsKeyId: 'tenant' } : undefined);
        assert.deepEqual(info, { name: bucket, createdAt: at });
        created.set(bucket, at);
      }
      assert.deepEqual(await m.getBucket('lst-b'), {
        name: 'lst-b',
        createdAt: created.get('lst-b'),
        encryption: { sse: 'aws:kms', kmsKeyId: 'tenant' },
      });
      assert.deepEqual(await m.getBucket('lst-a'), { name: 'lst-a', createdAt: created.get('lst-a') });
      const listed = (await m.listBuckets()).filter((b) => b.name.startsWith('lst-'));
      assert.deepEqual(
        listed,
        [...names].sort(bytewise).map((n) => ({ name: n, createdAt: created.get(n) })),
      );
    });

    it('refuses a second bucket of the same name and keeps the first as it was', async () => {
      const at = now();
      await m.createBucket('dup', at, { sse: 'AES256' });
      await rejects(m.createBucket('dup', new Date(at.getTime() + 5000), undefined), 'BucketAlreadyExists');
      assert.deepEqual(await m.getBucket('dup'), { name: 'dup', createdAt: at, encryption: { sse: 'AES256' } });
      assert.equal((await m.listBuckets()).filter((b) => b.name === 'dup').length, 1);
    });

    it('answers NoSuchBucket for every call on a missing bucket, without calling back', async () => {
      const missing = 'no-such-bucket';
      const u = upload(missing, 'k');
      let called = 0;
      const count = (): void => void called++;
      await rejects(m.getBucket(missing), 'NoSuchBucket');
      await rejects(m.deleteBucket(missing), 'NoSuchBucket');
      await rejects(m.setBucketEncryption(missing, { sse: 'AES256' }), 'NoSuchBucket');
      await rejects(m.getBucketSetting(missing, 'cors'), 'NoSuchBucket');
      await rejects(m.putBucketSetting(missing, 'cors', []), 'NoSuchBucket');
      await rejects(m.getObject(missing, 'k'), 'NoSuchBucket');
      await rejects(m.putObject(object(missing, 'k'), count), 'NoSuchBucket');
      await rejects(deleteKeys(m, missing, ['k']), 'NoSuchBucket');
      await rejects(
        m.updateObject(missing, 'k', () => (count(), {})),
        'NoSuchBucket',
      );
      await rejects(m.listObjects(missing, '', undefined, 10), 'NoSuchBucket');
      await rejects(m.createUpload(u), 'NoSuchBucket');
      await rejects(m.getUpload(ref(u)), 'NoSuchBucket');
      await rejects(m.putPart(ref(u), uploaded(1)), 'NoSuchBucket');
      await rejects(m.listParts(ref(u), 0, 10), 'NoSuchBucket');
      await rejects(m.listUploads(missing, { key: '', afterId: '' }, undefined, 10), 'NoSuchBucket');
      await rejects(
        m.completeUpload(ref(u), () => (count(), object(missing, 'k'))),
        'NoSuchBucket',
      );
      await rejects(m.abortUpload(ref(u)), 'NoSuchBucket');
      await rejects(
        m.updateUpload(ref(u), () => (count(), { sse: sseRecord() })),
        'NoSuchBucket',
      );
      assert.equal(called, 0);
      assert.equal(
        (await m.listBuckets()).some((b) => b.name === missing),
        false,
      );
    });

    it('sets, replaces and removes the default encryption', async () => {
      await m.createBucket('enc', now(), undefined);
      await m.setBucketEncryption('enc', { sse: 'AES256' });
      assert.deepEqual((await m.getBucket('enc')).encryption, { sse: 'AES256' });
      await m.setBucketEncryption('enc', { sse: 'aws:kms', kmsKeyId: 'key-2' });
      assert.deepEqual((await m.getBucket('enc')).encryption, { sse: 'aws:kms', kmsKeyId: 'key-2' });
      await m.setBucketEncryption('enc', undefined);
      assert.equal((await m.getBucket('enc')).encryption, undefined);
      assert.equal('encryption' in (await m.getBucket('enc')), false);
    });

    it('answers every read after a bucket write with what was written: a deleted and re-created bucket is the new one', async () => {
      const first = new Date(Date.parse('2026-01-02T03:04:05.678Z'));
      await m.createBucket('again', first, { sse: 'aws:kms', kmsKeyId: 'old-key' });
      await m.setBucketVersioning('again', 'Suspended');
      assert.deepEqual([(await m.getBucket('again')).createdAt, await m.getBucketVersioning('again')], [first, 'Suspended']);
      await m.deleteBucket('again');
      await rejects(m.getBucket('again'), 'NoSuchBucket');
      await rejects(m.getBucketVersioning('again'), 'NoSuchBucket');
      const second = now();
      await m.createBucket('again', second, undefined);
      const bucket = await m.getBucket('again');
      assert.deepEqual([bucket.createdAt, 'encryption' in bucket, await m.getBucketVersioning('again')], [second, false, 'Unversioned']);
      await m.deleteBucket('again');
    });

    it('keeps each bucket setting on its own; a re-created bucket starts with none', async () => {
      await m.createBucket('cfg', now(), undefined);
      const cors = [
        {
          allowedOrigins: ['https://app.example'],
          allowedMethods: ['GET', 'PUT'],
          allowedHeaders: ['*'],
          exposeHeaders: ['ETag'],
          maxAgeSeconds: 60,
        },
      ];
      assert.equal(await m.getBucketSetting('cfg', 'cors'), undefined);
      await m.putBucketSetting('cfg', 'cors', cors);
      await m.putBucketSetting('cfg', 'tagging', [{ key: 'team', value: 'a' }]);
      await m.putBucketSetting('cfg', 'tagging', [
        { key: 'team', value: 'b' },
        { key: 'ü', value: '' },
      ]);
      await m.putBucketSetting('cfg', 'publicAccessBlock', {
        blockPublicAcls: true,
        ignorePublicAcls: false,
        blockPublicPolicy: true,
        restrictPublicBuckets: false,
      });
      assert.deepEqual(await m.getBucketSetting('cfg', 'cors'), cors);
      assert.deepEqual(await m.getBucketSetting('cfg', 'tagging'), [
        { key: 'team', value: 'b' },
        { key: 'ü', value: '' },
      ]);
      await m.putBucketSetting('cfg', 'cors', undefined);
      assert.equal(await m.getBucketSetting('cfg', 'cors'), undefined);
      assert.deepEqual(await m.getBucketSetting('cfg', 'tagging'), [
        { key: 'team', value: 'b' },
        { key: 'ü', value: '' },
      ]);
      assert.equal(await m.getBucketSetting('cfg', 'ownershipControls'), undefined);

      await m.createBucket('cfg-gone', now(), undefined);
      await m.putBucketSetting('cfg-gone', 'ownershipControls', { objectOwnership: 'ObjectWriter' });
      await m.deleteBucket('cfg-gone');
      await m.createBucket('cfg-gone', now(), undefined);
      assert.equal(await m.getBucketSetting('cfg-gone', 'ownershipControls'), undefined);
    });

    it('deletes a bucket: refuses one holding objects, removes one with unfinished uploads and returns their blobs', async () => {
      await m.createBucket('del-full', now(), undefined);
      const kept = object('del-full', 'k');
      await m.putObject(kept, () => {});
      await rejects(m.deleteBucket('del-full'), 'BucketNotEmpty');
      assert.deepEqual(await m.getObject('del-full', 'k'), kept);

      await m.createBucket('del-pending', now(), undefined);
      const u = upload('del-pending', 'big');
      await m.createUpload(u);
      const parts = [uploaded(1), uploaded(2)];
      for (const p of parts) await m.putPart(ref(u), p);
      await m.putBucketSetting('del-pending', 'tagging', [{ key: 'a', value: 'b' }]);
      assert.deepEqual(sorted(await m.deleteBucket('del-pending')), sorted(ids(parts)));
      await rejects(m.getBucket('del-pending'), 'NoSuchBucket');
      await rejects(m.getUpload(ref(u)), 'NoSuchBucket');
      assert.equal((await m.referencedBlobs(ids(parts))).size, 0);
      // An empty bucket goes without leftovers.
      await m.createBucket('del-empty', now(), undefined);
      assert.deepEqual(await m.deleteBucket('del-empty'), []);
    });

    // ---------------------------------------------------------------- objects

    it('stores an object exactly as given (every field) and reads it back', async () => {
      await m.createBucket('obj', now(), undefined);
      const record = object('obj', 'docs/report.pdf', [part(1, 5_000_000_000, { crc: 'x' }), part(2, 7)], {
        contentType: 'application/pdf',
        userMetadata: { owner: 'alice', 'x-unicode': 'naïve ☃' },
        standardHeaders: {
          'cache-control': 'max-age=60',
          'content-disposition': 'attachment; filename="r.pdf"',
          expires: 'Wed, 21 Oct 2037 07:28:00 GMT',
        },
        checksum: { algorithm: 'CRC64NVME', value: 'AAAAAAAAAAA=', type: 'FULL_OBJECT' },
        sse: sseRecord({
          sse: 'SSE-KMS',
          iv: 'aXY=',
          kmsKey: 'k1',
          kmsKeyVersion: '3',
          future: { bucket: 'obj', nested: [1, true, null] },
        }),
        tags: [
          { key: 'b', value: '2' },
          { key: 'a', value: '' },
        ],
      });
      const seen: (ObjectRecord | undefined)[] = [];
      assert.deepEqual(await m.putObject(record, (existing) => void seen.push(existing())), []);
      assert.deepEqual(seen, [undefined], 'check is called once, with no current object');
      assert.deepEqual(await m.getObject('obj', 'docs/report.pdf'), record);
      assert.equal(await m.getObject('obj', 'docs/other'), undefined);
      const minimal = object('obj', 'minimal');
      await m.putObject(minimal, () => {});
      const read = await m.getObject('obj', 'minimal');
      assert.deepEqual(read, minimal);
      for (const absent of ['contentType', 'checksum', 'tags'] as const) assert.equal(absent in read!, false, `${absent} stays absent`);
    });

    it('replaces an object: check sees the current version, whose blobs are returned', async () => {
      const first = object('obj', 'over', [part(1), part(2), part(3)]);
      await m.putObject(first, () => {});
      const second = object('obj', 'over', [part(1)]);
      const seen: (ObjectRecord | undefined)[] = [];
      const superseded = await m.putObject(second, (existing) => void seen.push(existing()));
      assert.deepEqual(seen, [first]);
      assert.deepEqual(sorted(superseded), sorted(ids(first.parts)));
      assert.deepEqual(await m.getObject('obj', 'over'), second);
      assert.deepEqual([...(await m.referencedBlobs([...ids(first.parts), ...ids(second.parts)]))], ids(second.parts));
    });

    it('writes nothing when check refuses, for a new key and for a replacement', async () => {
      const current = object('obj', 'guarded');
      await m.putObject(current, () => {});
      const statsBefore = await m.stats();
      const refusedNew = object('obj', 'never');
      const refusedReplacement = object('obj', 'guarded', [part(1), part(2)]);
      await rejects(m.putObject(refusedNew, refuse), 'Refused');
      await rejects(m.putObject(refusedReplacement, refuse), 'Refused');
      assert.equal(await m.getObject('obj', 'never'), undefined);
      assert.deepEqual(await m.getObject('obj', 'guarded'), current);
      assert.deepEqual(await m.stats(), statsBefore);
      assert.equal((await m.referencedBlobs([...ids(refusedNew.parts), ...ids(refusedReplacement.parts)])).size, 0);
      assert.deepEqual([...(await m.referencedBlobs(ids(current.parts)))], ids(current.parts));
    });

    it('serialises conditional writes: of two racing creates that require no current object, exactly one wins', async () => {
      const absentOnly = (existing: () => ObjectRecord | undefined): void => {
        if (existing()) throw new PreconditionFailed('exists');
      };
      for (let round = 0; round < 5; round++) {
        const key = `race-${round}`;
        const contenders = [object('obj', key), object('obj', key)];
        const outcomes = await Promise.allSettled(contenders.map((c) => m.putObject(c, absentOnly)));
        const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [contenders[i]!] : []));
        assert.equal(winners.length, 1, `round ${round}: ${outcomes.map((o) => o.status).join(', ')}`);
        const loser = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
        assert.equal((loser.reason as Error).name, 'PreconditionFailed');
        assert.deepEqual(await m.getObject('obj', key), winners[0]);
      }
    });

    it('deletes objects, reporting each key and returning the deleted blobs', async () => {
      const a = object('obj', 'del/a');
      const b = object('obj', 'del/b', [part(1), part(2)]);
      await m.putObject(a, () => {});
      await m.putObject(b, () => {});
      const { results, superseded } = await deleteKeys(m, 'obj', ['del/a', 'del/missing', 'del/b', 'del/a']);
      assert.deepEqual(results, [
        { key: 'del/a', deleted: true },
        { key: 'del/missing', deleted: false },
        { key: 'del/b', deleted: true },
        { key: 'del/a', deleted: false },
      ]);
      assert.deepEqual(sorted(superseded), sorted([...ids(a.parts), ...ids(b.parts)]));
      assert.equal(await m.getObject('obj', 'del/a'), undefined);
      assert.equal(await m.getObject('obj', 'del/b'), undefined);
      assert.deepEqual(await deleteKeys(m, 'obj', []), { results: [], superseded: [] });
    });

    it('updates an object with what update returns: revision, SSE fields and tags only', async () => {
      const record = object('obj', 'upd', [part(1), part(2)], { tags: [{ key: 't', value: '1' }], contentType: 'text/plain' });
      await m.putObject(record, () => {});
      const seen: ObjectRecord[] = [];
      const rotated = await m.updateObject(
        'obj',
        'upd',
        (existing) => (seen.push(existing), { revision: 'r2', sse: sseRecord({ sse: 'SSE-S3', sealedKey: 'bmV3' }) }),
      );
      assert.deepEqual(seen, [record]);
      assert.deepEqual(rotated, { ...record, revision: 'r2', sse: sseRecord({ sse: 'SSE-S3', sealedKey: 'bmV3' }) });
      assert.deepEqual(await m.getObject('obj', 'upd'), rotated);

      const retagged = await m.updateObject('obj', 'upd', () => ({ tags: [{ key: 'x', value: 'y' }] }));
      assert.deepEqual(retagged, { ...rotated, tags: [{ key: 'x', value: 'y' }] });
      const untagged = await m.updateObject('obj', 'upd', () => ({ tags: [] }));
      assert.equal('tags' in untagged, false);
      assert.deepEqual(await m.getObject('obj', 'upd'), untagged);

      await rejects(m.updateObject('obj', 'upd', refuse), 'Refused');
      assert.deepEqual(await m.getObject('obj', 'upd'), untagged, 'a refused update writes nothing');
      await rejects(
        m.updateObject('obj', 'no-such-key', () => ({ revision: 'x' })),
        'NoSuchKey',
      );
      assert.equal(await m.getObject('obj', 'no-such-key'), undefined);
    });

    it('lists objects in bytewise key order from an inclusive key to an exclusive upper bound', async () => {
      await m.createBucket('keys', now(), undefined);
      await m.createBucket('keys-other', now(), undefined);
      // UTF-16 order and UTF-8 byte order disagree on U+FFFF vs 😀; %, _ and \ are LIKE wildcards/escapes;
      // upper/lower case, accents, spaces and control characters all order by their bytes.
      const keys = [
        'a',
        'a/b',
        'a%b',
        'a_b',
        'a\\b',
        'A',
        'ab',
        'a b',
        'a\u0001',
        'é',
        'z',
        '\uFFFF',
        '😀',
        '\u{10FFFF}',
        '\uFFFFz',
        ' ',
        '~',
        'a%',
        'a_',
      ];
      const records = new Map<string, ObjectRecord>();
      for (const [i, key] of keys.entries()) {
        const record = object(
          'keys',
          key,
          [part(1, i + 1)],
          i % 3 === 0 ? { checksum: { algorithm: 'CRC32', value: 'AAAAAA==', type: 'COMPOSITE' } } : {},
        );
        records.set(key, record);
        await m.putObject(record, () => {});
      }
      await m.putObject(object('keys-other', 'a'), () => {});
      const order = [...keys].sort(bytewise);
      const all = await m.listObjects('keys', '', undefined, 1000);
      assert.deepEqual(
        all.map((o) => o.key),
        order,
      );
      for (const summary of all) {
        const record = records.get(summary.key)!;
        const expected = { key: record.key, size: record.size, etag: record.etag, lastModified: record.lastModified };
        if (record.checksum) Object.assign(expected, { checksumAlgorithm: record.checksum.algorithm, checksumType: record.checksum.type });
        assert.deepEqual(summary, expected);
      }
      const keysOf = async (from: string, upper: string | undefined, limit = 1000): Promise<string[]> =>
        (await m.listObjects('keys', from, upper, limit)).map((o) => o.key);
      const expect = (from: string, upper?: string): string[] =>
        order.filter((k) => bytewise(k, from) >= 0 && (upper === undefined || bytewise(k, upper) < 0));
      assert.deepEqual(await keysOf('a_b', undefined), expect('a_b'), 'the start is inclusive');
      assert.deepEqual(await keysOf('a_b\u0000', undefined), expect('a_b\u0000'), 'key + U+0000 starts right after the key');
      assert.equal((await keysOf('a_b\u0000', undefined))[0], order[order.indexOf('a_b') + 1]);
      assert.deepEqual(await keysOf('a', 'b'), expect('a', 'b'), 'the upper bound is exclusive');
      assert.deepEqual(await keysOf('a%', 'a&'), ['a%', 'a%b'], 'a % in the range is a plain character');
      assert.deepEqual(await keysOf('a_', 'a`'), ['a_', 'a_b'], 'a _ in the range is a plain character');
      assert.deepEqual(await keysOf('\uFFFF', '\u{10000}'), ['\uFFFF', '\uFFFFz'], 'U+FFFF sorts before 😀 (bytes, not UTF-16)');
      assert.deepEqual(await keysOf('', undefined, 3), order.slice(0, 3));
      assert.deepEqual(await keysOf('\u{10FFFF}\u0000', undefined), []);
      assert.deepEqual(
        (await m.listObjects('keys-other', '', undefined, 1000)).map((o) => o.key),
        ['a'],
        'buckets are apart',
      );
    });

    // ---------------------------------------------------------------- multipart uploads

    it('stores an upload as given and finds it only by its bucket, key and id', async () => {
      await m.createBucket('mp', now(), undefined);
      await m.createBucket('mp-other', now(), undefined);
      const u = upload('mp', 'video.mp4', {
        contentType: 'video/mp4',
        userMetadata: { camera: 'front' },
        standardHeaders: { 'cache-control': 'no-store' },
        checksumAlgorithm: 'SHA256',
        checksumType: 'COMPOSITE',
        tags: [{ key: 'x', value: 'y' }],
      });
      await m.createUpload(u);
      assert.deepEqual(await m.getUpload(ref(u)), u);
      const plain = upload('mp', 'plain');
      await m.createUpload(plain);
      const read = await m.getUpload(ref(plain));
      assert.deepEqual(read, plain);
      for (const absent of ['contentType', 'checksumAlgorithm', 'checksumType', 'tags'] as const) assert.equal(absent in read, false);
      await rejects(m.getUpload({ ...ref(u), key: 'other' }), 'NoSuchUpload');
      await rejects(m.getUpload({ ...ref(u), bucket: 'mp-other' }), 'NoSuchUpload');
      await rejects(m.getUpload({ ...ref(u), uploadId: upload('mp', 'x').uploadId }), 'NoSuchUpload');
    });

    it('stores parts, replacing one of the same number and returning its blob; lists parts by number', async () => {
      const u = upload('mp', 'parts');
      await m.createUpload(u);
      const p3 = uploaded(3);
      const p1 = uploaded(1);
      const p2 = uploaded(2);
      for (const p of [p3, p1, p2]) assert.deepEqual(await m.putPart(ref(u), p), []);
      const p2again = uploaded(2, 77);
      assert.deepEqual(await m.putPart(ref(u), p2again), [p2.dataId]);
      assert.deepEqual(await m.listParts(ref(u), 0, 1000), [p1, p2again, p3]);
      assert.deepEqual(await m.listParts(ref(u), 1, 1), [p2again]);
      assert.deepEqual(await m.listParts(ref(u), 3, 10), []);
      const p10000 = uploaded(10000, 5);
      await m.putPart(ref(u), p10000);
      assert.deepEqual(
        (await m.listParts(ref(u), 2, 10)).map((p) => p.number),
        [3, 10000],
      );
      await rejects(m.putPart({ ...ref(u), key: 'elsewhere' }, uploaded(4)), 'NoSuchUpload');
      await rejects(m.listParts({ ...ref(u), key: 'elsewhere' }, 0, 10), 'NoSuchUpload');
      assert.deepEqual([...(await m.referencedBlobs([p2.dataId, p2again.dataId]))], [p2again.dataId]);
    });

    it('lists uploads in (key, upload id) order from a position, below an upper bound', async () => {
      await m.createBucket('ups', now(), undefined);
      const made: UploadRecord[] = [];
      for (const key of ['k1', 'k/1', 'k1', 'k2', 'k1', 'l', 'k\uFFFF', 'k😀']) {
        const u = upload('ups', key);
        made.push(u);
        await m.createUpload(u);
      }
      const order = [...made].sort((a, b) => bytewise(a.key, b.key) || (a.uploadId < b.uploadId ? -1 : 1));
      const summaries = (us: UploadRecord[]) => us.map((u) => ({ key: u.key, uploadId: u.uploadId, initiated: u.initiated }));
      assert.deepEqual(await m.listUploads('ups', { key: '', afterId: '' }, undefined, 100), summaries(order));
      const k1 = order.filter((u) => u.key === 'k1');
      assert.equal(k1.length, 3);
      const fromSecond = await m.listUploads('ups', { key: 'k1', afterId: k1[0]!.uploadId }, undefined, 100);
      assert.deepEqual(fromSecond, summaries(order.slice(order.indexOf(k1[1]!))));
      assert.deepEqual(await m.listUploads('ups', { key: 'k1', afterId: '' }, 'k2', 100), summaries(k1));
      assert.deepEqual(await m.listUploads('ups', { key: 'k1', afterId: '' }, undefined, 2), summaries(k1.slice(0, 2)));
      assert.deepEqual(
        (await m.listUploads('ups', { key: 'k\uFFFF', afterId: '' }, 'l', 100)).map((u) => u.key),
        ['k\uFFFF', 'k😀'],
      );
      assert.deepEqual(await m.listUploads('ups', { key: 'l', afterId: order.at(-1)!.uploadId }, undefined, 100), []);
    });

    it('completes an upload: build sees the upload, its parts and the current object; what it returns is stored', async () => {
      await m.createBucket('done', now(), undefined);
      const previous = object('done', 'movie', [part(1), part(2)]);
      await m.putObject(previous, () => {});
      const u = upload('done', 'movie', { contentType: 'video/mp4', tags: [{ key: 'x', value: 'y' }] });
      await m.createUpload(u);
      const parts = [uploaded(1), uploaded(2), uploaded(3)];
      for (const p of [parts[2]!, parts[0]!, parts[1]!]) await m.putPart(ref(u), p);
      const statsBefore = await m.stats();

      const calls: [UploadRecord, UploadedPart[], ObjectRecord | undefined][] = [];
      let built: ObjectRecord | undefined;
      const superseded = await m.completeUpload(ref(u), (up, ps, existing) => {
        calls.push([up, ps, existing()]);
        const chosen = [ps[0]!, ps[2]!].map(({ lastModified: _lm, ...p }) => p);
        built = object('done', 'movie', chosen, { contentType: up.contentType, tags: up.tags, sse: up.sse });
        return built;
      });
      assert.deepEqual(calls, [[u, parts, previous]]);
      assert.deepEqual(
        sorted(superseded),
        sorted([...ids(previous.parts), parts[1]!.dataId]),
        'the replaced version and the part not chosen',
      );
      assert.deepEqual(await m.getObject('done', 'movie'), built);
      await rejects(m.getUpload(ref(u)), 'NoSuchUpload');
      await rejects(m.listParts(ref(u), 0, 10), 'NoSuchUpload');
      assert.deepEqual(
        sorted([...(await m.referencedBlobs([...ids(parts), ...ids(previous.parts)]))]),
        sorted([parts[0]!.dataId, parts[2]!.dataId]),
      );
      const stats = await m.stats();
      assert.equal(stats.uploads, statsBefore.uploads - 1);
      assert.equal(stats.uploadParts, statsBefore.uploadParts - 3);
      assert.equal(stats.objects, statsBefore.objects);
      assert.equal(stats.bytes, statsBefore.bytes - previous.size + built!.size);

      // An upload of a key with no current object: build sees undefined.
      const fresh = upload('done', 'fresh');
      await m.createUpload(fresh);
      const only = uploaded(1);
      await m.putPart(ref(fresh), only);
      let sawExisting: ObjectRecord | undefined | null = null;
      await m.completeUpload(ref(fresh), (_u, ps, existing) => {
        sawExisting = existing();
        return object(
          'done',
          'fresh',
          ps.map(({ lastModified: _lm, ...p }) => p),
        );
      });
      assert.equal(sawExisting, undefined);
      assert.deepEqual(ids((await m.getObject('done', 'fresh'))!.parts), [only.dataId]);
    });

    it('changes nothing when build refuses', async () => {
      const previous = object('done', 'kept');
      await m.putObject(previous, () => {});
      const u = upload('done', 'kept');
      await m.createUpload(u);
      const parts = [uploaded(1), uploaded(2)];
      for (const p of parts) await m.putPart(ref(u), p);
      const statsBefore = await m.stats();
      await rejects(m.completeUpload(ref(u), refuse), 'Refused');
      assert.deepEqual(await m.getObject('done', 'kept'), previous);
      assert.deepEqual(await m.getUpload(ref(u)), u);
      assert.deepEqual(await m.listParts(ref(u), 0, 10), parts);
      assert.deepEqual(await m.stats(), statsBefore);
      await rejects(
        m.completeUpload({ ...ref(u), key: 'elsewhere' }, () => previous),
        'NoSuchUpload',
      );
    });

    it("aborts an upload, returning its parts' blobs", async () => {
      const u = upload('done', 'abandoned');
      await m.createUpload(u);
      const parts = [uploaded(1), uploaded(7)];
      for (const p of parts) await m.putPart(ref(u), p);
      assert.deepEqual(sorted(await m.abortUpload(ref(u))), sorted(ids(parts)));
      await rejects(m.getUpload(ref(u)), 'NoSuchUpload');
      await rejects(m.abortUpload(ref(u)), 'NoSuchUpload');
      await rejects(m.putPart(ref(u), uploaded(2)), 'NoSuchUpload');
      assert.equal((await m.referencedBlobs(ids(parts))).size, 0);
    });

    it("updates an upload's SSE fields with what update returns; a refusal writes nothing", async () => {
      const u = upload('done', 'rotating', { contentType: 'a/b' });
      await m.createUpload(u);
      const seen: UploadRecord[] = [];
      await m.updateUpload(ref(u), (current) => (seen.push(current), { sse: sseRecord({ sse: 'SSE-KMS', kmsKey: 'key-b' }) }));
      assert.deepEqual(seen, [u]);
      assert.deepEqual(await m.getUpload(ref(u)), { ...u, sse: sseRecord({ sse: 'SSE-KMS', kmsKey: 'key-b' }) });
      await rejects(m.updateUpload(ref(u), refuse), 'Refused');
      assert.deepEqual((await m.getUpload(ref(u))).sse, sseRecord({ sse: 'SSE-KMS', kmsKey: 'key-b' }));
      await rejects(
        m.updateUpload({ ...ref(u), key: 'elsewhere' }, () => ({ sse: sseRecord() })),
        'NoSuchUpload',
      );
    });

    // ---------------------------------------------------------------- maintenance

    it('says which blobs an object or an upload part references, and no others', async () => {
      await m.createBucket('refs', now(), undefined);
      const obj = object('refs', 'o', [part(1), part(2)]);
      await m.putObject(obj, () => {});
      const u = upload('refs', 'u');
      await m.createUpload(u);
      const p = uploaded(1);
      await m.putPart(ref(u), p);
      const strangers = [blobId(), blobId()];
      const asked = [...strangers, ...ids(obj.parts), p.dataId];
      assert.deepEqual(sorted([...(await m.referencedBlobs(asked))]), sorted([...ids(obj.parts), p.dataId]));
      assert.equal((await m.referencedBlobs([])).size, 0);
      const many = Array.from({ length: 2500 }, blobId);
      assert.deepEqual([...(await m.referencedBlobs([...many, p.dataId]))], [p.dataId], 'a large batch');
    });

    it('counts, per bucket, the objects and uploads whose SSE record names a master key', async () => {
      const kms = (kmsKey: string) => ({ sse: sseRecord({ sse: 'SSE-KMS', kmsKey, kmsCiphertext: 'c2VhbGVk' }) });
      await m.createBucket('dep-b', now(), undefined);
      await m.createBucket('dep-a', now(), undefined);
      await m.putObject(object('dep-b', 'one', [part(1)], kms('dep-key')), () => {});
      await m.putObject(object('dep-b', 'two', [part(1)], kms('dep-key')), () => {});
      await m.putObject(object('dep-b', 'other', [part(1)], kms('dep-key-2')), () => {});
      await m.putObject(object('dep-b', 'customer', [part(1)], { sse: sseRecord({ sse: 'SSE-C', keyMD5: 'x' }) }), () => {});
      await m.putObject(object('dep-a', 'one', [part(1)], kms('dep-key')), () => {});
      const u = upload('dep-a', 'up', kms('dep-key'));
      await m.createUpload(u);
      await m.createUpload(upload('dep-a', 'up2', kms('dep-key-2')));
      assert.deepEqual(await m.keyDependents('dep-key'), [
        { bucket: 'dep-a', objects: 1, versions: 1, uploads: 1 },
        { bucket: 'dep-b', objects: 2, versions: 2, uploads: 0 },
      ]);
      assert.deepEqual(await m.keyDependents('dep-key-2'), [
        { bucket: 'dep-a', objects: 0, versions: 0, uploads: 1 },
        { bucket: 'dep-b', objects: 1, versions: 1, uploads: 0 },
      ]);
      assert.deepEqual(await m.keyDependents('dep'), [], 'a prefix of a key name is another key');
      // A replaced object counts under its new key only; a deleted one not at all.
      await m.putObject(object('dep-b', 'two', [part(1)], kms('dep-key-2')), () => {});
      await deleteKeys(m, 'dep-a', ['one']);
      await m.abortUpload(ref(u));
      assert.deepEqual(await m.keyDependents('dep-key'), [{ bucket: 'dep-b', objects: 1, versions: 1, uploads: 0 }]);
      // Noncurrent versions count as versions, not objects; a delete marker has no key and counts as neither.
      await m.setBucketVersioning('dep-b', 'Enabled');
      await m.putObject(object('dep-b', 'one', [part(1)], { versionId: 'V'.repeat(32), ...kms('dep-key') }), () => {});
      await m.deleteObjects('dep-b', () => [{ key: 'one', versionId: 'M'.repeat(32), marker: { lastModified: now() } }]);
      assert.deepEqual(await m.keyDependents('dep-key'), [{ bucket: 'dep-b', objects: 0, versions: 2, uploads: 0 }]);
    });

    it('keeps totals of buckets, objects, bytes and upload parts through every kind of write', async () => {
      const base = await m.stats();
      await m.createBucket('totals', now(), undefined);
      const a = object('totals', 'a', [part(1, 10), part(2, 20)]);
      await m.putObject(a, () => {});
      const b = object('totals', 'b', [part(1, 5)]);
      await m.putObject(b, () => {});
      const a2 = object('totals', 'a', [part(1, 1)]);
      await m.putObject(a2, () => {});
      const u = upload('totals', 'u');
      await m.createUpload(u);
      const up1 = uploaded(1, 300);
      await m.putPart(ref(u), up1);
      await m.putPart(ref(u), uploaded(2, 400));
      await m.putPart(ref(u), uploaded(2, 100)); // replaces 400
      const stored = (parts: readonly PartRecord[]) => parts.reduce((s, p) => s + p.encSize, 0);
      let stats = await m.stats();
      assert.deepEqual(stats, {
        buckets: base.buckets + 1,
        objects: base.objects + 2,
        bytes: base.bytes + a2.size + b.size,
        storedBytes: base.storedBytes + stored(a2.parts) + stored(b.parts),
        uploads: base.uploads + 1,
        uploadParts: base.uploadParts + 2,
        uploadStoredBytes: base.uploadStoredBytes + 300 + 32 + 100 + 32,
      });
      await deleteKeys(m, 'totals', ['b']);
      await m.abortUpload(ref(u));
      stats = await m.stats();
      assert.deepEqual(stats, {
        ...base,
        buckets: base.buckets + 1,
        objects: base.objects + 1,
        bytes: base.bytes + a2.size,
        storedBytes: base.storedBytes + stored(a2.parts),
      });
      await deleteKeys(m, 'totals', ['a']);
      await m.deleteBucket('totals');
      assert.deepEqual(await m.stats(), base);
    });

    it('keeps objects and bytes per SSE mode through writes, replacements, versions, re-keys and deletes', async () => {
      const base = await m.sseTotals();
      /** The totals minus what was there before this test, modes with nothing left out. */
      const grown = async (): Promise<Record<string, [number, number, number]>> => {
        const out: Record<string, [number, number, number]> = {};
        for (const t of await m.sseTotals()) {
          const b = base.find((x) => x.sse === t.sse) ?? { objects: 0, bytes: 0, storedBytes: 0 };
          const d: [number, number, number] = [t.objects - b.objects, t.bytes - b.bytes, t.storedBytes - b.storedBytes];
          if (d.some((v) => v !== 0)) out[t.sse] = d;
        }
        return out;
      };
      const kms = { sse: sseRecord({ sse: 'SSE-KMS', kmsKey: 'mode-key' }) };
      const ssec = { sse: sseRecord({ sse: 'SSE-C', sseCKeyMD5: 'x' }) };
      await m.createBucket('modes', now(), undefined);
      await m.putObject(object('modes', 's3', [part(1, 10)]), () => {});
      await m.putObject(object('modes', 'kms', [part(1, 20), part(2, 30)], kms), () => {});
      await m.putObject(object('modes', 'c', [part(1, 40)], ssec), () => {});
      assert.deepEqual(await grown(), { 'SSE-C': [1, 40, 72], 'SSE-KMS': [1, 50, 114], 'SSE-S3': [1, 10, 42] });
      // A replacement under another mode moves the key's object; one under the same mode changes its bytes; a
      // refused write changes nothing.
      await m.putObject(object('modes', 's3', [part(1, 5)], kms), () => {});
      await m.putObject(object('modes', 'kms', [part(1, 25)], kms), () => {});
      await rejects(m.putObject(object('modes', 'c', [part(1, 1)]), refuse), 'Refused');
      assert.deepEqual(await grown(), { 'SSE-C': [1, 40, 72], 'SSE-KMS': [2, 30, 94] });
      // A re-key in place (an SSE-C object re-sealed under SSE-S3) moves it too; one that keeps the mode does not.
      await m.updateObject('modes', 'c', () => ({ revision: revision(), sse: sseRecord({ sse: 'SSE-S3', iv: 'aXY=' }) }));
      await m.updateObject('modes', 'kms', () => ({ revision: revision(), sse: sseRecord({ sse: 'SSE-KMS', kmsKey: 'other-key' }) }));
      assert.deepEqual(await grown(), { 'SSE-KMS': [2, 30, 94], 'SSE-S3': [1, 40, 72] });
      // Every stored version counts, as in stats(); a delete marker does not.
      await m.setBucketVersioning('modes', 'Enabled');
      await m.putObject(object('modes', 'c', [part(1, 7)], { versionId: 'A'.repeat(32), ...ssec }), () => {});
      await m.deleteObjects('modes', () => [{ key: 'kms', versionId: 'M'.repeat(32), marker: { lastModified: now() } }]);
      assert.deepEqual(await grown(), { 'SSE-C': [1, 7, 39], 'SSE-KMS': [2, 30, 94], 'SSE-S3': [1, 40, 72] });
      // Removing every version and the bucket leaves the totals as they were.
      await m.deleteObjects('modes', () => [
        { key: 's3', versionId: 'null' },
        { key: 'kms', versionId: 'null' },
        { key: 'kms', versionId: 'M'.repeat(32) },
        { key: 'c', versionId: 'null' },
        { key: 'c', versionId: 'A'.repeat(32) },
      ]);
      assert.deepEqual(await grown(), {});
      await m.deleteBucket('modes');
      assert.deepEqual(await grown(), {});
      const total = await m.stats();
      assert.equal(
        (await m.sseTotals()).reduce((n, t) => n + t.objects, 0),
        total.objects,
        'the modes add up to the object total',
      );
    });
  });
}
