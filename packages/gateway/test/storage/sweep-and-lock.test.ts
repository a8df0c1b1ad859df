// What a crash can leave behind, produced for real (a writer never finished, data never
// committed, a stray file) and cleaned by the sweep; and the one-process-per-directory lock.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openFsStore } from '../../src/storage/index.js';
import {
  dataFileIds,
  openEmbeddedStore,
  putBytes,
  readObject,
  rejectsWith,
  tmpFiles,
  writeData,
  type EmbeddedTempStore,
} from './helpers.js';
import { sseRecord } from './fixtures/sse-records.js';

const B = 'sweep';

describe('embedded store: sweep and lock', () => {
  let t: EmbeddedTempStore;
  before(async () => {
    t = await openEmbeddedStore();
    await t.store.createBucket(B);
  });
  after(async () => t.cleanup());

  it('removes, at open, a temp file whose writer never finished', async () => {
    const writer = await t.store.createDataWriter(B);
    writer.stream.write(Buffer.alloc(5000, 1));
    await new Promise((resolve) => writer.stream.once('ready', resolve));
    assert.deepEqual(tmpFiles(t.root), [writer.id]);
    await t.reopen();
    assert.deepEqual(tmpFiles(t.root), []);
    assert.equal(t.store.startupSweep?.tempFilesRemoved, 1);
    writer.stream.destroy();
  });

  it('removes, at open, data that was finished but never committed', async () => {
    const kept = await putBytes(t.store, B, 'kept', Buffer.from('committed'));
    const { dataId } = await writeData(t.store, B, Buffer.from('never committed'));
    assert.ok(dataFileIds(t.root).includes(dataId));
    await t.reopen();
    assert.equal(dataFileIds(t.root).includes(dataId), false);
    assert.equal(t.store.startupSweep?.orphanDataFilesRemoved, 1);
    assert.equal(t.store.startupSweep?.bytesReclaimed, 'never committed'.length);
    assert.deepEqual(await readObject(t.store, (await t.store.getObject(B, 'kept'))!), Buffer.from('committed'));
    assert.deepEqual(
      dataFileIds(t.root),
      kept.parts.map((p) => p.dataId),
    );
  });

  it('removes unreferenced files under data names and leaves foreign files alone', async () => {
    const planted = `ab${'0'.repeat(30)}`;
    writeFileSync(join(t.root, 'data', 'ab', planted), 'stray');
    writeFileSync(join(t.root, 'data', 'ab', 'README'), 'not ours');
    writeFileSync(join(t.root, 'data', 'cd', planted), 'wrong shard');
    mkdirSync(join(t.root, 'tmp', 'leftover-dir'));
    const report = await t.store.sweep();
    assert.deepEqual(report, { tempFilesRemoved: 1, orphanDataFilesRemoved: 1, bytesReclaimed: 5, unknownFiles: 2 });
    assert.equal(existsSync(join(t.root, 'data', 'ab', planted)), false);
    assert.ok(existsSync(join(t.root, 'data', 'ab', 'README')));
    assert.deepEqual(tmpFiles(t.root), []);
  });

  it('spares data in flight and everything referenced when it runs while serving', async () => {
    const upload = await t.store.createUpload({ bucket: B, key: 'mp', sse: sseRecord(), userMetadata: {}, standardHeaders: {} });
    const part = await writeData(t.store, B, Buffer.from('part data'));
    await t.store.putPart(upload, 1, part.dataId, { plainSize: 9, encSize: part.encSize, etag: 'e' });
    const finished = await writeData(t.store, B, Buffer.from('finished, not yet committed'));
    const writing = await t.store.createDataWriter(B);
    writing.stream.write(Buffer.from('still '));
    await new Promise((resolve) => writing.stream.once('ready', resolve));

    const report = await t.store.sweep();
    assert.equal(report.tempFilesRemoved + report.orphanDataFilesRemoved, 0);

    writing.stream.end(Buffer.from('writing'));
    const size = await writing.finish();
    await t.store.putObject({
      bucket: B,
      key: 'late',
      size,
      etag: 'e',
      userMetadata: {},
      standardHeaders: {},
      sse: sseRecord(),
      parts: [{ number: 1, plainSize: size, encSize: size, etag: 'e', dataId: writing.id }],
    });
    await t.store.putObject({
      bucket: B,
      key: 'later',
      size: finished.encSize,
      etag: 'e',
      userMetadata: {},
      standardHeaders: {},
      sse: sseRecord(),
      parts: [{ number: 1, plainSize: finished.encSize, encSize: finished.encSize, etag: 'e', dataId: finished.dataId }],
    });
    await t.reopen();
    assert.deepEqual(t.store.startupSweep, { tempFilesRemoved: 0, orphanDataFilesRemoved: 0, bytesReclaimed: 0, unknownFiles: 2 });
    assert.deepEqual(await readObject(t.store, (await t.store.getObject(B, 'late'))!), Buffer.from('still writing'));
    assert.deepEqual(await readObject(t.store, (await t.store.getObject(B, 'later'))!), Buffer.from('finished, not yet committed'));
    assert.deepEqual(
      (await t.store.listParts(upload)).parts.map((p) => p.dataId),
      [part.dataId],
    );
    assert.ok(dataFileIds(t.root).includes(part.dataId));
  });

  it('lets one store at a time hold a data directory', async () => {
    const err = await rejectsWith(openFsStore({ path: t.root }), 'DataDirInUse');
    assert.match(err.message, /in use by another kesgate process/);
    // The refused open changed nothing: the holder still works.
    assert.ok(await t.store.getObject(B, 'kept'));
    await t.store.close();
    await rejectsWith(t.store.listBuckets(), 'Error');
    const next = await openFsStore({ path: t.root });
    assert.deepEqual(
      (await next.listBuckets()).map((b) => b.name),
      [B],
    );
    t.store = next;
  });
});
