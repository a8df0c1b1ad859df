// Which objects a rotation job re-wraps: a pure decision on the stored SSE record, as its mode describes it.
import type { SSEMode } from '../sse/mode.js';
import type { StoredSSE } from '../sse/types.js';
import type { SkipReason } from './types.js';

/** The master key (and its latest version, when kes reports versions) objects are rotated onto. */
export interface RotationTarget {
  key: string;
  version?: string;
}

export type Decision = { action: 'rotate'; sse: StoredSSE } | { action: 'skip'; reason: SkipReason } | { action: 'fail'; error: string };

/** `mode`: the mode of `sse` (ObjectEncryption.mode). */
export function decide(sse: StoredSSE, mode: SSEMode, target: RotationTarget, fromKey: string | undefined): Decision {
  // Objects under a key the gateway does not hold are re-keyed by their owner (CopyObject with the old and new
  // customer keys), never here. SSE-C is the one such mode, and the job's report counts them under its name.
  if (!mode.canRotate) return { action: 'skip', reason: 'sse-c' };
  const from = mode.masterKey(sse);
  if (!from) return { action: 'fail', error: 'the object metadata has no KMS key reference' };
  if (fromKey !== undefined && from.key !== fromKey) return { action: 'skip', reason: 'other-key' };
  if (from.key === target.key && from.version === target.version) return { action: 'skip', reason: 'current' };
  return { action: 'rotate', sse };
}
