// Reclaiming superseded blobs after a grace period (the policy for blob stores whose readers fetch a
// blob some time after reading the object's metadata, as s3 does): the old version's blobs stay readable
// after an overwrite or a delete, go once the grace period is over, and — when the process stops first —
// are left as orphans that the next sweep removes. Real SQLite and fs stores under it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { openFsBlobStore } from '../../src/storage/blobs/fs/index.js';
import { openSqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { LayeredObjectStore } from '../../src/storage/object-store.js';
import { ReclaimAfterGrace } from '../../src/storage/reclaim.js';
import { describeBackend, openFsStore } from '../../src/storage/index.js';
import { putBytes, readObject, readStream } from './helpers.js';

async function openGraceful(root: string, graceMs: number): Promise<LayeredObjectStore> {
  const metadata = await openSqliteMetadataStore({ path: join(root, 'meta.db') });
  const blobs = await openFsBlobStore({ path: root });
  return new LayeredObjectStore({
    metadata,
    blobs,
    reclaim: new ReclaimAfterGrace(blobs, graceMs),
    orphanMinAgeMs: undefined,
    description: describeBackend({ fs: { path: root } }),
    rotationJobs: { sqlite: join(root, 'rotation.db') },
  });
}

async function blobIds(store: LayeredObjectStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const blob of store.blobs.list()) ids.push(blob.id);
  return ids;
}

describe('reclaiming superseded blobs after a grace period', () => {
  const base = mkdtempSync(join(tmpdir(), 'kesgate-reclaim-'));
  after(() => rmSync(base, { recursive: true, force: true }));

  it('keeps the old version readable during the grace period; a stop leaves it to the next sweep', async () => {
    const root = join(base, 'long');
    const store = await openGraceful(root, 60 * 60_000);
    await store.createBucket('b');
    const first = await putBytes(store, 'b', 'k', Buffer.from('version one'));
    const second = await putBytes(store, 'b', 'k', Buffer.from('version two'));
    const other = await putBytes(store, 'b', 'gone', Buffer.from('deleted'));
    await store.deleteObject('b', 'gone');
    // A GET that read the first version's metadata before the overwrite opens its blob only now.
    assert.deepEqual(
      await readStream(await store.openPartRange(first.parts[0]!.dataId, 0, first.parts[0]!.encSize)),
      Buffer.from('version one'),
    );
    assert.deepEqual(await readObject(store, other), Buffer.from('deleted'));
    assert.deepEqual((await blobIds(store)).sort(), [first, second, other].map((r) => r.parts[0]!.dataId).sort());
    await store.close();

    const reopened = await openFsStore({ path: root });
    try {
      assert.equal(reopened.startupSweep?.orphanDataFilesRemoved, 2, 'the blobs still waiting when the store closed');
      assert.deepEqual(await blobIds(reopened), [second.parts[0]!.dataId]);
      assert.deepEqual(await readObject(reopened, (await reopened.getObject('b', 'k'))!), Buffer.from('version two'));
    } finally {
      await reopened.close();
    }
  });

  it('removes the old version once the grace period is over', async () => {
    const store = await openGraceful(join(base, 'short'), 20);
    try {
      await store.createBucket('b');
      const first = await putBytes(store, 'b', 'k', Buffer.from('version one'));
      const second = await putBytes(store, 'b', 'k', Buffer.from('version two'));
      const old = first.parts[0]!.dataId;
      for (let waited = 0; (await blobIds(store)).includes(old); waited += 10) {
        assert.ok(waited < 10_000, 'the superseded blob was never removed');
        await sleep(10);
      }
      assert.deepEqual(await blobIds(store), [second.parts[0]!.dataId]);
      assert.deepEqual(await readObject(store, (await store.getObject('b', 'k'))!), Buffer.from('version two'));
    } finally {
      await store.close();
    }
  });
});
