// SSE-KMS (x-amz-server-side-encryption: aws:kms): a master key the client names (else the gateway's default), an
// optional client KMS context bound at kes, and a random ETag.
import type { KMS } from '../kms/kms.js';
import { S3Error } from '../s3/errors.js';
import type { BucketKeyPool } from './bucket-keys.js';
import { randomETag } from './etag.js';
import { KMS_CONTEXT, KMS_KEY_ID, SSE } from './header-names.js';
import { bucketKeyHeader, kmsBackedMode } from './kms-backed.js';
import type { HeaderOf, SSEMode } from './mode.js';
import type { SSERequest, StoredSSE } from './types.js';

/** The SSE header's value that asks for this mode. */
export const SSE_KMS_VALUE = 'aws:kms';

/** A write's `x-amz-server-side-encryption: aws:kms`, with its key id and context headers. */
export function parseSSEKMSRequest(header: HeaderOf, bucketKey: boolean | undefined): SSERequest {
  const keyId = header(KMS_KEY_ID);
  const context = header(KMS_CONTEXT);
  const req: SSERequest = { kind: 'SSE-KMS', ...(bucketKey !== undefined ? { bucketKey } : {}) };
  if (keyId !== undefined) {
    if (keyId === '') throw new S3Error('InvalidArgument', 'The KMS key id must not be empty.', { extra: { ArgumentName: KMS_KEY_ID } });
    req.keyId = stripArn(keyId);
  }
  if (context !== undefined) req.context = parseContext(context);
  return req;
}

/** The SSE-KMS context header: base64 of a JSON object of string values. */
function parseContext(value: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
  } catch {
    throw new S3Error('InvalidArgument', 'The x-amz-server-side-encryption-context header must be base64-encoded JSON.', {
      extra: { ArgumentName: KMS_CONTEXT },
    });
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    Array.isArray(parsed) ||
    !Object.values(parsed).every((v) => typeof v === 'string')
  ) {
    throw new S3Error('InvalidArgument', 'The x-amz-server-side-encryption-context must be a JSON object of string values.', {
      extra: { ArgumentName: KMS_CONTEXT },
    });
  }
  return parsed as Record<string, string>;
}

/** `arn:aws:kms:region:acct:key/NAME` and `alias/NAME` name the kes key NAME. */
function stripArn(id: string): string {
  const m = /^arn:aws:kms:[^:]*:[^:]*:(?:key|alias)\/(.+)$/.exec(id) ?? /^alias\/(.+)$/.exec(id);
  return m?.[1] ?? id;
}

export function sseKMS(kms: KMS, bucketKeys?: BucketKeyPool): SSEMode {
  return kmsBackedMode('SSE-KMS', kms, bucketKeys, {
    keyRequest: (req: SSERequest, defaultKey: string) =>
      req.kind === 'SSE-KMS'
        ? {
            keyName: req.keyId || defaultKey,
            ...(req.context ? { clientContext: req.context } : {}),
            ...(req.bucketKey !== undefined ? { bucketKey: req.bucketKey } : {}),
          }
        : { keyName: defaultKey },
    responseHeaders: (stored: StoredSSE) => ({ [SSE]: SSE_KMS_VALUE, [KMS_KEY_ID]: stored.kmsKey ?? '', ...bucketKeyHeader(stored) }),
    // As AWS: an SSE-KMS object's ETag is not the MD5 of its data.
    etagIsMD5: false,
    etag: randomETag,
  });
}
