// Blob ids, the same for both blob stores: 128 random bits as 32 lowercase hex characters, never derived from
// user keys. On fs they are file names (no key can reach a path); upstream, random leading characters spread
// the keys over the upstream's key-range partitions (S3 scales request rates per key prefix), and a fresh id
// per blob means a key is never written twice, so even an eventually consistent upstream cannot serve stale
// bytes for it.
import { uniqueRandom } from '@kesgate/dare';

const BLOB_ID = /^[0-9a-f]{32}$/;

export function newBlobId(): string {
  return uniqueRandom(16).toString('hex');
}

export function isBlobId(value: string): boolean {
  return BLOB_ID.test(value);
}
