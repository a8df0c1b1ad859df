// The fs blob store: blobs as files in a directory.
import { FsBlobStore, type FsBlobStoreOptions } from './fs-blob-store.js';

export { FsBlobStore, type FsBlobStoreOptions };

/** Opens (creating if needed) a blob directory. */
export async function openFsBlobStore(options: FsBlobStoreOptions): Promise<FsBlobStore> {
  return new FsBlobStore(options).open();
}
