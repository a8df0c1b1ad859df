// The metadata store contract against the embedded SQLite store, on a real file in a temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { describeCoordination } from './contract/coordination-contract.js';
import { describeMetadataStore } from './contract/metadata-contract.js';

async function open() {
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-meta-sqlite-'));
  const store = await openSqliteMetadataStore({ path: join(dir, 'meta.db') });
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeMetadataStore('sqlite', open);
// One process holds the file (its lock): no peer store.
describeCoordination('sqlite', open);
