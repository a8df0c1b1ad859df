// The SSE headers of a request, as a whole: which mode a write asks for (each mode parses its own headers:
// sse-c.ts, sse-s3.ts, sse-kms.ts) and the rules between modes, and what a read may carry.
import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../s3/errors.js';
import { BUCKET_KEY, KMS_CONTEXT, KMS_KEY_ID, SSE } from './header-names.js';
import type { HeaderOf } from './mode.js';
import { COPY_PREFIX, parseCustomerKey } from './sse-c.js';
import { parseSSEKMSRequest, SSE_KMS_VALUE } from './sse-kms.js';
import { parseSSES3Request, SSE_S3_VALUE } from './sse-s3.js';
import type { CustomerKey, SSERequest } from './types.js';
import { firstHeader } from '../s3/header-values.js';

function headerOf(h: IncomingHttpHeaders): HeaderOf {
  return (name) => firstHeader(h, name);
}

/**
 * What a write (PUT, CreateMultipartUpload, CopyObject target) asks for. Undefined: no SSE header at all
 * (the bucket default, else SSE-S3, applies).
 */
export function parseWriteSSE(h: IncomingHttpHeaders): SSERequest | undefined {
  const header = headerOf(h);
  const customer = parseCustomerKey(header);
  const sse = header(SSE);
  const keyId = header(KMS_KEY_ID);
  const context = header(KMS_CONTEXT);
  const bucketKey = parseBucketKey(header(BUCKET_KEY));
  if (customer && bucketKey === true) {
    throw new S3Error(
      'InvalidArgument',
      'S3 Bucket Keys are not supported with Server Side Encryption with Customer provided keys (SSE-C).',
      { extra: { ArgumentName: BUCKET_KEY } },
    );
  }
  if (customer && (sse !== undefined || keyId !== undefined || context !== undefined)) {
    throw new S3Error(
      'InvalidArgument',
      'Server Side Encryption with Customer provided key is incompatible with the encryption method specified.',
      { extra: { ArgumentName: SSE } },
    );
  }
  if (customer) return { kind: 'SSE-C', ...customer };
  if (sse === undefined) {
    if (keyId !== undefined || context !== undefined) {
      throw new S3Error(
        'InvalidArgument',
        'x-amz-server-side-encryption-aws-kms-key-id and -context are only valid with x-amz-server-side-encryption: aws:kms.',
        { extra: { ArgumentName: SSE } },
      );
    }
    return bucketKey === undefined ? undefined : { kind: 'SSE-S3', bucketKey, bucketDefault: true };
  }
  if (sse === SSE_S3_VALUE) return parseSSES3Request(header, bucketKey);
  if (sse === SSE_KMS_VALUE) return parseSSEKMSRequest(header, bucketKey);
  throw new S3Error('InvalidArgument', `The encryption method "${sse}" is not supported: use AES256 or aws:kms.`, {
    extra: { ArgumentName: SSE },
  });
}

/** The bucket-key header: `true` or `false` (any case), as AWS parses a boolean header; anything else is refused. */
function parseBucketKey(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new S3Error('InvalidArgument', `The ${BUCKET_KEY} header must be true or false; got "${value}".`, {
    extra: { ArgumentName: BUCKET_KEY, ArgumentValue: value },
  });
}

/** GET and HEAD must not carry SSE-S3/KMS headers (AWS: 400 InvalidArgument); they may carry an SSE-C key. */
export function parseReadSSE(h: IncomingHttpHeaders): CustomerKey | undefined {
  const header = headerOf(h);
  for (const name of [SSE, KMS_KEY_ID, KMS_CONTEXT]) {
    if (header(name) !== undefined) {
      throw new S3Error('InvalidArgument', `The ${name} header is not allowed on a read: the object's own encryption is used.`, {
        extra: { ArgumentName: name },
      });
    }
  }
  return parseCustomerKey(header);
}

export function parseCopySourceKey(h: IncomingHttpHeaders): CustomerKey | undefined {
  return parseCustomerKey(headerOf(h), COPY_PREFIX);
}
