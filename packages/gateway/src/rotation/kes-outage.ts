// How long a rotation job waits for kes. While kes is sealed or unreachable no object can be re-wrapped,
// so rather than fail each object after a few quick retries (and leave it under the old key), the job's
// workers keep backing off until kes answers again — within a bound: an outage that has lasted longer than
// the job's limit ends the waiting, and the objects still in hand are left behind (the job ends
// `incomplete`, naming them). One tracker per job, shared by its workers: the outage starts at the first
// failure any worker sees and ends at the first success.
import type { RetryPolicy } from './retry.js';
export class KesOutage {
  private since: number | undefined;

  constructor(
    /** How long one outage may last before the job stops waiting for it. */
    readonly limitMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A call failed because kes is sealed or unreachable: true while the job should go on waiting. */
  failed(): boolean {
    this.since ??= this.now();
    return this.now() - this.since < this.limitMs;
  }

  /** A call to kes succeeded: the outage, if any, is over. */
  recovered(): void {
    this.since = undefined;
  }

  /** Milliseconds the current outage has lasted (0 when kes answers). */
  get lasted(): number {
    return this.since === undefined ? 0 : this.now() - this.since;
  }
}

/** A job's own retry policy: the shared one, with an outage tracker of its own when the policy sets a limit. */
export function jobRetryPolicy(policy: RetryPolicy): RetryPolicy {
  return policy.waitForKesMs === undefined ? policy : { ...policy, outage: new KesOutage(policy.waitForKesMs) };
}
