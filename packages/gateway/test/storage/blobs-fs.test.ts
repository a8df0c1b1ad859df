// The blob store contract against the fs blob store, on a real directory per test.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFsBlobStore } from '../../src/storage/blobs/fs/index.js';
import { describeBlobStore } from './contract/blob-contract.js';

describeBlobStore('fs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-blobs-fs-'));
  const store = await openFsBlobStore({ path: dir });
  return {
    store,
    // A writer that died mid-blob leaves its temp file in tmp/ (named by its id, as the writer names it).
    async leaveLeftover() {
      writeFileSync(join(store.layout.tmpDir, randomBytes(16).toString('hex')), randomBytes(100));
    },
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
