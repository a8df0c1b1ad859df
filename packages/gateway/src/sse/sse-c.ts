// SSE-C: the client's key is the EK. Never stored: only its MD5, which AWS echoes back too. The client sends it
// on every request that reads or writes the data, so this mode owns the key's headers and the rules of
// multipart parts and in-place key changes.
import { createHash } from 'node:crypto';
import { ErrKeyMismatch, objectPath, SEAL_ALGORITHM, sealObjectKey, unsealObjectKey } from '@kesgate/dare';
import { S3Error } from '../s3/errors.js';
import { randomETag } from './etag.js';
import type { HeaderOf, ObjectPath, SSEMode, SealedObject } from './mode.js';
import type { CustomerKey, SSERequest, StoredSSE } from './types.js';

const pathOf = (p: ObjectPath): string => objectPath(p.bucket, p.key);

// The SSE-C triple: `x-amz-` + name for the target, `x-amz-copy-source-` + name for a copy source.
const C_ALG = 'server-side-encryption-customer-algorithm';
const C_KEY = 'server-side-encryption-customer-key';
const C_MD5 = 'server-side-encryption-customer-key-md5';
export const TARGET_PREFIX = 'x-amz-';
export const COPY_PREFIX = 'x-amz-copy-source-';

/**
 * The SSE-C triple under `prefix` (TARGET_PREFIX, or COPY_PREFIX for a copy source), validated as AWS does.
 * Returns undefined when none of the three headers is present.
 */
export function parseCustomerKey(header: HeaderOf, prefix = TARGET_PREFIX): CustomerKey | undefined {
  const alg = header(prefix + C_ALG);
  const key = header(prefix + C_KEY);
  const md5 = header(prefix + C_MD5);
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
    // AWS's own code for this one case (not InvalidArgument, as for the other SSE-C header faults).
    throw new S3Error(
      'InvalidEncryptionAlgorithmError',
      `The ${what}encryption algorithm "${alg.slice(0, 64)}" is not supported: the only valid value is AES256.`,
      { extra: { ArgumentName: prefix + C_ALG, ArgumentValue: alg.slice(0, 64) } },
    );
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

function unseal(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Buffer {
  if (!customer) {
    throw new S3Error(
      'InvalidRequest',
      'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.',
    );
  }
  try {
    return unsealObjectKey({
      ek: customer.key,
      domain: 'SSE-C',
      path: pathOf(path),
      iv: Buffer.from(stored.iv, 'base64'),
      sealedKey: Buffer.from(stored.sealedKey, 'base64'),
    });
  } catch (err) {
    if (err instanceof ErrKeyMismatch) {
      throw new S3Error('AccessDenied', 'The SSE-C key does not match the key the object was encrypted with.');
    }
    throw err;
  }
}

export const sseC: SSEMode = {
  kind: 'SSE-C',

  async seal(req: SSERequest, path: ObjectPath, oek?: Buffer): Promise<SealedObject> {
    if (req.kind !== 'SSE-C') throw new Error(`SSE-C mode asked to seal a ${req.kind} request`);
    const sealed = sealObjectKey({ ek: req.key, domain: 'SSE-C', path: pathOf(path), ...(oek ? { oek } : {}) });
    return {
      oek: sealed.oek,
      stored: {
        sse: 'SSE-C',
        iv: sealed.iv.toString('base64'),
        sealAlgorithm: SEAL_ALGORITHM,
        sealedKey: sealed.sealedKey.toString('base64'),
        sseCKeyMD5: req.keyMD5,
      },
    };
  },

  async unseal(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<Buffer> {
    return unseal(stored, path, customer);
  },

  /** An SSE-C object's metadata needs its key too: checked by unsealing locally (no kes involved). */
  async checkMetadataAccess(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<void> {
    unseal(stored, path, customer).fill(0);
  },

  responseHeaders(stored: StoredSSE): Record<string, string> {
    return {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key-md5': stored.sseCKeyMD5 ?? '',
    };
  },

  // AWS: the ETag of an SSE-C object is not the MD5 of its data; a random one tells nothing about the plaintext.
  etagIsMD5: false,
  etag: randomETag,

  checkPartKey(upload: StoredSSE, customer: CustomerKey | undefined): void {
    if (!customer) {
      throw new S3Error(
        'InvalidRequest',
        'The multipart upload was initiated with a customer-provided key (SSE-C): every part must carry the same key.',
      );
    }
    if (customer.keyMD5 !== upload.sseCKeyMD5) {
      throw new S3Error('InvalidRequest', 'The SSE-C key of this part differs from the key the multipart upload was initiated with.');
    }
  },

  // The gateway never holds the client's key: its owner re-keys an object by CopyObject with the old and new keys.
  canRotate: false,
  masterKey: () => undefined,
  async rewrap(): Promise<StoredSSE> {
    throw new S3Error('InvalidRequest', 'SSE-C objects are rotated by CopyObject with the old and new customer keys.');
  },

  rekeyInPlace(stored: StoredSSE, path: ObjectPath, oldKey: CustomerKey | undefined, req: SSERequest): Promise<StoredSSE> | undefined {
    return req.kind === 'SSE-C' ? rekey(stored, path, oldKey, req) : undefined;
  },
};

/** Unseal with the old key, reseal with the new one under the same IV: the data stays as it is. */
async function rekey(stored: StoredSSE, path: ObjectPath, oldKey: CustomerKey | undefined, newKey: CustomerKey): Promise<StoredSSE> {
  const oek = unseal(stored, path, oldKey);
  try {
    const sealed = sealObjectKey({ ek: newKey.key, domain: 'SSE-C', path: pathOf(path), oek, iv: Buffer.from(stored.iv, 'base64') });
    return { ...stored, sealedKey: sealed.sealedKey.toString('base64'), sseCKeyMD5: newKey.keyMD5 };
  } finally {
    oek.fill(0);
  }
}
