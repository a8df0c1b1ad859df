import { sealObjectKey } from '@kesgate/dare';
import type { KMS } from '../kms/kms.js';
import { S3Error } from '../s3/errors.js';
import { decodeClientContext } from './kms-context.js';
import type { BucketKeyPool } from './bucket-keys.js';
import { kmsBackedMode, refuseCustomerKey, sealUnderBucketKey, sealUnderKey } from './kms-backed.js';
import type { ObjectPath, SSEMode, SealedObject } from './mode.js';
import { sseC } from './sse-c.js';
import type { CustomerKey, SSEKind, SSERequest, StoredSSE } from './types.js';

/** The bucket's default encryption, as PutBucketEncryption stored it. */
export interface BucketEncryption {
  sse: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  /** BucketKeyEnabled: new SSE-S3/SSE-KMS objects use bucket keys unless a request says otherwise. */
  bucketKeyEnabled?: boolean;
}

export interface ObjectEncryptionOptions {
  /** Where bucket keys come from; without it every object gets a data key of its own. */
  bucketKeys?: BucketKeyPool;
  /** sse.bucketKeys: SSE-S3 objects use bucket keys unless the request or the bucket says otherwise. */
  bucketKeysForSSES3?: boolean;
}

/** The gateway's one entry to object encryption: pick the mode once, then talk to it. */
export class ObjectEncryption {
  private readonly modes: Record<SSEKind, SSEMode>;

  constructor(
    readonly kms: KMS,
    private readonly options: ObjectEncryptionOptions = {},
  ) {
    const pool = options.bucketKeys;
    this.modes = { 'SSE-C': sseC, 'SSE-S3': kmsBackedMode('SSE-S3', kms, pool), 'SSE-KMS': kmsBackedMode('SSE-KMS', kms, pool) };
  }

  mode(kind: SSEKind): SSEMode {
    return this.modes[kind];
  }

  /**
   * The choice rules of docs/s3-api.md: SSE-C headers, then the SSE header, then the bucket default, then SSE-S3. For SSE-S3 and
   * SSE-KMS the result says whether a bucket key is used: the request's bucket-key header, else the bucket's
   * BucketKeyEnabled, else (SSE-S3 only) the gateway's sse.bucketKeys.
   */
  choose(requested: SSERequest | undefined, bucketDefault: BucketEncryption | undefined): SSERequest {
    let chosen: SSERequest;
    if (requested && !(requested.kind === 'SSE-S3' && requested.bucketDefault)) chosen = requested;
    else if (bucketDefault?.sse === 'aws:kms')
      chosen = bucketDefault.kmsKeyId ? { kind: 'SSE-KMS', keyId: bucketDefault.kmsKeyId } : { kind: 'SSE-KMS' };
    else chosen = { kind: 'SSE-S3' };
    if (chosen.kind === 'SSE-C') return chosen;
    const asked = requested?.kind === 'SSE-C' ? undefined : requested?.bucketKey;
    if (chosen.kind === 'SSE-S3') return { kind: 'SSE-S3', bucketKey: this.bucketKeyFor('SSE-S3', asked, bucketDefault) };
    return { ...chosen, bucketKey: this.bucketKeyFor('SSE-KMS', asked, bucketDefault) };
  }

  /** Whether a new object of `kind` in a bucket with `bucketDefault` uses a bucket key (`asked`: the request's header). */
  bucketKeyFor(kind: 'SSE-S3' | 'SSE-KMS', asked: boolean | undefined, bucketDefault: BucketEncryption | undefined): boolean {
    if (!this.options.bucketKeys) return false;
    return asked ?? bucketDefault?.bucketKeyEnabled ?? (kind === 'SSE-S3' && this.options.bucketKeysForSSES3 === true);
  }

  seal(req: SSERequest, path: ObjectPath, oek?: Buffer): Promise<SealedObject> {
    return this.modes[req.kind].seal(req, path, oek);
  }

  unseal(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<Buffer> {
    const mode = this.modes[stored.sse];
    if (!mode) throw new S3Error('InternalError', `ObjectTampered: unknown encryption "${String(stored.sse)}" in the object metadata`);
    return mode.unseal(stored, path, customer);
  }

  /**
   * What a metadata read (HEAD, GetObjectAttributes) checks: an SSE-C object needs its key, checked by
   * unsealing locally; an SSE-S3/KMS object needs no key material, so kes is not asked (and a HEAD works
   * while kes is sealed — only reading data needs the key).
   */
  async checkMetadataAccess(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<void> {
    if (stored.sse === 'SSE-C') (await sseC.unseal(stored, path, customer)).fill(0);
    else refuseCustomerKey(customer);
  }

  responseHeaders(stored: StoredSSE): Record<string, string> {
    return this.modes[stored.sse].responseHeaders(stored);
  }

  /**
   * Key rotation of an SSE-S3/SSE-KMS object: the same OEK under a fresh data key of `toKey` with a new IV, or,
   * when `bucketDefault` (the object's bucket's encryption) says so, under the current bucket key of `toKey`
   * at `toVersion` (see rotationUsesBucketKey). Object data is untouched; only these fields change.
   */
  async rewrap(
    stored: StoredSSE,
    path: ObjectPath,
    toKey: string,
    toVersion?: string,
    bucketDefault?: BucketEncryption,
  ): Promise<StoredSSE> {
    if (stored.sse === 'SSE-C')
      throw new S3Error('InvalidRequest', 'SSE-C objects are rotated by CopyObject with the old and new customer keys.');
    const oek = await this.unseal(stored, path, undefined);
    try {
      const client = decodeClientContext(stored.kmsContext);
      const pool = this.options.bucketKeys;
      const sealed =
        pool && this.rotationUsesBucketKey(stored, bucketDefault)
          ? await sealUnderBucketKey(stored.sse, pool, toKey, client, path, oek, toVersion)
          : await sealUnderKey(stored.sse, this.kms, toKey, client, path, oek);
      return { ...sealed.stored, ...(stored.multipart ? { multipart: true } : {}) };
    } finally {
      oek.fill(0);
    }
  }

  /**
   * A rotated object uses a bucket key if it had one, or if a new object of its kind in its bucket would (the
   * bucket's BucketKeyEnabled, or sse.bucketKeys for SSE-S3): rotation never makes an object depend on kes more
   * than a write would, and an object keeps its bucket key choice.
   */
  rotationUsesBucketKey(stored: StoredSSE, bucketDefault: BucketEncryption | undefined): boolean {
    if (stored.sse === 'SSE-C' || !this.options.bucketKeys) return false;
    return stored.bucketKey !== undefined || this.bucketKeyFor(stored.sse, undefined, bucketDefault);
  }

  /** SSE-C key change in place (CopyObject onto itself): unseal with the old key, reseal with the new, same IV. */
  async changeCustomerKey(stored: StoredSSE, path: ObjectPath, oldKey: CustomerKey | undefined, newKey: CustomerKey): Promise<StoredSSE> {
    const oek = await sseC.unseal(stored, path, oldKey);
    try {
      const sealed = sealObjectKey({
        ek: newKey.key,
        domain: 'SSE-C',
        path: `${path.bucket}/${path.key}`,
        oek,
        iv: Buffer.from(stored.iv, 'base64'),
      });
      return { ...stored, sealedKey: sealed.sealedKey.toString('base64'), sseCKeyMD5: newKey.keyMD5 };
    } finally {
      oek.fill(0);
    }
  }
}
