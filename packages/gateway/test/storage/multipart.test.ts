import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { UploadRecord, UploadRef } from '../../src/storage/index.js';
import { md5, layouts, putBytes, readObject, rejectsWith, writeData, type TempStore } from './helpers.js';
import { sseRecord } from './fixtures/sse-records.js';

const B = 'mp';

/** The id with its last hex digit changed: another, unknown upload id (never the same one). */
const otherId = (id: string): string => `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}`;

for (const layout of layouts) {
  describe(`${layout.name} store: multipart uploads`, { skip: layout.skip }, () => {
    let t: TempStore;
    before(async () => {
      t = await layout.open();
      await t.store.createBucket(B);
    });
    after(async () => t.cleanup());

    async function newUpload(key: string): Promise<UploadRecord> {
      return t.store.createUpload({
        bucket: B,
        key,
        sse: sseRecord({ sse: 'SSE-C', iv: 'aXY=', sseCKeyMD5: 'bWQ1' }),
        contentType: 'video/mp4',
        userMetadata: { camera: 'front' },
        standardHeaders: { 'cache-control': 'no-store' },
        checksumAlgorithm: 'SHA256',
        checksumType: 'COMPOSITE',
      });
    }

    async function uploadPart(ref: UploadRef, number: number, data: Buffer) {
      const { dataId, encSize } = await writeData(t.store, ref.bucket, data);
      return t.store.putPart(ref, number, dataId, { plainSize: data.length, encSize, etag: md5(data), extra: { n: number } });
    }

    it('creates an upload that reads back with its metadata', async () => {
      const upload = await newUpload('video.mp4');
      assert.match(upload.uploadId, /^[0-9a-f]{44}$/);
      assert.deepEqual(await t.store.getUpload(upload), upload);
      await t.reopen();
      assert.deepEqual(await t.store.getUpload(upload), upload);
      await rejectsWith(t.store.getUpload({ ...upload, key: 'other' }), 'NoSuchUpload', 'NoSuchUpload', 404);
      await rejectsWith(t.store.getUpload({ ...upload, uploadId: otherId(upload.uploadId) }), 'NoSuchUpload');
      await rejectsWith(
        t.store.createUpload({ bucket: 'nope', key: 'k', sse: sseRecord(), userMetadata: {}, standardHeaders: {} }),
        'NoSuchBucket',
      );
      await t.store.abortUpload(upload);
      await rejectsWith(t.store.getUpload(upload), 'NoSuchUpload');
    });

    it("replaces an upload's SSE fields only if they are still the ones read (rotation); completing then uses the new ones", async () => {
      const upload = await newUpload('rotated');
      const part = await uploadPart(upload, 1, randomBytes(1000));
      const rotated = sseRecord({ sse: 'SSE-KMS', kmsKey: 'key-b', kmsCiphertext: 'Yg==' });
      const stale = sseRecord({ sse: 'SSE-KMS', kmsKey: 'key-a', kmsCiphertext: 'YQ==' });
      await rejectsWith(t.store.updateUploadSSE(upload, stale, rotated), 'PreconditionFailed');
      assert.deepEqual((await t.store.getUpload(upload)).sse, upload.sse, 'a stale compare changes nothing');
      await rejectsWith(t.store.updateUploadSSE({ ...upload, uploadId: otherId(upload.uploadId) }, upload.sse, rotated), 'NoSuchUpload');
      await t.store.updateUploadSSE(upload, upload.sse, rotated);
      const read = await t.store.getUpload(upload);
      assert.deepEqual(read, { ...upload, sse: rotated }, 'only the SSE fields changed');
      const record = await t.store.completeUpload(upload, [{ number: 1, etag: part.etag }], { etag: 'e-1' });
      assert.deepEqual(record.sse, rotated);
    });

    it('completes from chosen parts: the object has their data, unchosen data and the upload are gone', async () => {
      const upload = await newUpload('movie');
      const data = [randomBytes(40000), randomBytes(30000), randomBytes(20000), randomBytes(1000)];
      const parts = [];
      for (const [i, d] of data.entries()) parts.push(await uploadPart(upload, i + 1, d));
      const listed = await t.store.listParts(upload);
      assert.deepEqual(
        listed.parts.map((p) => [p.number, p.plainSize, p.etag, p.extra]),
        data.map((d, i) => [i + 1, d.length, md5(d), { n: i + 1 }]),
      );

      const record = await t.store.completeUpload(
        upload,
        [{ number: 1, etag: `"${parts[0]!.etag}"` }, { number: 2 }, { number: 4, etag: parts[3]!.etag }],
        { etag: 'final-3' },
      );
      assert.equal(record.size, 40000 + 30000 + 1000);
      assert.deepEqual(
        record.parts.map((p) => p.number),
        [1, 2, 4],
      );
      assert.deepEqual(
        record.parts.map((p) => p.extra),
        [{ n: 1 }, { n: 2 }, { n: 4 }],
      );
      assert.equal(record.contentType, 'video/mp4');
      assert.deepEqual(record.userMetadata, { camera: 'front' });
      assert.deepEqual(record.sse, upload.sse);
      assert.deepEqual(await t.store.getObject(B, 'movie'), record);
      assert.deepEqual(await readObject(t.store, record), Buffer.concat([data[0]!, data[1]!, data[3]!]));
      await t.settle();
      assert.equal((await t.blobIds()).includes(parts[2]!.dataId), false, 'unchosen part 3 removed');
      await rejectsWith(t.store.getUpload(upload), 'NoSuchUpload');
      await rejectsWith(t.store.listParts(upload), 'NoSuchUpload');
      assert.equal((await t.store.stats()).uploads, 0);
    });

    it('replaces a re-uploaded part and removes the old data', async () => {
      const upload = await newUpload('redo');
      const first = await uploadPart(upload, 1, Buffer.from('first attempt'));
      const second = await uploadPart(upload, 1, Buffer.from('second attempt!'));
      await t.settle();
      assert.equal((await t.blobIds()).includes(first.dataId), false);
      assert.ok((await t.blobIds()).includes(second.dataId));
      const listed = await t.store.listParts(upload);
      assert.deepEqual(
        listed.parts.map((p) => p.dataId),
        [second.dataId],
      );
      await rejectsWith(t.store.completeUpload(upload, [{ number: 1, etag: first.etag }], { etag: 'x' }), 'InvalidPart');
      const record = await t.store.completeUpload(upload, [{ number: 1, etag: second.etag }], { etag: 'x' });
      assert.deepEqual(await readObject(t.store, record), Buffer.from('second attempt!'));
    });

    it('refuses bad completions and changes nothing', async () => {
      const previous = await putBytes(t.store, B, 'keep', Buffer.from('previous version'));
      const upload = await newUpload('keep');
      const p1 = await uploadPart(upload, 1, Buffer.from('one'));
      const p2 = await uploadPart(upload, 2, Buffer.from('two'));
      const filesBefore = (await t.blobIds()).sort();
      await rejectsWith(t.store.completeUpload(upload, [{ number: 1 }, { number: 3 }], { etag: 'x' }), 'InvalidPart', 'InvalidPart', 400);
      await rejectsWith(t.store.completeUpload(upload, [{ number: 1, etag: 'wrong' }], { etag: 'x' }), 'InvalidPart');
      await rejectsWith(
        t.store.completeUpload(upload, [{ number: 2 }, { number: 1 }], { etag: 'x' }),
        'InvalidPartOrder',
        'InvalidPartOrder',
        400,
      );
      await rejectsWith(t.store.completeUpload(upload, [{ number: 1 }, { number: 1 }], { etag: 'x' }), 'InvalidPartOrder');
      await rejectsWith(t.store.completeUpload(upload, [], { etag: 'x' }), 'InvalidPart');
      await rejectsWith(
        t.store.completeUpload(upload, [{ number: 1 }], { etag: 'x', precondition: { ifNoneMatch: '*' } }),
        'PreconditionFailed',
      );
      await rejectsWith(t.store.completeUpload({ ...upload, key: 'elsewhere' }, [{ number: 1 }], { etag: 'x' }), 'NoSuchUpload');
      assert.deepEqual(await t.store.getObject(B, 'keep'), previous);
      assert.deepEqual(
        (await t.store.listParts(upload)).parts.map((p) => p.dataId),
        [p1.dataId, p2.dataId],
      );
      assert.deepEqual((await t.blobIds()).sort(), filesBefore);

      // Completing over the previous version removes its data.
      const record = await t.store.completeUpload(upload, [{ number: 1 }, { number: 2 }], {
        etag: 'y',
        precondition: { ifRevision: previous.revision },
      });
      assert.deepEqual(await readObject(t.store, record), Buffer.from('onetwo'));
      await t.settle();
      assert.equal((await t.blobIds()).includes(previous.parts[0]!.dataId), false);
    });

    it('aborts: all part data removed; later calls and late parts are NoSuchUpload', async () => {
      const upload = await newUpload('abandoned');
      const parts = [await uploadPart(upload, 1, randomBytes(5000)), await uploadPart(upload, 7, randomBytes(100))];
      await t.store.abortUpload(upload);
      await t.settle();
      for (const part of parts) assert.equal((await t.blobIds()).includes(part.dataId), false);
      await rejectsWith(t.store.abortUpload(upload), 'NoSuchUpload');
      await rejectsWith(t.store.completeUpload(upload, [{ number: 1 }], { etag: 'x' }), 'NoSuchUpload');
      const late = await writeData(t.store, B, Buffer.from('late part'));
      await rejectsWith(t.store.putPart(upload, 2, late.dataId, { plainSize: 9, encSize: late.encSize, etag: 'e' }), 'NoSuchUpload');
      assert.equal((await t.blobIds()).includes(late.dataId), false, 'the refused part data is removed');
      await rejectsWith(t.store.abortUpload({ bucket: 'nope', key: 'k', uploadId: upload.uploadId }), 'NoSuchBucket');
    });

    it('checks part numbers and pages ListParts', async () => {
      const upload = await newUpload('numbers');
      for (const bad of [0, 10001, 1.5]) {
        const { dataId, encSize } = await writeData(t.store, B, Buffer.from('x'));
        await rejectsWith(t.store.putPart(upload, bad, dataId, { plainSize: 1, encSize, etag: 'e' }), 'InvalidArgument');
        assert.equal((await t.blobIds()).includes(dataId), false);
      }
      for (const n of [1, 3, 10000, 5, 2]) await uploadPart(upload, n, Buffer.from(`part ${n}`));
      const numbers: number[] = [];
      let marker = 0;
      for (;;) {
        const page = await t.store.listParts(upload, { partNumberMarker: marker, maxParts: 2 });
        assert.ok(page.parts.length <= 2);
        numbers.push(...page.parts.map((p) => p.number));
        if (!page.isTruncated) break;
        marker = page.nextPartNumberMarker!;
      }
      assert.deepEqual(numbers, [1, 2, 3, 5, 10000]);
      assert.deepEqual(await t.store.listParts(upload, { maxParts: 0 }), { parts: [], isTruncated: false });
    });

    it('keeps upload part bytes in stats until they become object bytes', async () => {
      const before = await t.store.stats();
      const upload = await newUpload('counted');
      await uploadPart(upload, 1, Buffer.alloc(3000));
      const during = await t.store.stats();
      assert.equal(during.uploads, before.uploads + 1);
      assert.equal(during.uploadStoredBytes, before.uploadStoredBytes + 3000);
      assert.equal(during.storedBytes, before.storedBytes);
      await t.store.completeUpload(upload, [{ number: 1 }], { etag: 'x' });
      const afterwards = await t.store.stats();
      assert.equal(afterwards.uploadStoredBytes, before.uploadStoredBytes);
      assert.equal(afterwards.storedBytes, before.storedBytes + 3000);
      assert.equal(afterwards.objects, before.objects + 1);
    });
  });
}
