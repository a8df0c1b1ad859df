// The gateway's rotation jobs: start, look up, list, cancel; resume the unfinished ones at startup and
// pause them (not end them) at shutdown.
import { randomUUID } from 'node:crypto';
import type { GatewayServices } from '../http/context.js';
import { openJobStore, type JobStore } from './job-store.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { JobRunner, type RunnerDeps } from './runner.js';
import { resolveTarget } from './target.js';
import { emptyCounters, type RotationJob, type RotationRequest } from './types.js';

export interface RotationOptions {
  /** A rotation.db to keep jobs in; default: where the backend keeps them (beside SQLite's meta.db, or in PostgreSQL). */
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
    this.jobs = openJobStore(options.dbPath !== undefined ? { sqlite: options.dbPath } : svc.backend.rotationJobs);
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
    // Every running job, whichever gateway runs it.
    const clash = (await this.jobs.running()).find((j) => j.bucket === request.bucket && overlaps(j.prefix, request.prefix));
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
    await this.jobs.insert(job);
    this.launch(new JobRunner(job, this.deps, target));
    return this.get(job.id);
  }

  /** Resumes every job the job store says is running (after a restart or a crash). */
  async resume(): Promise<RotationJob[]> {
    this.assertOpen();
    const resumed: RotationJob[] = [];
    for (const job of await this.jobs.running()) {
      if (this.closed) break;
      if (this.runners.has(job.id)) continue;
      this.launch(new JobRunner(job, this.deps));
      resumed.push(job);
    }
    return resumed;
  }

  async get(id: string): Promise<RotationJob> {
    const live = this.runners.get(id);
    if (live) return live.snapshot();
    const stored = await this.jobs.get(id);
    if (!stored) throw new UnknownJob(id);
    return stored;
  }

  /** Newest first; running jobs show their live counters. */
  async list(limit = 100): Promise<RotationJob[]> {
    return (await this.jobs.list(limit)).map((j) => this.runners.get(j.id)?.snapshot() ?? j);
  }

  /** Ends a running job as cancelled once the objects in hand are done; resolves with its final state. */
  async cancel(id: string): Promise<RotationJob> {
    const runner = this.runners.get(id);
    if (!runner) {
      const job = await this.get(id);
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

  /** Pauses the running jobs (they resume at the next start) and closes the job store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    await this.jobs.close();
  }

  private launch(runner: JobRunner): void {
    this.runners.set(runner.id, runner);
    void runner.start().then(() => this.runners.delete(runner.id));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the rotation manager is closed (the gateway is shutting down)');
  }
}
