// The shapes of a rotation job: what an operator asks for and what the job reports.

/** `POST rotate`: which objects to re-wrap, and under which master key. */
export interface RotationRequest {
  bucket: string;
  /** Only keys starting with this; empty for the whole bucket. */
  prefix: string;
  /** The master key to re-wrap under (its latest version). */
  toKey: string;
  /** Only objects currently sealed under this master key (any version). */
  fromKey?: string;
  /** Count what would be rotated; change nothing. */
  dryRun: boolean;
}

/**
 * `done`: every object looked at is rotated or rightly skipped. `incomplete`: the job went through its
 * objects but some failed (kes stayed sealed or unreachable past the job's wait, a key was sealed, …) and
 * are still under their old key: `failures` names them, and rotating again retries exactly those.
 */
export type JobState = 'running' | 'done' | 'incomplete' | 'failed' | 'cancelled';

/** Why an object was left as it was. */
export type SkipReason = 'sse-c' | 'current' | 'other-key' | 'gone';

export interface JobCounters {
  /** Object versions (and unfinished multipart uploads) looked at. */
  scanned: number;
  /** Objects re-wrapped (in a dry run: that would be). */
  rotated: number;
  skipped: number;
  failed: number;
  /** Extra attempts after kes errors (all objects together). */
  retries: number;
  skippedBy: Record<SkipReason, number>;
}

export interface ObjectFailure {
  key: string;
  error: string;
}

export interface RotationJob extends RotationRequest {
  id: string;
  state: JobState;
  /** The target key version found when the job (re)started, if kes reports versions. */
  targetVersion?: string;
  /** Object versions and unfinished multipart uploads under the prefix when the job (re)started, once counted. */
  total?: number;
  counters: JobCounters;
  /** The last key fully handled in listing order: a restarted job goes on after it. */
  lastKey?: string;
  /** Why the job failed as a whole (not per object: see failures). */
  error?: string;
  /** The first few objects that failed, with the reason. */
  failures: ObjectFailure[];
  /** Someone asked for the job to be cancelled; the gateway running it ends it as `cancelled`. */
  cancelRequested?: true;
  createdAt: string;
  finishedAt?: string;
}

export const MAX_RECORDED_FAILURES = 20;

export function emptyCounters(): JobCounters {
  return { scanned: 0, rotated: 0, skipped: 0, failed: 0, retries: 0, skippedBy: { 'sse-c': 0, current: 0, 'other-key': 0, gone: 0 } };
}

/** What happened to one object. */
export type ObjectOutcome =
  | { result: 'rotated'; retries: number }
  | { result: 'skipped'; reason: SkipReason; retries: number }
  | { result: 'failed'; error: string; retries: number };

export function addOutcome(c: JobCounters, o: ObjectOutcome): void {
  c.scanned++;
  c.retries += o.retries;
  if (o.result === 'rotated') c.rotated++;
  else if (o.result === 'failed') c.failed++;
  else {
    c.skipped++;
    c.skippedBy[o.reason]++;
  }
}
