import type { ObjectEncryption } from '../sse/encryption.js';
import type { ObjectStore } from '../storage/types.js';

/** What every S3 object operation needs: where objects live and how they are encrypted. */
export interface ObjectServiceDeps {
  store: ObjectStore;
  enc: ObjectEncryption;
}
