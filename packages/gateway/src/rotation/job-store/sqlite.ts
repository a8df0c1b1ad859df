// Rotation jobs of the embedded layout in a small SQLite file (rotation.db, beside the SQLite metadata: the
// backend says where), so a job that was running when the gateway stopped is found and resumed at the next
// start. One process holds the embedded metadata, so these jobs are never shared; the runner's writes are
// still checked against the job's lease (kept in memory by the SQLite metadata store), as the contract says.
import DatabaseConstructor from 'better-sqlite3';
import type { Database, Statement } from 'better-sqlite3';
import { jobLeaseName, type JobStore, type LeaseHolders } from '../job-store.js';
import { scopesOverlap } from '../overlap.js';
import { emptyCounters, type JobCounters, type JobState, type ObjectFailure, type RotationJob } from '../types.js';

const SCHEMA_VERSION = 2;

const V1 = `
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  bucket TEXT NOT NULL,
  prefix TEXT NOT NULL,
  to_key TEXT NOT NULL,
  from_key TEXT,
  dry_run INTEGER NOT NULL,
  state TEXT NOT NULL,
  target_version TEXT,
  total INTEGER,
  counters TEXT NOT NULL,
  last_key TEXT,
  error TEXT,
  failures TEXT NOT NULL,
  created_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX jobs_state ON jobs (state);
`;

/** Version 2: a cancel asked for through another gateway (or with nobody running the job). */
const V2 = `ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;`;

interface JobRow {
  id: string;
  bucket: string;
  prefix: string;
  to_key: string;
  from_key: string | null;
  dry_run: number;
  state: string;
  target_version: string | null;
  total: number | null;
  counters: string;
  last_key: string | null;
  error: string | null;
  failures: string;
  cancel_requested: number;
  created_at: string;
  finished_at: string | null;
}

function toJob(r: JobRow): RotationJob {
  const job: RotationJob = {
    id: r.id,
    bucket: r.bucket,
    prefix: r.prefix,
    toKey: r.to_key,
    dryRun: r.dry_run === 1,
    state: r.state as JobState,
    counters: { ...emptyCounters(), ...(JSON.parse(r.counters) as Partial<JobCounters>) },
    failures: JSON.parse(r.failures) as ObjectFailure[],
    createdAt: r.created_at,
  };
  if (r.from_key !== null) job.fromKey = r.from_key;
  if (r.target_version !== null) job.targetVersion = r.target_version;
  if (r.total !== null) job.total = r.total;
  if (r.last_key !== null) job.lastKey = r.last_key;
  if (r.error !== null) job.error = r.error;
  if (r.finished_at !== null) job.finishedAt = r.finished_at;
  if (r.cancel_requested === 1) job.cancelRequested = true;
  return job;
}

export class SqliteJobStore implements JobStore {
  readonly shared = false;
  private readonly db: Database;
  private readonly s: {
    insert: Statement;
    progress: Statement;
    finish: Statement;
    target: Statement;
    total: Statement;
    cancel: Statement;
    get: Statement<[string], JobRow>;
    list: Statement<[number], JobRow>;
    running: Statement<[], JobRow>;
  };

  constructor(
    readonly path: string,
    private readonly leases: LeaseHolders,
  ) {
    this.db = new DatabaseConstructor(path, { timeout: 5000 });
    try {
      this.db.pragma('journal_mode = WAL');
      // A lost progress update costs re-checking a few objects (they are then skipped as current): NORMAL is enough.
      this.db.pragma('synchronous = NORMAL');
      this.migrate();
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.s = {
      insert: this.db.prepare(
        `INSERT INTO jobs (id, bucket, prefix, to_key, from_key, dry_run, state, target_version, total, counters, last_key, error, failures, created_at, finished_at)
         VALUES (@id, @bucket, @prefix, @to_key, @from_key, @dry_run, @state, @target_version, @total, @counters, @last_key, @error, @failures, @created_at, @finished_at)`,
      ),
      progress: this.db.prepare(`UPDATE jobs SET counters = ?, last_key = ?, failures = ? WHERE id = ? AND state = 'running'`),
      finish: this.db.prepare(
        `UPDATE jobs SET state = ?, counters = ?, last_key = ?, failures = ?, error = ?, finished_at = ? WHERE id = ? AND state = 'running'`,
      ),
      target: this.db.prepare(`UPDATE jobs SET target_version = ? WHERE id = ? AND state = 'running'`),
      total: this.db.prepare(`UPDATE jobs SET total = ? WHERE id = ? AND state = 'running'`),
      cancel: this.db.prepare(`UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'`),
      get: this.db.prepare('SELECT * FROM jobs WHERE id = ?'),
      list: this.db.prepare('SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT ?'),
      running: this.db.prepare(`SELECT * FROM jobs WHERE state = 'running' ORDER BY created_at, id`),
    };
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`${this.path} was written by a newer kesgate (schema ${version}, this one knows ${SCHEMA_VERSION})`);
    }
    if (version === SCHEMA_VERSION) return;
    // Each step takes rotation.db from the version before it to its own; jobs of older files are kept.
    const steps = [V1, V2];
    this.db.transaction(() => {
      for (const step of steps.slice(version)) this.db.exec(step);
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  async insert(job: RotationJob): Promise<RotationJob | undefined> {
    // One synchronous transaction: nothing else runs between the check and the insert (the embedded
    // store has one gateway).
    return this.db.transaction(() => {
      if (job.state === 'running') {
        const clash = this.s.running
          .all()
          .map(toJob)
          .find((r) => scopesOverlap(r, job));
        if (clash) return clash;
      }
      this.s.insert.run({
        id: job.id,
        bucket: job.bucket,
        prefix: job.prefix,
        to_key: job.toKey,
        from_key: job.fromKey ?? null,
        dry_run: job.dryRun ? 1 : 0,
        state: job.state,
        target_version: job.targetVersion ?? null,
        total: job.total ?? null,
        counters: JSON.stringify(job.counters),
        last_key: job.lastKey ?? null,
        error: job.error ?? null,
        failures: JSON.stringify(job.failures),
        created_at: job.createdAt,
        finished_at: job.finishedAt ?? null,
      });
      return undefined;
    })();
  }

  async saveProgress(
    id: string,
    holder: string,
    counters: JobCounters,
    lastKey: string | undefined,
    failures: ObjectFailure[],
  ): Promise<boolean> {
    return this.fenced(
      id,
      holder,
      () => this.s.progress.run(JSON.stringify(counters), lastKey ?? null, JSON.stringify(failures), id).changes,
    );
  }

  async saveTarget(id: string, holder: string, version: string | undefined): Promise<boolean> {
    return this.fenced(id, holder, () => this.s.target.run(version ?? null, id).changes);
  }

  async saveTotal(id: string, holder: string, total: number): Promise<boolean> {
    return this.fenced(id, holder, () => this.s.total.run(total, id).changes);
  }

  async finish(job: RotationJob, holder: string): Promise<boolean> {
    return this.fenced(
      job.id,
      holder,
      () =>
        this.s.finish.run(
          job.state,
          JSON.stringify(job.counters),
          job.lastKey ?? null,
          JSON.stringify(job.failures),
          job.error ?? null,
          job.finishedAt ?? null,
          job.id,
        ).changes,
    );
  }

  async requestCancel(id: string): Promise<RotationJob | undefined> {
    this.s.cancel.run(id);
    return this.get(id);
  }

  async get(id: string): Promise<RotationJob | undefined> {
    const row = this.s.get.get(id);
    return row ? toJob(row) : undefined;
  }

  /** Newest first. */
  async list(limit = 100): Promise<RotationJob[]> {
    return this.s.list.all(limit).map(toJob);
  }

  async running(): Promise<RotationJob[]> {
    return this.s.running.all().map(toJob);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Runs `write` (which returns the rows it changed) if `holder` holds the job's lease. */
  private async fenced(id: string, holder: string, write: () => number): Promise<boolean> {
    // Only this process takes leases of the embedded store, and never one of a job it runs: nobody can
    // take this one between the check and the write.
    if ((await this.leases.leaseHolder(jobLeaseName(id))) !== holder) return false;
    return write() === 1;
  }
}
