// Rotation jobs in the PostgreSQL metadata database (table rotation_jobs, made by the metadata store's
// migrations), so every gateway sharing the database sees every job and can take over one whose gateway
// died. Uses the metadata store's connection pool; times are stored as ms since the epoch.
import type { PostgresDatabase } from '../../storage/metadata/postgres/database.js';
import type { JobStore } from '../job-store.js';
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

  async insert(job: RotationJob): Promise<void> {
    await this.db.transaction((tx) =>
      tx.query(
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
      ),
    );
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

  async saveProgress(id: string, counters: JobCounters, lastKey: string | undefined, failures: ObjectFailure[]): Promise<void> {
    await this.update(id, 'counters = $2, last_key = $3, failures = $4', [JSON.stringify(counters), lastKey ?? null, JSON.stringify(failures)]);
  }

  async saveTarget(id: string, version: string | undefined): Promise<void> {
    await this.update(id, 'target_version = $2', [version ?? null]);
  }

  async saveTotal(id: string, total: number): Promise<void> {
    await this.update(id, 'total = $2', [total]);
  }

  async finish(job: RotationJob): Promise<void> {
    await this.update(job.id, 'state = $2, counters = $3, last_key = $4, failures = $5, error = $6, finished_at = $7', [
      job.state,
      JSON.stringify(job.counters),
      job.lastKey ?? null,
      JSON.stringify(job.failures),
      job.error ?? null,
      job.finishedAt !== undefined ? ms(job.finishedAt) : null,
    ]);
  }

  /** The pool belongs to the metadata store, which closes it. */
  async close(): Promise<void> {}

  private async update(id: string, set: string, params: unknown[]): Promise<void> {
    await this.db.transaction((tx) => tx.query(`UPDATE rotation_jobs SET ${set} WHERE id = $1`, [id, ...params]));
  }
}
