import { Layout } from './layout.js';
import { openMetaDb } from '../metadata/sqlite/database.js';
import { FsObjectStore } from './fs-object-store.js';

export interface FsStoreOptions {
  /** The data directory; created if missing. */
  path: string;
}

/**
 * Opens (creating if needed) an fs data directory and sweeps what a crash may have left behind.
 * Throws DataDirInUse when another process — or another open store in this one — holds it.
 */
export async function openFsStore(options: FsStoreOptions): Promise<FsObjectStore> {
  const layout = new Layout(options.path);
  layout.create();
  const db = openMetaDb(layout.metaDb, layout.root);
  layout.syncRoot();
  const store = new FsObjectStore(layout, db);
  try {
    store.startupSweep = await store.sweep();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
