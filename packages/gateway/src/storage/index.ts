// The gateway's storage layer: the ObjectStore contract, its typed errors, the backend-neutral object
// store over a metadata store and a blob store, and the factory that opens them from the config.
export * from './types.js';
export * from './errors.js';
export { compareKeys } from './key-order.js';
export { MAX_KEY_BYTES, MAX_PART_NUMBER } from './validation.js';
export { LayeredObjectStore, type BackendDescription, type BackendInfo, type RotationJobsHome } from './object-store.js';
export { openObjectStore, openFsStore, describeBackend, type OpenStoreOptions } from './open-store.js';
