// The latest version of the target master key, learnt the one way the gateway's kes policy surely
// allows: a data key generated (and dropped) with a context no object uses.
import type { KMS } from '../kms/kms.js';
import type { RotationTarget } from './plan.js';
import { withRetries, type RetryPolicy } from './retry.js';

const PROBE_CONTEXT = Buffer.from('{"kesgate":"rotation-probe"}');

/** Fails like the KMS does: KMS.NotFoundException, KMS.DisabledException, ServiceUnavailable (after retries). */
export async function resolveTarget(
  kms: KMS,
  key: string,
  retry: RetryPolicy,
  stopped: () => boolean = () => false,
): Promise<RotationTarget> {
  const dk = await withRetries(() => kms.generate(key, PROBE_CONTEXT), retry, undefined, stopped);
  dk.plaintext.fill(0);
  return dk.version !== undefined ? { key, version: dk.version } : { key };
}
