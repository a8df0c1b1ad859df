import type { ObjectEncryption } from '../sse/encryption.js';
import type { ObjectStore } from '../storage/types.js';

/** What every S3 object operation needs: where objects live and how they are encrypted. */
export interface ObjectContext {
  store: ObjectStore;
  enc: ObjectEncryption;
}
