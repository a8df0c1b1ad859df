import { ErrKeyMismatch, objectPath, SEAL_ALGORITHM, sealObjectKey, unsealObjectKey } from '@kesgate/dare';
import type { KMS } from '../kms/kms.js';
import { S3Error } from '../s3/errors.js';
import { bucketKeyContext, type BucketKeyLoan, type BucketKeyPool } from './bucket-keys.js';
import { decodeClientContext, encodeClientContext, kmsContext } from './kms-context.js';
import type { MasterKeyRef, ObjectPath, SSEMode, SealedObject } from './mode.js';
import type { CustomerKey, SSERequest, StoredSSE } from './types.js';

const pathOf = (p: ObjectPath): string => objectPath(p.bucket, p.key);

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

/** What a request for this mode asks of the key service: which master key, the client's context, a bucket key. */
export interface KeyRequest {
  keyName: string;
  clientContext?: Record<string, string>;
  bucketKey?: boolean;
}

/** What SSE-S3 and SSE-KMS do differently; the rest is kmsBackedMode's. */
export interface KmsModeRules {
  /** The key service request `req` (a request for this mode) makes. */
  keyRequest(req: SSERequest, defaultKey: string): KeyRequest;
  responseHeaders(stored: StoredSSE): Record<string, string>;
  etagIsMD5: boolean;
  etag(digests: { md5Hex: string }): string;
}

/** AWS says so only for objects written under a bucket key; it never sends "false". */
export function bucketKeyHeader(stored: StoredSSE): Record<string, string> {
  return stored.bucketKey ? { 'x-amz-server-side-encryption-bucket-key-enabled': 'true' } : {};
}

/**
 * SSE-S3 and SSE-KMS (sse-s3.ts, sse-kms.ts): the EK is a fresh kes data key per object, bound to the object by
 * the KMS context, or (bucket keys) a kes data key shared by objects of the bucket, the object bound by the
 * seal's path and IV. The two modes differ only in the seal domain, which key is used, the ETag and what the
 * responses say (`rules`).
 */
export function kmsBackedMode(kind: 'SSE-S3' | 'SSE-KMS', kms: KMS, bucketKeys: BucketKeyPool | undefined, rules: KmsModeRules): SSEMode {
  async function unseal(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<Buffer> {
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
  }

  return {
    kind,

    async seal(req: SSERequest, path: ObjectPath, oek?: Buffer): Promise<SealedObject> {
      const { keyName, clientContext, bucketKey } = rules.keyRequest(req, kms.defaultKey);
      if (bucketKey && bucketKeys) return sealUnderBucketKey(kind, bucketKeys, keyName, clientContext, path, oek);
      return sealUnderKey(kind, kms, keyName, clientContext, path, oek);
    },

    unseal,

    /** No key material is needed to describe the object, so kes is not asked; an SSE-C key is refused as on GET. */
    async checkMetadataAccess(_stored: StoredSSE, _path: ObjectPath, customer: CustomerKey | undefined): Promise<void> {
      refuseCustomerKey(customer);
    },

    responseHeaders: rules.responseHeaders,
    etagIsMD5: rules.etagIsMD5,
    etag: rules.etag,

    /** An SSE-C key on a part of an upload that is not SSE-C is refused, as on a read. */
    checkPartKey(_upload: StoredSSE, customer: CustomerKey | undefined): void {
      refuseCustomerKey(customer);
    },

    canRotate: true,

    masterKey(stored: StoredSSE): MasterKeyRef | undefined {
      // A data key of its own (kmsCiphertext), or a bucket key's (bucketKey.kmsCiphertext).
      const ciphertext = stored.bucketKey ? stored.bucketKey.kmsCiphertext : stored.kmsCiphertext;
      if (stored.kmsKey === undefined || ciphertext === undefined) return undefined;
      return { key: stored.kmsKey, ...(stored.kmsKeyVersion !== undefined ? { version: stored.kmsKeyVersion } : {}) };
    },

    async rewrap(stored: StoredSSE, path: ObjectPath, to: MasterKeyRef, bucketKey: boolean): Promise<StoredSSE> {
      const oek = await unseal(stored, path, undefined);
      try {
        const client = decodeClientContext(stored.kmsContext);
        const sealed =
          bucketKey && bucketKeys
            ? await sealUnderBucketKey(kind, bucketKeys, to.key, client, path, oek, to.version)
            : await sealUnderKey(kind, kms, to.key, client, path, oek);
        return { ...sealed.stored, ...(stored.multipart ? { multipart: true } : {}) };
      } finally {
        oek.fill(0);
      }
    },

    // The data key is kes's: a new key for the same object is a new object key, which a real copy makes.
    rekeyInPlace: () => undefined,
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
