import type { KMS } from '../kms/kms.js';
import type { BucketEncryption } from '../storage/types.js';
import type { BucketKeyPool } from './bucket-keys.js';
import type { ObjectPath, SSEMode, SealedObject } from './mode.js';
import { sseC } from './sse-c.js';
import { sseKMS } from './sse-kms.js';
import { sseS3 } from './sse-s3.js';
import type { CustomerKey, SSEKind, SSERequest, StoredSSE } from './types.js';

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
    this.modes = { 'SSE-C': sseC, 'SSE-S3': sseS3(kms, pool), 'SSE-KMS': sseKMS(kms, pool) };
  }

  /** The mode of a request or a stored record (its `sse`, checked when storage read it). */
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

  /**
   * Whether a new object of `kind` (SSE-S3 or SSE-KMS: the modes with kes keys) in a bucket with `bucketDefault`
   * uses a bucket key (`asked`: the request's header).
   */
  bucketKeyFor(kind: SSEKind, asked: boolean | undefined, bucketDefault: BucketEncryption | undefined): boolean {
    if (!this.options.bucketKeys) return false;
    return asked ?? bucketDefault?.bucketKeyEnabled ?? (kind === 'SSE-S3' && this.options.bucketKeysForSSES3 === true);
  }

  seal(req: SSERequest, path: ObjectPath, oek?: Buffer): Promise<SealedObject> {
    return this.modes[req.kind].seal(req, path, oek);
  }

  unseal(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<Buffer> {
    return this.modes[stored.sse].unseal(stored, path, customer);
  }

  /** What a metadata read (HEAD, GetObjectAttributes) checks: the request's key, as the object's mode asks, without kes. */
  checkMetadataAccess(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<void> {
    return this.modes[stored.sse].checkMetadataAccess(stored, path, customer);
  }

  responseHeaders(stored: StoredSSE): Record<string, string> {
    return this.modes[stored.sse].responseHeaders(stored);
  }

  /**
   * Key rotation of an object whose mode rotates (SSE-S3, SSE-KMS): the same OEK under a fresh data key of
   * `toKey` with a new IV, or, when `bucketDefault` (the object's bucket's encryption) says so, under the current
   * bucket key of `toKey` at `toVersion` (see rotationUsesBucketKey). Object data is untouched; only these fields change.
   */
  rewrap(stored: StoredSSE, path: ObjectPath, toKey: string, toVersion?: string, bucketDefault?: BucketEncryption): Promise<StoredSSE> {
    const to = toVersion !== undefined ? { key: toKey, version: toVersion } : { key: toKey };
    return this.modes[stored.sse].rewrap(stored, path, to, this.rotationUsesBucketKey(stored, bucketDefault));
  }

  /**
   * A rotated object uses a bucket key if it had one, or if a new object of its kind in its bucket would (the
   * bucket's BucketKeyEnabled, or sse.bucketKeys for SSE-S3): rotation never makes an object depend on kes more
   * than a write would, and an object keeps its bucket key choice.
   */
  rotationUsesBucketKey(stored: StoredSSE, bucketDefault: BucketEncryption | undefined): boolean {
    if (!this.modes[stored.sse].canRotate || !this.options.bucketKeys) return false;
    return stored.bucketKey !== undefined || this.bucketKeyFor(stored.sse, undefined, bucketDefault);
  }
}
