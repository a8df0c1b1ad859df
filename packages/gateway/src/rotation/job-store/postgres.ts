// Rotation jobs in the PostgreSQL metadata database (table rotation_jobs, made by the metadata store's
// migrations), so every gateway sharing the database sees every job and can take over one whose gateway
// died. Uses the metadata store's connection pool; times are stored as ms since the epoch.
//
// A write of the running gateway locks the row of its lease (FOR SHARE) after checking it holds it: a
// gateway taking the lease over (an UPDATE of that row) waits for the write to commit, and reads the job
// after it, so a takeover never misses progress and a stale holder never writes after one.
import type { PostgresDatabase } from '../../storage/metadata/postgres/database.js';
import { jobLeaseName, type JobStore } from '../job-store.js';
import { scopesOverlap } from '../overlap.js';
import { NOW_MS } from '../../storage/metadata/postgres/coordination.js';
import { emptyCounters, type JobCounters, type JobState, type ObjectFailure, type RotationJob } from '../types.js';

interface JobRow {
  id: string;
  bucket: string;
  prefix: string;
  to_key: string;
  from_key: string | null;
  dry_run: boolean;
  state: string;
  target_version: string | null;
  total: number | null;
  counters: string;
  last_key: string | null;
  error: string | null;
  failures: string;
  cancel_requested: boolean;
  created_at: number;
  finished_at: number | null;
}

const COLUMNS =
  'id, bucket, prefix, to_key, from_key, dry_run, state, target_version, total, counters, last_key, error, failures, cancel_requested, created_at, finished_at';

const iso = (ms: number): string => new Date(ms).toISOString();

function toJob(r: JobRow): RotationJob {
  const job: RotationJob = {
    id: r.id,
    bucket: r.bucket,
    prefix: r.prefix,
    toKey: r.to_key,
    dryRun: r.dry_run,
    state: r.state as JobState,
    counters: { ...emptyCounters(), ...(JSON.parse(r.counters) as Partial<JobCounters>) },
    failures: JSON.parse(r.failures) as ObjectFailure[],
    createdAt: iso(r.created_at),
  };
  if (r.from_key !== null) job.fromKey = r.from_key;
  if (r.target_version !== null) job.targetVersion = r.target_version;
  if (r.total !== null) job.total = r.total;
  if (r.last_key !== null) job.lastKey = r.last_key;
  if (r.error !== null) job.error = r.error;
  if (r.finished_at !== null) job.finishedAt = iso(r.finished_at);
  if (r.cancel_requested) job.cancelRequested = true;
  return job;
}

/** ISO time → ms; the stored form keeps the milliseconds, so the round trip is exact. */
function ms(time: string): number {
  const value = Date.parse(time);
  if (Number.isNaN(value)) throw new TypeError(`not an ISO time: ${time}`);
  return value;
}

export class PostgresJobStore implements JobStore {
  readonly shared = true;

  constructor(private readonly db: PostgresDatabase) {}

  async insert(job: RotationJob): Promise<RotationJob | undefined> {
    return this.db.transaction(async (tx) => {
      if (job.state === 'running') {
        // Starts on one bucket take turns (a transaction-scoped advisory lock): the running jobs read after
        // the lock include every job a concurrent start committed, so overlapping starts cannot both pass.
        await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('kesgate rotation start ' || $1, 0))`, [job.bucket]);
        const running = await tx.query<JobRow>(`SELECT ${COLUMNS} FROM rotation_jobs WHERE state = 'running' AND bucket = $1`, [
          job.bucket,
        ]);
        const clash = running.rows.map(toJob).find((r) => scopesOverlap(r, job));
        if (clash) return clash;
      }
      await tx.query(
        `INSERT INTO rotation_jobs (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, false, $14, $15)`,
        [
          job.id,
          job.bucket,
          job.prefix,
          job.toKey,
          job.fromKey ?? null,
          job.dryRun,
          job.state,
          job.targetVersion ?? null,
          job.total ?? null,
          JSON.stringify(job.counters),
          job.lastKey ?? null,
          job.error ?? null,
          JSON.stringify(job.failures),
          ms(job.createdAt),
          job.finishedAt !== undefined ? ms(job.finishedAt) : null,
        ],
      );
      return undefined;
    });
  }

  async get(id: string): Promise<RotationJob | undefined> {
    const [row] = await this.db.read<JobRow>(`SELECT ${COLUMNS} FROM rotation_jobs WHERE id = $1`, [id]);
    return row ? toJob(row) : undefined;
  }

  async list(limit = 100): Promise<RotationJob[]> {
    const rows = await this.db.read<JobRow>(`SELECT ${COLUMNS} FROM rotation_jobs ORDER BY created_at DESC, id DESC LIMIT $1`, [limit]);
    return rows.map(toJob);
  }

  async running(): Promise<RotationJob[]> {
    const rows = await this.db.read<JobRow>(`SELECT ${COLUMNS} FROM rotation_jobs WHERE state = 'running' ORDER BY created_at, id`);
    return rows.map(toJob);
  }

  async saveProgress(
    id: string,
    holder: string,
    counters: JobCounters,
    lastKey: string | undefined,
    failures: ObjectFailure[],
  ): Promise<boolean> {
    return this.fenced(id, holder, 'counters = $2, last_key = $3, failures = $4', [
      JSON.stringify(counters),
      lastKey ?? null,
      JSON.stringify(failures),
    ]);
  }

  async saveTarget(id: string, holder: string, version: string | undefined): Promise<boolean> {
    return this.fenced(id, holder, 'target_version = $2', [version ?? null]);
  }

  async saveTotal(id: string, holder: string, total: number): Promise<boolean> {
    return this.fenced(id, holder, 'total = $2', [total]);
  }

  async finish(job: RotationJob, holder: string): Promise<boolean> {
    return this.fenced(job.id, holder, 'state = $2, counters = $3, last_key = $4, failures = $5, error = $6, finished_at = $7', [
      job.state,
      JSON.stringify(job.counters),
      job.lastKey ?? null,
      JSON.stringify(job.failures),
      job.error ?? null,
      job.finishedAt !== undefined ? ms(job.finishedAt) : null,
    ]);
  }

  async requestCancel(id: string): Promise<RotationJob | undefined> {
    const [row] = await this.db.transaction(async (tx) => {
      await tx.query(`UPDATE rotation_jobs SET cancel_requested = true WHERE id = $1 AND state = 'running'`, [id]);
      return (await tx.query<JobRow>(`SELECT ${COLUMNS} FROM rotation_jobs WHERE id = $1`, [id])).rows;
    });
    return row ? toJob(row) : undefined;
  }

  /** The pool belongs to the metadata store, which closes it. */
  async close(): Promise<void> {}

  /** `UPDATE … SET ${set}` of a running job ($1 is its id), if `holder` holds its lease. */
  private async fenced(id: string, holder: string, set: string, params: unknown[]): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const lease = await tx.query(`SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND expires_at > ${NOW_MS} FOR SHARE`, [
        jobLeaseName(id),
        holder,
      ]);
      if (lease.rowCount === 0) return false;
      const { rowCount } = await tx.query(`UPDATE rotation_jobs SET ${set} WHERE id = $1 AND state = 'running'`, [id, ...params]);
      return rowCount === 1;
    });
  }
}
