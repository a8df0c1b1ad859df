// Small objects inline, on every layout: a single-part object whose stored bytes are at most the inline
// threshold lives in its metadata row (no blob is written, and none is left behind), reads whole and by
// range, survives a reopen and a sweep, is replaced by and replaces objects in blobs (whose blobs are then
// reclaimed), keeps its bytes through an SSE-only update (rotation), and is one version among others in a
// versioned bucket; multipart parts are never inline, however small.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { layouts, md5, putBytes, readObject, readStream, rejectsWith, writeData, type TempStore } from './helpers.js';
import { sseRecord } from './fixtures/sse-records.js';

const B = 'inline';
/** A small threshold, so blobs just above it stay cheap. */
const THRESHOLD = 1000;

for (const layout of layouts) {
  describe(`${layout.name} store: small objects inline`, { skip: layout.skip }, () => {
    let t: TempStore;
    before(async () => {
      t = await layout.open({ inlineThreshold: THRESHOLD });
      await t.store.createBucket(B);
    });
    after(async () => t?.cleanup());

    it('keeps an object of at most the threshold in its row: no blob, reads whole and by range, after a reopen and a sweep', async () => {
      const blobsBefore = await t.blobIds();
      const small = randomBytes(THRESHOLD);
      const record = await putBytes(t.store, B, 'small', small);
      assert.equal(record.parts.length, 1);
      assert.ok(record.parts[0]!.inline?.equals(small), 'the record holds the bytes');
      assert.match(record.parts[0]!.dataId, /^inline-[0-9a-f]{32}$/);
      assert.deepEqual(await t.blobIds(), blobsBefore, 'no blob was written');
      assert.deepEqual(await t.leftovers(), [], 'nothing half-written either');

      await t.reopen();
      const read = (await t.store.getObject(B, 'small'))!;
      assert.deepEqual(read, record);
      assert.ok((await readObject(t.store, read)).equals(small));
      assert.ok((await readStream(await t.store.openPartRange(read.parts[0]!, 10, 20))).equals(small.subarray(10, 20)));
      const reader = await t.store.openPartReader(read.parts[0]!, 100, 700);
      const into = Buffer.alloc(256);
      const got: Buffer[] = [];
      for (let n = await reader.read(into); n > 0; n = await reader.read(into)) got.push(Buffer.from(into.subarray(0, n)));
      await reader.close();
      assert.ok(Buffer.concat(got).equals(small.subarray(100, 700)));
      await rejectsWith(t.store.openPartRange(read.parts[0]!, 0, THRESHOLD + 1), 'DataUnavailable', 'InternalError', 500);

      const swept = await t.store.sweep();
      assert.equal(swept.orphanDataFilesRemoved, 0);
      assert.ok((await readObject(t.store, (await t.store.getObject(B, 'small'))!)).equals(small), 'the sweep leaves it alone');
      const stats = await t.store.stats();
      assert.ok(stats.objects >= 1);
    });

    it('puts one byte over the threshold in a blob, and an empty object inline', async () => {
      const big = randomBytes(THRESHOLD + 1);
      const record = await putBytes(t.store, B, 'over', big);
      assert.equal(record.parts[0]!.inline, undefined);
      assert.equal(await t.blobSize(record.parts[0]!.dataId), THRESHOLD + 1);
      assert.ok((await readObject(t.store, record)).equals(big));

      const empty = await putBytes(t.store, B, 'empty', Buffer.alloc(0));
      assert.equal(empty.parts[0]!.inline?.length, 0);
      assert.deepEqual(await readObject(t.store, (await t.store.getObject(B, 'empty'))!), Buffer.alloc(0));
    });

    it('overwrites inline ↔ blob: every read is the latest, and the replaced blob is reclaimed', async () => {
      const a = randomBytes(10);
      const b = randomBytes(5000);
      const c = randomBytes(500);
      await putBytes(t.store, B, 'flip', a);
      const inBlob = await putBytes(t.store, B, 'flip', b);
      const blobId = inBlob.parts[0]!.dataId;
      assert.ok((await t.blobIds()).includes(blobId));
      assert.ok((await readObject(t.store, (await t.store.getObject(B, 'flip'))!)).equals(b));
      const back = await putBytes(t.store, B, 'flip', c);
      assert.ok(back.parts[0]!.inline);
      await t.settle();
      assert.equal((await t.blobIds()).includes(blobId), false, 'the blob of the replaced version is reclaimed');
      assert.ok((await readObject(t.store, (await t.store.getObject(B, 'flip'))!)).equals(c));
      // Deleting an inline object reclaims nothing and leaves nothing.
      const blobs = (await t.blobIds()).sort();
      assert.equal((await t.store.deleteObject(B, 'flip')).deleted, true);
      await t.settle();
      assert.equal(await t.store.getObject(B, 'flip'), undefined);
      assert.deepEqual((await t.blobIds()).sort(), blobs);
    });

    it('keeps each version inline or in a blob in a versioned bucket, and removes them by id', async () => {
      await t.store.createBucket('inline-v');
      await t.store.putBucketVersioning('inline-v', 'Enabled');
      const v1 = await putBytes(t.store, 'inline-v', 'k', Buffer.from('one'));
      const v2 = await putBytes(t.store, 'inline-v', 'k', randomBytes(3000));
      const v3 = await putBytes(t.store, 'inline-v', 'k', Buffer.from('three'));
      assert.ok(v1.parts[0]!.inline && v3.parts[0]!.inline && !v2.parts[0]!.inline);
      for (const [v, want] of [
        [v1, 'one'],
        [v3, 'three'],
      ] as const) {
        const got = (await t.store.getVersion('inline-v', 'k', v.versionId)).version;
        assert.ok(got && !got.deleteMarker);
        assert.equal((await readObject(t.store, got)).toString(), want);
      }
      await t.store.deleteObject('inline-v', 'k'); // a delete marker
      await t.store.deleteObject('inline-v', 'k', v1.versionId);
      await t.store.deleteObject('inline-v', 'k', v2.versionId);
      await t.settle();
      assert.equal((await t.blobIds()).includes(v2.parts[0]!.dataId), false);
      const left = (await t.store.listVersions({ bucket: 'inline-v' })).versions.filter((v) => !v.deleteMarker);
      assert.deepEqual(
        left.map((v) => v.versionId),
        [v3.versionId],
      );
      const kept = (await t.store.getVersion('inline-v', 'k', v3.versionId)).version;
      assert.ok(kept && !kept.deleteMarker);
      assert.equal((await readObject(t.store, kept)).toString(), 'three');
    });

    it('changes only the SSE fields of an inline object (rotation), its bytes untouched', async () => {
      const data = randomBytes(200);
      const record = await putBytes(t.store, B, 'rotate', data);
      const updated = await t.store.updateObjectSSE(B, 'rotate', record.revision, sseRecord({ sse: 'SSE-KMS', kmsKey: 'new' }));
      assert.deepEqual(updated.sse, sseRecord({ sse: 'SSE-KMS', kmsKey: 'new' }));
      const read = (await t.store.getObject(B, 'rotate'))!;
      assert.ok(read.parts[0]!.inline);
      assert.ok((await readObject(t.store, read)).equals(data));
      assert.deepEqual(await t.store.keyDependents('new'), [{ bucket: B, objects: 1, versions: 1, uploads: 0 }]);
    });

    it('never keeps a multipart part inline, however small', async () => {
      const upload = await t.store.createUpload({
        bucket: B,
        key: 'mp',
        userMetadata: {},
        standardHeaders: {},
        sse: sseRecord({ sse: 'SSE-S3' }),
      });
      const parts = [randomBytes(100), randomBytes(50)];
      for (const [i, data] of parts.entries()) {
        const { dataId, encSize } = await writeData(t.store, B, data);
        const part = await t.store.putPart(upload, i + 1, dataId, { plainSize: data.length, encSize, etag: md5(data) });
        assert.equal(part.inline, undefined);
        assert.equal(await t.blobSize(part.dataId), data.length, 'the part is a blob');
      }
      const listed = await t.store.listParts(upload);
      for (const part of listed.parts) assert.ok((await t.blobIds()).includes(part.dataId));
      const record = await t.store.completeUpload(upload, [{ number: 1 }, { number: 2 }], { etag: 'mp-2' });
      assert.deepEqual(
        record.parts.map((p) => p.inline),
        [undefined, undefined],
      );
      assert.ok((await readObject(t.store, (await t.store.getObject(B, 'mp'))!)).equals(Buffer.concat(parts)));
      // A two-part put of small data gets blobs too.
      const two = await putBytes(t.store, B, 'two', [randomBytes(10), randomBytes(10)]);
      for (const part of two.parts) assert.equal(part.inline, undefined);
      assert.equal(
        (await t.store.getObject(B, 'two'))!.parts.every((p) => p.inline === undefined),
        true,
      );
    });

    it('a writer that outgrows memory keeps its id; refused and aborted writes leave no blob', async () => {
      const blobs = (await t.blobIds()).sort();
      // Written in small chunks past the threshold, the id read before finish(), as some callers do.
      const writer = await t.store.createDataWriter(B);
      const id = writer.id;
      const data = randomBytes(THRESHOLD * 3);
      const chunks = Array.from({ length: 30 }, (_, i) => data.subarray(i * 100, (i + 1) * 100));
      await pipeline(Readable.from(chunks), writer.stream);
      const encSize = await writer.finish();
      assert.equal(writer.id, id);
      const record = await t.store.putObject({
        bucket: B,
        key: 'grown',
        size: data.length,
        etag: md5(data),
        userMetadata: {},
        standardHeaders: {},
        sse: sseRecord(),
        parts: [{ number: 1, plainSize: data.length, encSize, etag: md5(data), dataId: id }],
      });
      assert.equal(record.parts[0]!.inline, undefined);
      assert.notEqual(record.parts[0]!.dataId, id, "the committed id is the blob's");
      assert.ok((await readObject(t.store, record)).equals(data));

      // A refused put (precondition) of small and of grown data: nothing stays.
      for (const size of [10, THRESHOLD * 2]) {
        const d = randomBytes(size);
        const w = await writeData(t.store, B, d);
        await rejectsWith(
          t.store.putObject({
            bucket: B,
            key: 'grown',
            size,
            etag: 'e',
            userMetadata: {},
            standardHeaders: {},
            sse: sseRecord(),
            parts: [{ number: 1, plainSize: size, encSize: w.encSize, etag: 'e', dataId: w.dataId }],
            precondition: { ifNoneMatch: '*' },
          }),
          'PreconditionFailed',
        );
      }
      // An aborted writer that had outgrown memory.
      const aborted = await t.store.createDataWriter(B);
      aborted.stream.write(randomBytes(THRESHOLD * 2));
      await new Promise((resolve) => setImmediate(resolve));
      await aborted.abort();
      await t.settle();
      assert.deepEqual((await t.blobIds()).sort(), [...blobs, record.parts[0]!.dataId].sort());
      assert.deepEqual(await t.leftovers(), []);
      // Aborted while the blob it outgrew into was still being opened (a request body that failed at once):
      // the blob that arrives after the abort is discarded too, no temp file left.
      const racing = await t.store.createDataWriter(B);
      racing.stream.on('error', () => {});
      racing.stream.write(randomBytes(THRESHOLD * 2));
      await racing.abort();
      await t.settle();
      assert.deepEqual((await t.blobIds()).sort(), [...blobs, record.parts[0]!.dataId].sort());
      assert.deepEqual(await t.leftovers(), [], 'no temp file of the blob opened during the abort');
    });
  });
}
