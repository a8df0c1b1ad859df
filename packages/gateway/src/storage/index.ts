// The gateway's storage layer: the ObjectStore contract, its typed errors, the backend-neutral object
// store over a metadata store and a blob store, and the factory that opens them from the config.
export * from './types.js';
export * from './errors.js';
export { LayeredObjectStore, type BackendDescription } from './object-store.js';
export { openObjectStore, openFsStore, describeBackend, type OpenStoreOptions } from './open-store.js';
