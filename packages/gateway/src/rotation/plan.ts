// Which objects a rotation job re-wraps: a pure decision on the stored SSE fields.
import type { SseFields } from '../storage/types.js';
import type { StoredSSE } from '../sse/types.js';
import type { SkipReason } from './types.js';

/** The master key (and its latest version, when kes reports versions) objects are rotated onto. */
export interface RotationTarget {
  key: string;
  version?: string;
}

export type Decision = { action: 'rotate'; sse: StoredSSE } | { action: 'skip'; reason: SkipReason } | { action: 'fail'; error: string };

export function decide(fields: SseFields, target: RotationTarget, fromKey: string | undefined): Decision {
  const sse = fields as Partial<StoredSSE>;
  // SSE-C objects are re-keyed by their owner (CopyObject with the old and new customer keys), never here.
  if (sse.sse === 'SSE-C') return { action: 'skip', reason: 'sse-c' };
  if (sse.sse !== 'SSE-S3' && sse.sse !== 'SSE-KMS') {
    return { action: 'fail', error: `the object metadata names no known encryption ("${String(sse.sse)}")` };
  }
  // A data key of its own (kmsCiphertext), or a bucket key's (bucketKey.kmsCiphertext).
  const ciphertext = sse.bucketKey ? sse.bucketKey.kmsCiphertext : sse.kmsCiphertext;
  if (typeof sse.kmsKey !== 'string' || typeof ciphertext !== 'string') {
    return { action: 'fail', error: 'the object metadata has no KMS key reference' };
  }
  if (fromKey !== undefined && sse.kmsKey !== fromKey) return { action: 'skip', reason: 'other-key' };
  if (sse.kmsKey === target.key && sse.kmsKeyVersion === target.version) return { action: 'skip', reason: 'current' };
  return { action: 'rotate', sse: sse as StoredSSE };
}
