// Retries with exponential backoff for calls to kes that fail in a way that may pass (sealed, unreachable).
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Error } from '../s3/errors.js';

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Pause before the second try; doubled each time after, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5000 };

/** The KMS adapter turns every "kes is sealed / unavailable / timing out" into this; anything else is final. */
export function isRetryable(err: unknown): boolean {
  return err instanceof S3Error && err.code === 'ServiceUnavailable';
}

/** Delay before attempt `n` (2, 3, …): half fixed, half random, so parallel workers do not retry in step. */
export function backoffDelay(policy: RetryPolicy, n: number): number {
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 2));
  return full / 2 + Math.random() * (full / 2);
}

/**
 * Runs `fn` until it succeeds, fails in a non-retryable way, or `attempts` are used up; rethrows the
 * last error. `onRetry` is told before each extra attempt; `stopped` ends the waiting early (shutdown).
 */
export async function withRetries<T>(
  fn: () => Promise<T>,
  policy: RetryPolicy,
  onRetry: () => void = () => {},
  stopped: () => boolean = () => false,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetryable(err) || n >= policy.attempts || stopped()) throw err;
      onRetry();
      await sleep(backoffDelay(policy, n + 1));
    }
  }
}
