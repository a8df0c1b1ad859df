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

/**
 * One SSE mode (as MinIO's internal/crypto has one file per mode): how a new object's key is made and sealed,
 * how a stored object's key is recovered, and what the responses say about it. The gateway picks the mode once.
 */
export interface SSEMode {
  readonly kind: SSEKind;
  /** Seal `oek` (a fresh one when omitted) for the object at `path`, as `req` asks. */
  seal(req: SSERequest, path: ObjectPath, oek?: Buffer): Promise<SealedObject>;
  /** The OEK of a stored object; `customer` is the SSE-C key the request carried, if any. */
  unseal(stored: StoredSSE, path: ObjectPath, customer: CustomerKey | undefined): Promise<Buffer>;
  /** `x-amz-server-side-encryption*` response headers describing the object. */
  responseHeaders(stored: StoredSSE): Record<string, string>;
}
