// SSE-S3 (x-amz-server-side-encryption: AES256): the gateway's default master key at kes, ETag the MD5 of the data.
import type { KMS } from '../kms/kms.js';
import { S3Error } from '../s3/errors.js';
import type { BucketKeyPool } from './bucket-keys.js';
import { md5ETag } from './etag.js';
import { KMS_CONTEXT, KMS_KEY_ID, SSE } from './header-names.js';
import { bucketKeyHeader, kmsBackedMode } from './kms-backed.js';
import type { HeaderOf, SSEMode } from './mode.js';
import type { SSERequest, StoredSSE } from './types.js';

/** The SSE header's value that asks for this mode. */
export const SSE_S3_VALUE = 'AES256';

/** A write's `x-amz-server-side-encryption: AES256`: it takes no KMS key id or context. */
export function parseSSES3Request(header: HeaderOf, bucketKey: boolean | undefined): SSERequest {
  if (header(KMS_KEY_ID) !== undefined || header(KMS_CONTEXT) !== undefined) {
    throw new S3Error('InvalidArgument', 'Server Side Encryption with AES256 does not take a KMS key id or context; use aws:kms.', {
      extra: { ArgumentName: KMS_KEY_ID },
    });
  }
  return bucketKey === undefined ? { kind: 'SSE-S3' } : { kind: 'SSE-S3', bucketKey };
}

export function sseS3(kms: KMS, bucketKeys?: BucketKeyPool): SSEMode {
  return kmsBackedMode('SSE-S3', kms, bucketKeys, {
    keyRequest: (req: SSERequest, defaultKey: string) => ({
      keyName: defaultKey,
      ...(req.kind === 'SSE-S3' && req.bucketKey !== undefined ? { bucketKey: req.bucketKey } : {}),
    }),
    responseHeaders: (stored: StoredSSE) => ({ [SSE]: SSE_S3_VALUE, ...bucketKeyHeader(stored) }),
    // As AWS: an SSE-S3 object's ETag is the MD5 of its plaintext.
    etagIsMD5: true,
    etag: md5ETag,
  });
}
