import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ObjectRecord, PutObjectInput } from '../../src/storage/index.js';
import { listFiles, md5, layouts, putBytes, readObject, readStream, rejectsWith, writeData, type TempStore } from './helpers.js';
import { sseRecord } from './fixtures/sse-records.js';

const B = 'objects';

for (const layout of layouts) {
  describe(`${layout.name} store: objects`, { skip: layout.skip }, () => {
    let t: TempStore;
    before(async () => {
      t = await layout.open();
      await t.store.createBucket(B);
    });
    after(async () => t.cleanup());

    it('stores a record with every field and its data, and returns both after a reopen', async () => {
      const data = randomBytes(70000);
      const { dataId, encSize } = await writeData(t.store, B, data);
      assert.equal(encSize, data.length);
      assert.deepEqual(await t.leftovers(), [], 'finish() moved the data out of tmp/');
      const input: PutObjectInput = {
        bucket: B,
        key: 'docs/report.pdf',
        size: data.length,
        etag: md5(data),
        contentType: 'application/pdf',
        userMetadata: { owner: 'alice', 'x-unicode': 'naïve ☃' },
        standardHeaders: {
          'cache-control': 'max-age=60',
          'content-disposition': 'attachment; filename="r.pdf"',
          'content-encoding': 'identity',
          'content-language': 'de-CH',
          expires: 'Wed, 21 Oct 2037 07:28:00 GMT',
        },
        checksum: { algorithm: 'CRC32C', value: 'AAAAAA==', type: 'FULL_OBJECT' },
        sse: {
          sse: 'SSE-KMS',
          iv: 'aXY=',
          sealAlgorithm: 'DAREv2-HMAC-SHA256',
          sealedKey: 'c2s=',
          kmsKey: 'k1',
          kmsKeyVersion: '3',
          kmsCiphertext: 'Y3Q=',
        },
        parts: [{ number: 1, plainSize: data.length, encSize, etag: md5(data), dataId, extra: { crc: 'x' } }],
      };
      const before = Date.now();
      const stored = await t.store.putObject(input);
      assert.ok(stored.lastModified.getTime() >= before);
      assert.match(stored.revision, /^[0-9a-f]{24}$/);
      const { precondition: _none, ...fields } = input;
      assert.deepEqual({ ...stored, revision: 'r', lastModified: 0 }, { ...fields, versionId: 'null', revision: 'r', lastModified: 0 });

      await t.reopen();
      const read = await t.store.getObject(B, 'docs/report.pdf');
      assert.deepEqual(read, stored);
      assert.deepEqual(await readObject(t.store, read!), data);
      // A sub-range is exactly those bytes.
      const slice = await readStream(await t.store.openPartRange(dataId, 65536, 65600));
      assert.deepEqual(slice, data.subarray(65536, 65600));
      assert.deepEqual(await readStream(await t.store.openPartRange(dataId, 5, 5)), Buffer.alloc(0));
    });

    it('stores an empty object as one empty part', async () => {
      const record = await putBytes(t.store, B, 'empty', Buffer.alloc(0));
      assert.equal(record.size, 0);
      assert.equal(record.parts.length, 1);
      assert.equal(await t.blobSize(record.parts[0]!.dataId), 0);
      assert.deepEqual(await readObject(t.store, (await t.store.getObject(B, 'empty'))!), Buffer.alloc(0));
    });

    it('returns undefined for a missing key and NoSuchBucket for a missing bucket', async () => {
      assert.equal(await t.store.getObject(B, 'never-written'), undefined);
      await rejectsWith(t.store.getObject('no-bucket', 'k'), 'NoSuchBucket');
    });

    it('overwrites: the new version is read, the old data file is removed after the commit', async () => {
      const first = await putBytes(t.store, B, 'over', Buffer.from('version one'));
      const firstFile = first.parts[0]!.dataId;
      assert.ok((await t.blobIds()).includes(firstFile));
      const second = await putBytes(t.store, B, 'over', Buffer.from('version two, longer'));
      assert.notEqual(second.revision, first.revision);
      await t.settle();
      assert.equal((await t.blobIds()).includes(firstFile), false);
      const read = (await t.store.getObject(B, 'over'))!;
      assert.deepEqual(await readObject(t.store, read), Buffer.from('version two, longer'));
    });

    it('keeps reading the version a stream opened even when the object is overwritten meanwhile', async () => {
      const old = randomBytes(200000);
      const first = await putBytes(t.store, B, 'racing', old);
      const stream = await t.store.openPartRange(first.parts[0]!.dataId, 0, old.length);
      await putBytes(t.store, B, 'racing', Buffer.from('new'));
      await t.settle();
      assert.equal((await t.blobIds()).includes(first.parts[0]!.dataId), false, 'old file unlinked');
      assert.deepEqual(await readStream(stream), old);
      await rejectsWith(t.store.openPartRange(first.parts[0]!.dataId, 0, 1), 'DataUnavailable', 'InternalError', 500);
    });

    it('refuses ranges beyond the data file and ids that are not data ids', async () => {
      const record = await putBytes(t.store, B, 'short', Buffer.from('0123456789'));
      await rejectsWith(t.store.openPartRange(record.parts[0]!.dataId, 0, 11), 'DataUnavailable');
      await rejectsWith(t.store.openPartRange('../../../etc/passwd', 0, 1), 'DataUnavailable');
      await assert.rejects(t.store.openPartRange(record.parts[0]!.dataId, 5, 4), RangeError);
    });

    it("a part reader reads the same bytes as the range stream, into the caller's buffer, read size by read size", async () => {
      const data = randomBytes(300_000);
      const record = await putBytes(t.store, B, 'pulled', data);
      const id = record.parts[0]!.dataId;
      const pullAll = async (start: number, end: number, size: number): Promise<Buffer> => {
        const reader = await t.store.openPartReader(id, start, end);
        const buf = Buffer.alloc(size);
        const got: Buffer[] = [];
        try {
          for (let n = await reader.read(buf); n > 0; n = await reader.read(buf)) got.push(Buffer.from(buf.subarray(0, n)));
        } finally {
          await reader.close();
        }
        return Buffer.concat(got);
      };
      for (const [start, end, size] of [
        [0, 300_000, 65568],
        [1, 299_999, 7777],
        [65536, 65600, 1_000_000],
        [5, 5, 16],
      ] as const) {
        assert.deepEqual(await pullAll(start, end, size), data.subarray(start, end), `[${start}, ${end}) in ${size}-byte reads`);
      }
      // It keeps reading the version it opened, like the stream.
      const reader = await t.store.openPartReader(id, 0, data.length);
      await putBytes(t.store, B, 'pulled', Buffer.from('new'));
      await t.settle();
      const buf = Buffer.alloc(data.length);
      // A read fills at most the buffer: as much as the store has at hand (a file, a socket's chunks).
      let got = 0;
      for (let n = await reader.read(buf); n > 0; n = await reader.read(buf.subarray(got))) got += n;
      assert.equal(got, data.length);
      assert.deepEqual(buf, data);
      assert.equal(await reader.read(buf), 0);
      await reader.close();
      await rejectsWith(t.store.openPartReader(id, 0, 1), 'DataUnavailable');
      await rejectsWith(t.store.openPartReader('../../../etc/passwd', 0, 1), 'DataUnavailable');
      await assert.rejects(t.store.openPartReader(id, 5, 4), RangeError);
    });

    it('deletes objects and their data; deleting a missing key reports false', async () => {
      const record = await putBytes(t.store, B, 'doomed', Buffer.from('bye'));
      assert.equal((await t.store.deleteObject(B, 'doomed')).deleted, true);
      assert.equal(await t.store.getObject(B, 'doomed'), undefined);
      await t.settle();
      assert.equal((await t.blobIds()).includes(record.parts[0]!.dataId), false);
      assert.equal((await t.store.deleteObject(B, 'doomed')).deleted, false);
    });

    it('deletes many objects in one call, reporting each key', async () => {
      const a = await putBytes(t.store, B, 'many/a', Buffer.from('a'));
      const b = await putBytes(t.store, B, 'many/b', [Buffer.from('b1'), Buffer.from('b2')]);
      const results = await t.store.deleteObjects(B, ['many/a', 'many/missing', 'many/b', 'many/a']);
      const v = { versioning: 'Unversioned' };
      assert.deepEqual(results, [
        { key: 'many/a', deleted: true, ...v },
        { key: 'many/missing', deleted: false, ...v },
        { key: 'many/b', deleted: true, ...v },
        { key: 'many/a', deleted: false, ...v },
      ]);
      await t.settle();
      const onDisk = await t.blobIds();
      for (const part of [...a.parts, ...b.parts]) assert.equal(onDisk.includes(part.dataId), false);
      await rejectsWith(t.store.deleteObjects('no-bucket', ['x']), 'NoSuchBucket');
    });

    it('checks write preconditions atomically and discards the refused data', async () => {
      const current = await putBytes(t.store, B, 'cond', Buffer.from('current'));
      const filesBefore = await t.blobIds();
      await rejectsWith(
        putBytes(t.store, B, 'cond', Buffer.from('clobber'), { precondition: { ifNoneMatch: '*' } }),
        'PreconditionFailed',
        'PreconditionFailed',
        412,
      );
      await rejectsWith(
        putBytes(t.store, B, 'cond', Buffer.from('clobber'), { precondition: { ifMatchEtag: '"0000"' } }),
        'PreconditionFailed',
      );
      await rejectsWith(
        putBytes(t.store, B, 'cond', Buffer.from('clobber'), { precondition: { ifRevision: 'stale' } }),
        'PreconditionFailed',
      );
      assert.deepEqual(await t.store.getObject(B, 'cond'), current);
      assert.deepEqual(await t.blobIds(), filesBefore, 'refused data removed, current data kept');

      const next = await putBytes(t.store, B, 'cond', Buffer.from('next'), {
        precondition: { ifMatchEtag: `"${current.etag}"`, ifRevision: current.revision },
      });
      assert.equal((await t.store.getObject(B, 'cond'))!.revision, next.revision);
      await putBytes(t.store, B, 'cond-new', Buffer.from('x'), { precondition: { ifNoneMatch: '*' } });
    });

    it('updates SSE fields by compare-and-swap on the revision', async () => {
      const record = await putBytes(t.store, B, 'rotate', Buffer.from('payload'));
      const rotatedSse = sseRecord({ sse: 'SSE-S3', iv: 'bmV3', sealedKey: 'bmV3a2V5', kmsKey: 'k2', kmsKeyVersion: '1' });
      const rotated = await t.store.updateObjectSSE(B, 'rotate', record.revision, rotatedSse);
      assert.deepEqual(rotated.sse, rotatedSse);
      assert.notEqual(rotated.revision, record.revision);
      assert.deepEqual(
        { ...rotated, sse: sseRecord(), revision: '' },
        { ...record, sse: sseRecord(), revision: '' },
        'only sse and revision change',
      );
      assert.deepEqual(await t.store.getObject(B, 'rotate'), rotated);
      assert.deepEqual(await readObject(t.store, rotated), Buffer.from('payload'));

      // A second rotation based on the stale revision is refused and changes nothing.
      await rejectsWith(
        t.store.updateObjectSSE(B, 'rotate', record.revision, sseRecord({ sealedKey: 'bG9zdA==' })),
        'PreconditionFailed',
        'PreconditionFailed',
        412,
      );
      assert.deepEqual(await t.store.getObject(B, 'rotate'), rotated);

      // An overwrite with identical bytes keeps the ETag but still defeats a rotation read before it.
      const overwritten = await putBytes(t.store, B, 'rotate', Buffer.from('payload'));
      assert.equal(overwritten.etag, rotated.etag);
      await rejectsWith(t.store.updateObjectSSE(B, 'rotate', rotated.revision, sseRecord({ sealedKey: 'bG9zdA==' })), 'PreconditionFailed');
      assert.deepEqual((await t.store.getObject(B, 'rotate'))!.sse, overwritten.sse);

      await rejectsWith(t.store.updateObjectSSE(B, 'gone', 'r', sseRecord()), 'NoSuchKey', 'NoSuchKey', 404);
      await rejectsWith(t.store.updateObjectSSE('no-bucket', 'k', 'r', sseRecord()), 'NoSuchBucket');
    });

    it('keeps odd keys as opaque strings and writes nothing outside its data directory', async () => {
      const keys = [
        '../../etc/passwd',
        '../../../../tmp/escape',
        '/abs/path',
        'a//b',
        'a/./b',
        'a/../b',
        '.',
        '..',
        '/',
        '\\windows\\system32',
        'C:\\x',
        'sp ace',
        'tab\tnew\nline',
        '%2e%2e%2f',
        '?query#frag',
        '*',
        '~',
        'naïve café',
        'ﬀ ligature',
        'e\u0301 combining',
        '\u202Eright-to-left',
        '日本語/キー',
        '😀/🎉',
        '\uFFFF',
        '\u{10FFFF}',
        '\uE000\uD7FF',
        'meta.db',
        'data/00/x',
        'tmp/x',
      ];
      const stored = new Map<string, ObjectRecord>();
      for (const [i, key] of keys.entries()) stored.set(key, await putBytes(t.store, B, key, Buffer.from(`value ${i}`)));
      await t.reopen();
      for (const [i, key] of keys.entries()) {
        const record = await t.store.getObject(B, key);
        assert.deepEqual(record, stored.get(key), `key ${JSON.stringify(key)}`);
        assert.deepEqual(await readObject(t.store, record!), Buffer.from(`value ${i}`));
      }
      const listed = await t.store.listObjects({ bucket: B, maxKeys: 1000 });
      for (const key of keys)
        assert.ok(
          listed.contents.some((o) => o.key === key),
          `listed ${JSON.stringify(key)}`,
        );

      // Every local file is one the layout names by itself (no key reaches a path), nothing beside them.
      for (const path of listFiles(t.base)) assert.match(path, t.localFiles, `unexpected file ${path}`);
    });

    it('refuses keys storage cannot keep exactly', async () => {
      await rejectsWith(putBytes(t.store, B, '', Buffer.from('x')), 'InvalidArgument', 'InvalidArgument', 400);
      await rejectsWith(putBytes(t.store, B, 'lone \uD800 surrogate', Buffer.from('x')), 'InvalidArgument');
      await rejectsWith(putBytes(t.store, B, 'k'.repeat(1025), Buffer.from('x')), 'KeyTooLong', 'KeyTooLongError', 400);
      await rejectsWith(putBytes(t.store, B, '€'.repeat(342), Buffer.from('x')), 'KeyTooLong'); // 1026 bytes
      const longest = await putBytes(t.store, B, '€'.repeat(341) + 'k', Buffer.from('x')); // 1024 bytes
      assert.equal(longest.key.length, 342);
      assert.deepEqual(await t.leftovers(), []);
    });

    it('discards an aborted writer, temp file or finished file alike', async () => {
      const writing = await t.store.createDataWriter(B);
      // Once the write is accepted, the store holds something of it (a temp file, an upstream upload).
      await new Promise<void>((resolve, reject) =>
        writing.stream.write(Buffer.alloc(t.leftoverBytes, 1), (err) => (err ? reject(err) : resolve())),
      );
      assert.deepEqual(await t.leftovers(), [writing.id]);
      await writing.abort();
      assert.deepEqual(await t.leftovers(), []);

      const { dataId } = await writeData(t.store, B, Buffer.from('finished'));
      assert.ok((await t.blobIds()).includes(dataId));
      // A failed putObject discards the data it was handed.
      await assert.rejects(
        t.store.putObject({
          bucket: B,
          key: 'bad-size',
          size: 8,
          etag: 'e',
          userMetadata: {},
          standardHeaders: {},
          sse: sseRecord(),
          parts: [{ number: 1, plainSize: 8, encSize: 9, etag: 'e', dataId }],
        }),
        /holds 8 bytes but its part says encSize 9/,
      );
      assert.equal((await t.blobIds()).includes(dataId), false);
      assert.equal(await t.store.getObject(B, 'bad-size'), undefined);
    });

    it('refuses data ids that are not finished writers of this store, without touching committed data', async () => {
      const committed = await putBytes(t.store, B, 'owner', Buffer.from('mine'));
      const part = committed.parts[0]!;
      await assert.rejects(
        t.store.putObject({
          bucket: B,
          key: 'thief',
          size: part.plainSize,
          etag: 'e',
          userMetadata: {},
          standardHeaders: {},
          sse: sseRecord(),
          parts: [part],
        }),
        /not a finished, uncommitted data writer/,
      );
      assert.ok((await t.blobIds()).includes(part.dataId), 'the committed file survives the refused reuse');
      assert.deepEqual(await readObject(t.store, (await t.store.getObject(B, 'owner'))!), Buffer.from('mine'));
      const writer = await t.store.createDataWriter(B);
      await writer.finish();
      await writer.abort();
      await assert.rejects(
        t.store.putObject({
          bucket: B,
          key: 'aborted',
          size: 0,
          etag: 'e',
          userMetadata: {},
          standardHeaders: {},
          sse: sseRecord(),
          parts: [{ number: 1, plainSize: 0, encSize: 0, etag: 'e', dataId: writer.id }],
        }),
        /not a finished/,
      );
    });

    it('keeps stats equal to a recount, and exactly the referenced data files on disk', async () => {
      await t.settle();
      const stats = await t.store.stats();
      const listed = await t.store.listObjects({ bucket: B, maxKeys: 10000 });
      let bytes = 0;
      let storedBytes = 0;
      const referenced: string[] = [];
      for (const summary of listed.contents) {
        const record = (await t.store.getObject(B, summary.key))!;
        bytes += record.size;
        storedBytes += record.parts.reduce((sum, p) => sum + p.encSize, 0);
        referenced.push(...record.parts.map((p) => p.dataId));
      }
      assert.equal(stats.buckets, 1);
      assert.equal(stats.objects, listed.contents.length);
      assert.equal(stats.bytes, bytes);
      assert.equal(stats.storedBytes, storedBytes);
      assert.deepEqual((await t.blobIds()).sort(), referenced.sort());
    });
  });
}
