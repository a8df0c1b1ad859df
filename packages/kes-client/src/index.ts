export { KesClient, type KesClientOptions } from './client.js';
export { KesError, KesUnavailableError, isNetworkError } from './errors.js';
export type { KesNodeState } from './node-pool.js';
export type { DataKey, KesCipher, KeyDescription, KeyList, KesStatus, SealStatus } from './types.js';
