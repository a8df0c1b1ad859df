import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../s3/errors.js';
import type { CustomerKey, SSERequest } from './types.js';

const SSE = 'x-amz-server-side-encryption';
const KMS_KEY_ID = 'x-amz-server-side-encryption-aws-kms-key-id';
const KMS_CONTEXT = 'x-amz-server-side-encryption-context';
const BUCKET_KEY = 'x-amz-server-side-encryption-bucket-key-enabled';
// The SSE-C triple: `x-amz-` + name for the target, `x-amz-copy-source-` + name for a copy source.
const C_ALG = 'server-side-encryption-customer-algorithm';
const C_KEY = 'server-side-encryption-customer-key';
const C_MD5 = 'server-side-encryption-customer-key-md5';
const TARGET_PREFIX = 'x-amz-';
const COPY_PREFIX = 'x-amz-copy-source-';

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The SSE-C triple under `prefix` ('x-amz-' for the target, 'x-amz-copy-source-' for a copy source), validated as
 * AWS does. Returns undefined when none of the three headers is present.
 */
export function parseCustomerKey(h: IncomingHttpHeaders, prefix = TARGET_PREFIX): CustomerKey | undefined {
  const alg = header(h, prefix + C_ALG);
  const key = header(h, prefix + C_KEY);
  const md5 = header(h, prefix + C_MD5);
  if (alg === undefined && key === undefined && md5 === undefined) return undefined;
  const what = prefix === COPY_PREFIX ? 'copy source ' : '';
  if (alg === undefined) {
    throw new S3Error(
      'InvalidArgument',
      `Requests specifying Server Side Encryption with Customer provided keys must provide a valid ${what}encryption algorithm.`,
      { extra: { ArgumentName: prefix + C_ALG } },
    );
  }
  if (alg !== 'AES256') {
    throw new S3Error('InvalidArgument', `The ${what}encryption algorithm "${alg}" is not supported: the only valid value is AES256.`, {
      extra: { ArgumentName: prefix + C_ALG },
    });
  }
  if (key === undefined || key === '') {
    throw new S3Error(
      'InvalidArgument',
      `Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate ${what}secret key.`,
      { extra: { ArgumentName: prefix + C_KEY } },
    );
  }
  if (md5 === undefined || md5 === '') {
    throw new S3Error(
      'InvalidArgument',
      `Requests specifying Server Side Encryption with Customer provided keys must provide the ${what}client calculated MD5 of the secret key.`,
      { extra: { ArgumentName: prefix + C_MD5 } },
    );
  }
  const raw = Buffer.from(key, 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== key.replace(/\s/g, '')) {
    throw new S3Error(
      'InvalidArgument',
      `The ${what}secret key was invalid for the specified algorithm: it must be 32 bytes, base64-encoded.`,
      { extra: { ArgumentName: prefix + C_KEY } },
    );
  }
  const actual = createHash('md5').update(raw).digest('base64');
  if (actual !== md5) {
    throw new S3Error('InvalidArgument', `The calculated MD5 hash of the ${what}key did not match the hash that was provided.`, {
      extra: { ArgumentName: prefix + C_MD5 },
    });
  }
  return { key: raw, keyMD5: md5 };
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

/**
 * What a write (PUT, CreateMultipartUpload, CopyObject target) asks for. Undefined: no SSE header at all
 * (the bucket default, else SSE-S3, applies).
 */
export function parseWriteSSE(h: IncomingHttpHeaders): SSERequest | undefined {
  const customer = parseCustomerKey(h);
  const sse = header(h, SSE);
  const keyId = header(h, KMS_KEY_ID);
  const context = header(h, KMS_CONTEXT);
  const bucketKey = parseBucketKey(header(h, BUCKET_KEY));
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
  if (sse === 'AES256') {
    if (keyId !== undefined || context !== undefined) {
      throw new S3Error('InvalidArgument', 'Server Side Encryption with AES256 does not take a KMS key id or context; use aws:kms.', {
        extra: { ArgumentName: KMS_KEY_ID },
      });
    }
    return bucketKey === undefined ? { kind: 'SSE-S3' } : { kind: 'SSE-S3', bucketKey };
  }
  if (sse === 'aws:kms') {
    const req: SSERequest = { kind: 'SSE-KMS', ...(bucketKey !== undefined ? { bucketKey } : {}) };
    if (keyId !== undefined) {
      if (keyId === '') throw new S3Error('InvalidArgument', 'The KMS key id must not be empty.', { extra: { ArgumentName: KMS_KEY_ID } });
      req.keyId = stripArn(keyId);
    }
    if (context !== undefined) req.context = parseContext(context);
    return req;
  }
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
  for (const name of [SSE, KMS_KEY_ID, KMS_CONTEXT]) {
    if (header(h, name) !== undefined) {
      throw new S3Error('InvalidArgument', `The ${name} header is not allowed on a read: the object's own encryption is used.`, {
        extra: { ArgumentName: name },
      });
    }
  }
  return parseCustomerKey(h);
}

export function parseCopySourceKey(h: IncomingHttpHeaders): CustomerKey | undefined {
  return parseCustomerKey(h, COPY_PREFIX);
}

/** `arn:aws:kms:region:acct:key/NAME` and `alias/NAME` name the kes key NAME. */
function stripArn(id: string): string {
  const m = /^arn:aws:kms:[^:]*:[^:]*:(?:key|alias)\/(.+)$/.exec(id) ?? /^alias\/(.+)$/.exec(id);
  return m?.[1] ?? id;
}
