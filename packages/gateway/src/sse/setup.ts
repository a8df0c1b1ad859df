// The gateway's object encryption as its config asks: bucket keys drawn from kes through the key cache.
import type { GatewayConfig } from '../config/load.js';
import type { CachingKMS } from '../kms/caching-kms.js';
import { BucketKeyPool } from './bucket-keys.js';
import { ObjectEncryption } from './encryption.js';

export function objectEncryption(config: GatewayConfig, kms: CachingKMS): ObjectEncryption {
  const bucketKeys = new BucketKeyPool(kms, {
    lifetimeSeconds: config.sse.bucketKeyLifetimeSeconds,
    maxObjects: config.sse.bucketKeyMaxObjects,
  });
  return new ObjectEncryption(kms, { bucketKeys, bucketKeysForSSES3: config.sse.bucketKeys });
}
