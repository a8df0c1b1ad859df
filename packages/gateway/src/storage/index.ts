// The gateway's storage layer: the ObjectStore contract, its typed errors and the fs backend.
export * from './types.js';
export * from './errors.js';
export { compareKeys } from './key-order.js';
export { MAX_KEY_BYTES, MAX_PART_NUMBER } from './validation.js';
export { FsObjectStore } from './fs/fs-object-store.js';
export { openFsStore, type FsStoreOptions } from './fs/open-fs-store.js';
