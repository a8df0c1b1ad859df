// Where rotation jobs are kept, so that a job outlives the gateway that started it: the contract, and the
// factory that picks the implementation from where the backend keeps them (a SQLite file beside embedded
// metadata; tables of the shared PostgreSQL metadata database, where every gateway sees them).
import type { RotationJobsHome } from '../storage/object-store.js';
import { PostgresJobStore } from './job-store/postgres.js';
import { SqliteJobStore } from './job-store/sqlite.js';
import type { JobCounters, ObjectFailure, RotationJob } from './types.js';

export interface JobStore {
  /** True when several gateways share these jobs (PostgreSQL); false for the embedded file. */
  readonly shared: boolean;
  insert(job: RotationJob): Promise<void>;
  get(id: string): Promise<RotationJob | undefined>;
  /** Newest first. */
  list(limit?: number): Promise<RotationJob[]>;
  /** Jobs in the `running` state, oldest first (whether a gateway runs them now or not). */
  running(): Promise<RotationJob[]>;
  /** The finished prefix of the listing: counters, the last key and the failures recorded so far. */
  saveProgress(id: string, counters: JobCounters, lastKey: string | undefined, failures: ObjectFailure[]): Promise<void>;
  saveTarget(id: string, version: string | undefined): Promise<void>;
  saveTotal(id: string, total: number): Promise<void>;
  /** Stores the job's end state (state, counters, last key, failures, error, finishedAt). */
  finish(job: RotationJob): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the job store the backend names. The PostgreSQL one uses the metadata store's pool and tables its
 * migrations made, so opening it does not touch the database.
 */
export function openJobStore(home: RotationJobsHome): JobStore {
  if ('sqlite' in home) return new SqliteJobStore(home.sqlite);
  return new PostgresJobStore(home.postgres);
}
