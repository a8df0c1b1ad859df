// Where rotation jobs are kept, so that a job outlives the gateway that started it: the contract, and the
// factory that picks the implementation from where the backend keeps them (a SQLite file beside embedded
// metadata; tables of the shared PostgreSQL metadata database, where every gateway sees them).
//
// One gateway runs a job at a time: the one holding the job's lease (jobLeaseName) in the metadata store.
// The runner's writes are fenced by that lease: a gateway that lost it (it stalled past the lease's expiry
// and another took over) has its writes refused, so it can never overwrite the new holder's progress.
import type { MetadataStore } from '../storage/metadata/types.js';
import type { RotationJobsHome } from '../storage/object-store.js';
import { PostgresJobStore } from './job-store/postgres.js';
import { SqliteJobStore } from './job-store/sqlite.js';
import type { JobCounters, ObjectFailure, RotationJob } from './types.js';

/** The metadata store's lease a gateway holds while it runs the job. */
export function jobLeaseName(id: string): string {
  return `rotation-job:${id}`;
}

export interface JobStore {
  /** True when several gateways share these jobs (PostgreSQL); false for the embedded file. */
  readonly shared: boolean;
  /**
   * Stores a new job. A running job is stored only if no running job's scope overlaps it (scopesOverlap),
   * checked and inserted atomically — two gateways starting overlapping jobs at the same moment cannot
   * both succeed. Returns the running job that overlaps (and stores nothing), or undefined when stored.
   */
  insert(job: RotationJob): Promise<RotationJob | undefined>;
  get(id: string): Promise<RotationJob | undefined>;
  /** Newest first. */
  list(limit?: number): Promise<RotationJob[]>;
  /** Jobs in the `running` state, oldest first (whether a gateway runs them now or not). */
  running(): Promise<RotationJob[]>;

  // The running gateway's writes: each is refused (false, nothing written) unless `holder` holds the job's
  // lease and the job is still running.

  /** The finished prefix of the listing: counters, the last key and the failures recorded so far. */
  saveProgress(id: string, holder: string, counters: JobCounters, lastKey: string | undefined, failures: ObjectFailure[]): Promise<boolean>;
  saveTarget(id: string, holder: string, version: string | undefined): Promise<boolean>;
  saveTotal(id: string, holder: string, total: number): Promise<boolean>;
  /** Stores the job's end state (state, counters, last key, failures, error, finishedAt). */
  finish(job: RotationJob, holder: string): Promise<boolean>;

  /**
   * Asks for a running job to be cancelled (any gateway may): its holder sees the request and ends it.
   * Returns the job as stored afterwards; undefined when there is no such job.
   */
  requestCancel(id: string): Promise<RotationJob | undefined>;
  close(): Promise<void>;
}

/** Who holds a lease, as the metadata store says: what the embedded job store checks its writes against. */
export type LeaseHolders = Pick<MetadataStore, 'leaseHolder'>;

/**
 * Opens the job store the backend names. The PostgreSQL one uses the metadata store's pool and tables its
 * migrations made, so opening it does not touch the database.
 */
export function openJobStore(home: RotationJobsHome, leases: LeaseHolders): JobStore {
  if ('sqlite' in home) return new SqliteJobStore(home.sqlite, leases);
  return new PostgresJobStore(home.postgres);
}
