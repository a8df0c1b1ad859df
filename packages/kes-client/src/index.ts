export { KesClient, type KesClientOptions } from './client.js';
export { KesError, KesUnavailableError, isNetworkError } from './errors.js';
export type { KesNodeState } from './node-pool.js';
export type {
  DataKey,
  IdentityDescription,
  KesCipher,
  KeyDescription,
  KeyList,
  KesStatus,
  PolicyDescription,
  PolicyDocument,
  SealStatus,
} from './types.js';
