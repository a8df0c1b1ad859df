// What a gateway's fs data directory holds after a crash, read with a fresh store (which sweeps at
// open, as the gateway does at startup): every data file referenced by an object or an upload part,
// every reference backed by a file of the recorded size, nothing left in tmp/.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { openFsStore, type SweepReport } from '../../src/storage/index.js';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

export interface DataDirCheck {
  /** What the open's sweep removed: the leftovers of the writes the crash cut short. */
  startupSweep: SweepReport;
  /** Object versions (one per object in an unversioned bucket). */
  objects: number;
  uploads: number;
}

/** Opens `root` with a fresh store, asserts it is consistent and free of orphans, and closes it. */
export async function checkDataDir(root: string): Promise<DataDirCheck> {
  const store = await openFsStore({ path: root });
  try {
    assert.deepEqual(filesUnder(join(root, 'tmp')), [], 'tmp/ is empty after the open');
    const onDisk = new Map(filesUnder(join(root, 'data')).map((f) => [basename(f), statSync(f).size]));
    const referenced: string[] = [];
    const reference = (what: string, dataId: string, encSize: number): void => {
      assert.equal(onDisk.get(dataId), encSize, `${what}: its data file ${dataId} exists with the recorded size`);
      referenced.push(dataId);
    };
    let objects = 0;
    let uploads = 0;
    for (const { name: bucket } of await store.listBuckets()) {
      // Every version (noncurrent ones too); delete markers have no data.
      const page = await store.listVersions({ bucket, maxKeys: 1000 });
      assert.equal(page.isTruncated, false);
      for (const { key, versionId, deleteMarker } of page.versions) {
        if (deleteMarker) continue;
        const { version } = await store.getVersion(bucket, key, versionId);
        assert.ok(version && !version.deleteMarker);
        for (const part of version.parts) reference(`${bucket}/${key} ${versionId} part ${part.number}`, part.dataId, part.encSize);
        objects++;
      }
      const pending = await store.listUploads({ bucket, maxUploads: 1000 });
      for (const upload of pending.uploads) {
        const ref = { bucket, key: upload.key, uploadId: upload.uploadId };
        for (const part of (await store.listParts(ref)).parts)
          reference(`upload ${upload.key} part ${part.number}`, part.dataId, part.encSize);
        uploads++;
      }
    }
    assert.deepEqual([...onDisk.keys()].sort(), referenced.sort(), 'every data file is referenced by an object or an upload part');
    assert.deepEqual(await store.sweep(), { tempFilesRemoved: 0, orphanDataFilesRemoved: 0, bytesReclaimed: 0, unknownFiles: 0 });
    return { startupSweep: store.startupSweep!, objects, uploads };
  } finally {
    await store.close();
  }
}
