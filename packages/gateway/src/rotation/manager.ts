// The gateway's rotation jobs: start, look up, list, cancel; resume the unfinished ones at startup and
// pause them (not end them) at shutdown.
import { randomUUID } from 'node:crypto';
import type { GatewayServices } from '../http/context.js';
import type { RotationJobsHome } from '../storage/object-store.js';
import { JobStore } from './job-store.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { JobRunner, type RunnerDeps } from './runner.js';
import { resolveTarget } from './target.js';
import { emptyCounters, type RotationJob, type RotationRequest } from './types.js';

export interface RotationOptions {
  /** Where rotation.db lives; default: where the backend keeps rotation jobs (beside SQLite's meta.db). */
  dbPath?: string;
  /** Objects handled at once per job; default config.rotation.concurrency. */
  concurrency?: number;
  retry?: RetryPolicy;
  beforeObject?: RunnerDeps['beforeObject'];
}

/** A job that cannot start: the message says why; `status` is the HTTP status the admin API answers with. */
export class RotationConflict extends Error {
  override readonly name = 'RotationConflict';
  readonly status = 409;
}

export class UnknownJob extends Error {
  override readonly name = 'UnknownJob';
  readonly status = 404;
  constructor(readonly id: string) {
    super(`There is no rotation job with the id "${id}".`);
  }
}

/**
 * The job database the backend names. With a PostgreSQL metadata store jobs belong in PostgreSQL, where
 * every gateway sees them; that job store is not written yet.
 */
function jobDatabase(home: RotationJobsHome): string {
  if ('sqlite' in home) return home.sqlite;
  throw new Error(`rotation jobs kept in the ${home.metadataStore} metadata store are not available in this build of kesgate`);
}

function overlaps(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

export class RotationManager {
  readonly jobs: JobStore;
  private readonly runners = new Map<string, JobRunner>();
  private readonly deps: RunnerDeps;
  private closed = false;

  constructor(
    private readonly svc: GatewayServices,
    options: RotationOptions = {},
  ) {
    this.jobs = new JobStore(options.dbPath ?? jobDatabase(svc.backend.rotationJobs));
    this.deps = {
      store: svc.store,
      enc: svc.enc,
      jobs: this.jobs,
      logger: svc.logger,
      metrics: svc.metrics,
      concurrency: options.concurrency ?? svc.config.rotation.concurrency,
      retry: options.retry ?? DEFAULT_RETRY,
      ...(options.beforeObject ? { beforeObject: options.beforeObject } : {}),
    };
  }

  /**
   * Checks the request (the bucket exists, no running job covers the same keys, the target key is
   * usable) and starts the job. Throws the store's NoSuchBucket, the KMS's S3Errors, or RotationConflict.
   */
  async start(request: RotationRequest): Promise<RotationJob> {
    this.assertOpen();
    await this.svc.store.headBucket(request.bucket);
    const clash = [...this.runners.values()]
      .map((r) => r.snapshot())
      .find((j) => j.state === 'running' && j.bucket === request.bucket && overlaps(j.prefix, request.prefix));
    if (clash) {
      throw new RotationConflict(
        `Rotation job ${clash.id} is already running on bucket "${clash.bucket}"${clash.prefix ? ` with prefix "${clash.prefix}"` : ''}; wait for it or cancel it first.`,
      );
    }
    const target = await resolveTarget(this.svc.enc.kms, request.toKey, this.deps.retry);
    const job: RotationJob = {
      id: randomUUID(),
      ...request,
      state: 'running',
      ...(target.version !== undefined ? { targetVersion: target.version } : {}),
      counters: emptyCounters(),
      failures: [],
      createdAt: new Date().toISOString(),
    };
    this.jobs.insert(job);
    this.launch(new JobRunner(job, this.deps, target));
    return this.get(job.id);
  }

  /** Resumes every job rotation.db says is running (after a restart or a crash). */
  resume(): RotationJob[] {
    this.assertOpen();
    const resumed: RotationJob[] = [];
    for (const job of this.jobs.running()) {
      if (this.runners.has(job.id)) continue;
      this.launch(new JobRunner(job, this.deps));
      resumed.push(job);
    }
    return resumed;
  }

  get(id: string): RotationJob {
    const live = this.runners.get(id);
    if (live) return live.snapshot();
    const stored = this.jobs.get(id);
    if (!stored) throw new UnknownJob(id);
    return stored;
  }

  /** Newest first; running jobs show their live counters. */
  list(limit = 100): RotationJob[] {
    return this.jobs.list(limit).map((j) => this.runners.get(j.id)?.snapshot() ?? j);
  }

  /** Ends a running job as cancelled once the objects in hand are done; resolves with its final state. */
  async cancel(id: string): Promise<RotationJob> {
    const runner = this.runners.get(id);
    if (!runner) {
      const job = this.get(id);
      throw new RotationConflict(`Rotation job ${id} is not running (it is ${job.state}).`);
    }
    runner.cancel();
    await runner.finished;
    return this.get(id);
  }

  /** Resolves when the job ends (or the manager closes). For tests and the CLI's in-process use. */
  async wait(id: string): Promise<RotationJob> {
    const runner = this.runners.get(id);
    if (!runner) return this.get(id);
    await runner.finished;
    return runner.snapshot();
  }

  /** Pauses the running jobs (they resume at the next start) and closes rotation.db. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.jobs.close();
  }

  private launch(runner: JobRunner): void {
    this.runners.set(runner.id, runner);
    void runner.start().then(() => this.runners.delete(runner.id));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the rotation manager is closed (the gateway is shutting down)');
  }
}
