import { ErrKeyMismatch, SEAL_ALGORITHM, sealObjectKey, unsealObjectKey } from '@kesgate/dare';
import type { KMS } from '../kms/kms.js';
import { S3Error } from '../s3/errors.js';
import { bucketKeyContext, type BucketKeyLoan, type BucketKeyPool } from './bucket-keys.js';
import { decodeClientContext, encodeClientContext, kmsContext } from './kms-context.js';
import type { ObjectPath, SSEMode, SealedObject } from './mode.js';
import type { CustomerKey, SSERequest, StoredSSE } from './types.js';

const pathOf = (p: ObjectPath): string => `${p.bucket}/${p.key}`;

/** SSE-C headers on an object that is not SSE-C: 400 InvalidRequest (the SSE error table of docs/s3-api.md). */
export function refuseCustomerKey(customer: CustomerKey | undefined): void {
  if (customer) {
    throw new S3Error(
      'InvalidRequest',
      'The encryption parameters are not applicable to this object: it is not encrypted with a customer-provided key.',
    );
  }
}

export function objectTampered(detail: string, cause?: unknown): S3Error {
  return new S3Error('InternalError', `ObjectTampered: ${detail}`, { cause });
}

/**
 * SSE-S3 and SSE-KMS: the EK is a fresh kes data key per object, bound to the object by the KMS context, or
 * (bucket keys) a kes data key shared by objects of the bucket, the object bound by the seal's path and IV.
 * The two modes differ only in the seal domain, which key is used and what the responses say.
 */
export function kmsBackedMode(kind: 'SSE-S3' | 'SSE-KMS', kms: KMS, bucketKeys?: BucketKeyPool): SSEMode {
  return {
    kind,

    async seal(req: SSERequest, path: ObjectPath, oek?: Buffer): Promise<SealedObject> {
      const keyName = req.kind === 'SSE-KMS' && req.keyId ? req.keyId : kms.defaultKey;
      const clientContext = req.kind === 'SSE-KMS' ? req.context : undefined;
      if (req.kind !== 'SSE-C' && req.bucketKey && bucketKeys)
        return sealUnderBucketKey(kind, bucketKeys, keyName, clientContext, path, oek);
      return sealUnderKey(kind, kms, keyName, clientContext, path, oek);
    },

    async unseal(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<Buffer> {
      refuseCustomerKey(customer);
      const ciphertext = stored.bucketKey ? stored.bucketKey.kmsCiphertext : stored.kmsCiphertext;
      if (!stored.kmsKey || !ciphertext) throw objectTampered('the object metadata has no KMS key reference');
      const client = decodeClientContext(stored.kmsContext);
      const ctx = stored.bucketKey ? bucketKeyContext(path.bucket, stored.bucketKey.id, client) : kmsContext(path.bucket, path.key, client);
      const ek = await kms.decrypt(stored.kmsKey, Buffer.from(ciphertext, 'base64'), ctx, stored.kmsKeyVersion);
      try {
        return unsealObjectKey({
          ek,
          domain: kind,
          path: pathOf(path),
          iv: Buffer.from(stored.iv, 'base64'),
          sealedKey: Buffer.from(stored.sealedKey, 'base64'),
        });
      } catch (err) {
        if (err instanceof ErrKeyMismatch) throw objectTampered('the sealed object key failed authentication', err);
        throw err;
      } finally {
        ek.fill(0);
      }
    },

    responseHeaders(stored: StoredSSE): Record<string, string> {
      // AWS says so only for objects written under a bucket key; it never sends "false".
      const bucketKey: Record<string, string> = stored.bucketKey ? { 'x-amz-server-side-encryption-bucket-key-enabled': 'true' } : {};
      if (kind === 'SSE-S3') return { 'x-amz-server-side-encryption': 'AES256', ...bucketKey };
      return {
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': stored.kmsKey ?? '',
        ...bucketKey,
      };
    },
  };
}

/** Seal `oek` (or a fresh OEK) under a new data key of `keyName`; used for new objects and for rotation. */
export async function sealUnderKey(
  kind: 'SSE-S3' | 'SSE-KMS',
  kms: KMS,
  keyName: string,
  clientContext: Record<string, string> | undefined,
  path: ObjectPath,
  oek?: Buffer,
): Promise<SealedObject> {
  const dk = await kms.generate(keyName, kmsContext(path.bucket, path.key, clientContext));
  try {
    const sealed = sealObjectKey({ ek: dk.plaintext, domain: kind, path: pathOf(path), ...(oek ? { oek } : {}) });
    const stored: StoredSSE = {
      sse: kind,
      iv: sealed.iv.toString('base64'),
      sealAlgorithm: SEAL_ALGORITHM,
      sealedKey: sealed.sealedKey.toString('base64'),
      kmsKey: keyName,
      kmsCiphertext: dk.ciphertext.toString('base64'),
    };
    if (dk.version) stored.kmsKeyVersion = dk.version;
    const ctx = encodeClientContext(clientContext);
    if (ctx) stored.kmsContext = ctx;
    return { oek: sealed.oek, stored };
  } finally {
    dk.plaintext.fill(0);
  }
}

/**
 * Seal `oek` (or a fresh OEK) under a bucket key of `keyName` for the object's bucket; used for new objects and
 * for rotation (`version`: the master key version the bucket key must be made under).
 */
export async function sealUnderBucketKey(
  kind: 'SSE-S3' | 'SSE-KMS',
  pool: BucketKeyPool,
  keyName: string,
  clientContext: Record<string, string> | undefined,
  path: ObjectPath,
  oek?: Buffer,
  version?: string,
): Promise<SealedObject> {
  const loan: BucketKeyLoan = await pool.lend(path.bucket, keyName, clientContext, version);
  try {
    const sealed = sealObjectKey({ ek: loan.plaintext, domain: kind, path: pathOf(path), ...(oek ? { oek } : {}) });
    const stored: StoredSSE = {
      sse: kind,
      iv: sealed.iv.toString('base64'),
      sealAlgorithm: SEAL_ALGORITHM,
      sealedKey: sealed.sealedKey.toString('base64'),
      kmsKey: loan.keyName,
      bucketKey: { ...loan.stored },
    };
    if (loan.version) stored.kmsKeyVersion = loan.version;
    const ctx = encodeClientContext(clientContext);
    if (ctx) stored.kmsContext = ctx;
    return { oek: sealed.oek, stored };
  } finally {
    loan.plaintext.fill(0);
  }
}
