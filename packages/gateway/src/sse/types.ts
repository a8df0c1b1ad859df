import type { SSEDomain } from '@kesgate/dare';
import type { StoredBucketKey } from './bucket-keys.js';

export type SSEKind = SSEDomain;

/** What a request asks for, after its headers were validated. */
export type SSERequest =
  | { kind: 'SSE-C'; key: Buffer; keyMD5: string }
  | {
      kind: 'SSE-S3';
      /** x-amz-server-side-encryption-bucket-key-enabled as sent; when absent the bucket or gateway default decides. */
      bucketKey?: boolean;
      /** Only the bucket-key header was sent, no encryption: the bucket's default applies (ObjectEncryption.choose). */
      bucketDefault?: true;
    }
  | { kind: 'SSE-KMS'; keyId?: string; context?: Record<string, string>; bucketKey?: boolean };

/** The client's SSE-C key as sent on a request (for reads, part uploads and copy sources). */
export interface CustomerKey {
  key: Buffer;
  keyMD5: string;
}

/**
 * The encryption fields stored with an object (docs/object-format.md, "What the gateway stores"). All of it is safe
 * to show: the OEK is sealed, the EK is a kes ciphertext or (SSE-C) never stored.
 */
export interface StoredSSE {
  sse: SSEKind;
  iv: string;
  sealAlgorithm: string;
  sealedKey: string;
  kmsKey?: string;
  kmsKeyVersion?: string;
  kmsCiphertext?: string;
  /** base64 of the canonical JSON of the client's SSE-KMS context, if one was given. */
  kmsContext?: string;
  /** SSE-C: the MD5 of the client's key, echoed back as AWS does. */
  sseCKeyMD5?: string;
  /** Sealed under a bucket key (bucket-keys.ts) rather than a data key of its own: which one. No kmsCiphertext then. */
  bucketKey?: StoredBucketKey;
  /** Multipart objects encrypt part n under partKey(OEK, n); single-part objects under the OEK itself. */
  multipart?: boolean;
}
