import type { CustomerKey, SSEKind, SSERequest, StoredSSE } from './types.js';

export interface ObjectPath {
  bucket: string;
  key: string;
}

export interface SealedObject {
  /** The object encryption key: encrypt with it, then let it go. */
  oek: Buffer;
  stored: StoredSSE;
}

/** A kes master key (and the version of it, when kes reports versions) an object's key is sealed under. */
export interface MasterKeyRef {
  key: string;
  version?: string;
}

/**
 * One SSE mode (as MinIO's internal/crypto has one file per mode: sse-c.ts, sse-s3.ts, sse-kms.ts): how a new
 * object's key is made and sealed, how a stored object's key is recovered, and every rule of the S3 API that
 * differs between modes, so that callers ask the mode rather than test which one it is. The gateway picks the
 * mode once (ObjectEncryption).
 */
export interface SSEMode {
  readonly kind: SSEKind;
  /** Seal `oek` (a fresh one when omitted) for the object at `path`, as `req` asks. */
  seal(req: SSERequest, path: ObjectPath, oek?: Buffer): Promise<SealedObject>;
  /** The OEK of a stored object; `customer` is the SSE-C key the request carried, if any. */
  unseal(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<Buffer>;
  /**
   * What a metadata read (HEAD, GetObjectAttributes) checks of the request's key: what a read would, but
   * without asking kes (a HEAD works while kes is sealed; only reading data needs the key).
   */
  checkMetadataAccess(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<void>;
  /** `x-amz-server-side-encryption*` response headers describing the object. */
  responseHeaders(stored: StoredSSE): Record<string, string>;

  /** Whether the ETag of data written under this mode is its MD5, which must then be computed as it streams. */
  readonly etagIsMD5: boolean;
  /** The ETag of new data (an object or a part), from the digests of its plaintext. */
  etag(digests: { md5Hex: string }): string;

  /** Refuses an UploadPart whose SSE-C key does not follow the upload's record (`upload`). */
  checkPartKey(upload: StoredSSE, customer: CustomerKey | undefined): void;

  /** Whether key rotation re-wraps this mode's objects (their key is sealed under a kes master key). */
  readonly canRotate: boolean;
  /** The master key the object depends on; undefined when the record names none (or the mode has none). */
  masterKey(stored: StoredSSE): MasterKeyRef | undefined;
  /**
   * Key rotation: the same OEK sealed under `to` with a new IV — under a fresh data key, or, with `bucketKey`,
   * under the current bucket key of `to`. Object data is untouched; only the record changes.
   */
  rewrap(stored: StoredSSE, path: ObjectPath, to: MasterKeyRef, bucketKey: boolean): Promise<StoredSSE>;
  /**
   * A key change without rewriting data (CopyObject of an object onto itself): the record resealed under the
   * key `req` carries, the IV kept; `oldKey` is the copy source's key. Undefined when this mode cannot change
   * keys that way for `req` (a real copy is made then).
   */
  rekeyInPlace(stored: StoredSSE, path: ObjectPath, oldKey: CustomerKey | undefined, req: SSERequest): Promise<StoredSSE> | undefined;
}

/** A request's header by (lower-case) name, its first value when sent more than once. */
export type HeaderOf = (name: string) => string | undefined;
