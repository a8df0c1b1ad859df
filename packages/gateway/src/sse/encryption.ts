import { sealObjectKey } from '@kesgate/sse';
import type { KMS } from '../kms/kms.js';
import { S3Error } from '../s3/errors.js';
import { decodeClientContext } from './context.js';
import { kmsBackedMode, refuseCustomerKey, sealUnderKey } from './kms-backed.js';
import type { ObjectPath, SSEMode, SealedObject } from './mode.js';
import { sseC } from './sse-c.js';
import type { CustomerKey, SSEKind, SSERequest, StoredSSE } from './types.js';

/** The bucket's default encryption, as PutBucketEncryption stored it. */
export interface BucketEncryption {
  sse: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
}

/** The gateway's one entry to object encryption: pick the mode once, then talk to it. */
export class ObjectEncryption {
  private readonly modes: Record<SSEKind, SSEMode>;

  constructor(readonly kms: KMS) {
    this.modes = { 'SSE-C': sseC, 'SSE-S3': kmsBackedMode('SSE-S3', kms), 'SSE-KMS': kmsBackedMode('SSE-KMS', kms) };
  }

  mode(kind: SSEKind): SSEMode {
    return this.modes[kind];
  }

  /** The choice rules of docs/s3-api.md: SSE-C headers, then the SSE header, then the bucket default, then SSE-S3. */
  choose(requested: SSERequest | undefined, bucketDefault: BucketEncryption | undefined): SSERequest {
    if (requested) return requested;
    if (bucketDefault?.sse === 'aws:kms') {
      return bucketDefault.kmsKeyId ? { kind: 'SSE-KMS', keyId: bucketDefault.kmsKeyId } : { kind: 'SSE-KMS' };
    }
    return { kind: 'SSE-S3' };
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
   * Key rotation of an SSE-S3/SSE-KMS object: the same OEK under a fresh data key of `toKey` with a new IV.
   * Object data is untouched; only these fields change.
   */
  async rewrap(stored: StoredSSE, path: ObjectPath, toKey: string): Promise<StoredSSE> {
    if (stored.sse === 'SSE-C') throw new S3Error('InvalidRequest', 'SSE-C objects are rotated by CopyObject with the old and new customer keys.');
    const oek = await this.unseal(stored, path, undefined);
    try {
      const sealed = await sealUnderKey(stored.sse, this.kms, toKey, decodeClientContext(stored.kmsContext), path, oek);
      return { ...sealed.stored, ...(stored.multipart ? { multipart: true } : {}) };
    } finally {
      oek.fill(0);
    }
  }

  /** SSE-C key change in place (CopyObject onto itself): unseal with the old key, reseal with the new, same IV. */
  async changeCustomerKey(stored: StoredSSE, path: ObjectPath, oldKey: CustomerKey | undefined, newKey: CustomerKey): Promise<StoredSSE> {
    const oek = await sseC.unseal(stored, path, oldKey);
    try {
      const sealed = sealObjectKey({ ek: newKey.key, domain: 'SSE-C', path: `${path.bucket}/${path.key}`, oek, iv: Buffer.from(stored.iv, 'base64') });
      return { ...stored, sealedKey: sealed.sealedKey.toString('base64'), sseCKeyMD5: newKey.keyMD5 };
    } finally {
      oek.fill(0);
    }
  }
}
