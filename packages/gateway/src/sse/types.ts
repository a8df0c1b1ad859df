import type { SSEDomain } from '@kesgate/dare';
import type { SSEKind } from '../storage/sse-record.js';

/** The stored record is storage's type (storage/sse-record.ts): the modes make it, storage keeps and checks it. */
export type { SSEKind, StoredSSE } from '../storage/sse-record.js';

// The stored modes are the format's seal domains, one for one: a new mode must be added to both.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const kindsAreDomains: Same<SSEKind, SSEDomain> = true;
void kindsAreDomains;

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
