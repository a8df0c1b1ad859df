// Retries with exponential backoff for calls to kes that fail in a way that may pass (sealed, unreachable).
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Error } from '../s3/errors.js';
import type { KesOutage } from './kes-outage.js';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Pause before the second try; doubled each time after, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * The job's kes outage: with it, a call failing because kes is sealed or unreachable is retried for as
   * long as the outage is within its limit, instead of `attempts` times (a job waits for kes rather than
   * fail objects, and once it has waited long enough, fails the rest at once).
   */
  outage?: KesOutage;
  /** How long a job waits through one kes outage (each job gets its own KesOutage with this limit). */
  waitForKesMs?: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5000 };

/** The KMS adapter turns every "kes is sealed / unavailable / timing out" into this; anything else is final. */
function isRetryable(err: unknown): boolean {
  return err instanceof S3Error && err.code === 'ServiceUnavailable';
}

/** Delay before attempt `n` (2, 3, …): half fixed, half random, so parallel workers do not retry in step. */
export function backoffDelay(policy: RetryPolicy, n: number): number {
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 2));
  return full / 2 + Math.random() * (full / 2);
}

/**
 * Runs `fn` until it succeeds, fails in a non-retryable way, or `attempts` are used up (with an `outage`:
 * until the outage has outlasted its limit); rethrows the last error. `onRetry` is told before each
 * extra attempt; `stopped` ends the waiting early (shutdown).
 */
export async function withRetries<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  onRetry: () => void = () => {},
  stopped: () => boolean = () => false,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      const value = await fn();
      policy.outage?.recovered();
      return value;
    } catch (err) {
      if (!isRetryable(err) || stopped()) throw err;
      // With an outage to follow, its limit decides alone: past it, no more waiting for any object.
      const again = policy.outage ? policy.outage.failed() : n < policy.attempts;
      if (!again) throw err;
      onRetry();
      await sleep(backoffDelay(policy, n + 1));
    }
  }
}
