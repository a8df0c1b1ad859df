// The gateway's rotation jobs: start, look up, list, cancel; resume the unfinished ones at startup and
// pause them (not end them) at shutdown.
//
// A job runs on one gateway at a time: the one holding its lease in the metadata store, renewed while it
// runs. Every gateway sees every job (the job store is shared when the metadata store is). When the store is
// shared, each gateway looks now and then for running jobs whose lease nobody holds (their gateway stopped,
// or died and its lease expired) and takes them over where their progress says. A cancel through any gateway
// is a request in the job store that the running gateway sees at its next lease renewal; a job nobody runs
// is ended by the gateway asked.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewayServices } from '../http/services.js';
import { HeldLease } from '../storage/lease.js';
import type { MetadataStore } from '../storage/metadata/types.js';
import { jobLeaseName, openJobStore, type JobStore } from './job-store.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { scopesOverlap } from './overlap.js';
import { JobRunner, type RunnerDeps } from './runner.js';
import type { RotationTarget } from './plan.js';
import { resolveTarget } from './target.js';
import { emptyCounters, type RotationJob, type RotationRequest } from './types.js';

/**
 * How long a job's lease lasts unrenewed (it is renewed every third of that): a gateway silent for this long
 * is taken for dead and its job resumed elsewhere. Long enough that a slow database or a pause of the
 * process does not hand a job over needlessly, short enough that a crash costs well under a minute.
 */
const LEASE_TTL_MS = 30_000;
/** How often a gateway sharing the store looks for jobs nobody runs (jittered ±25%, so gateways do not look in step). */
const ADOPT_EVERY_MS = 15_000;
/** How often a cancel waits to see a job run by another gateway end. */
const CANCEL_POLL_MS = 250;

export interface RotationOptions {
  /** A rotation.db to keep jobs in; default: where the backend keeps them (beside SQLite's meta.db, or in PostgreSQL). */
  dbPath?: string;
  /** Objects handled at once per job; default config.rotation.concurrency. */
  concurrency?: number;
  retry?: RetryPolicy;
  beforeObject?: RunnerDeps['beforeObject'];
  /** A job lease's time to live; default LEASE_TTL_MS. */
  leaseTtlMs?: number;
  /** How often to look for jobs nobody runs, on a shared store; default ADOPT_EVERY_MS. */
  adoptEveryMs?: number;
}

/** A job that cannot start: the message says why; `status` is the HTTP status the admin API answers with. */
class RotationConflict extends Error {
  override readonly name = 'RotationConflict';
  readonly status = 409;
}

function conflictWith(running: RotationJob): RotationConflict {
  return new RotationConflict(
    `Rotation job ${running.id} is already running on bucket "${running.bucket}"${running.prefix ? ` with prefix "${running.prefix}"` : ''}; wait for it or cancel it first.`,
  );
}

class UnknownJob extends Error {
  override readonly name = 'UnknownJob';
  readonly status = 404;
  constructor(readonly id: string) {
    super(`There is no rotation job with the id "${id}".`);
  }
}

export class RotationManager {
  readonly jobs: JobStore;
  private readonly runners = new Map<string, JobRunner>();
  /** Jobs this gateway is taking over or cancelling right now: not to be taken twice. */
  private readonly claiming = new Set<string>();
  private readonly deps: RunnerDeps;
  private readonly metadata: MetadataStore;
  private readonly leaseTtlMs: number;
  private readonly adoptEveryMs: number;
  private adoptTimer: NodeJS.Timeout | undefined;
  private adopting: Promise<RotationJob[]> | undefined;
  private closed = false;

  constructor(
    private readonly svc: GatewayServices,
    options: RotationOptions = {},
  ) {
    this.metadata = svc.backend.metadata;
    this.jobs = openJobStore(options.dbPath !== undefined ? { sqlite: options.dbPath } : svc.backend.rotationJobs, this.metadata);
    this.leaseTtlMs = options.leaseTtlMs ?? LEASE_TTL_MS;
    this.adoptEveryMs = options.adoptEveryMs ?? ADOPT_EVERY_MS;
    this.deps = {
      store: svc.store,
      enc: svc.enc,
      jobs: this.jobs,
      holder: svc.instance.id,
      logger: svc.logger,
      metrics: svc.metrics,
      concurrency: options.concurrency ?? svc.config.rotation.concurrency,
      retry: options.retry ?? { ...DEFAULT_RETRY, waitForKesMs: svc.config.rotation.waitForKesSeconds * 1000 },
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
    // Every running job, whichever gateway runs it: refused before asking kes for the target. The store's
    // insert checks again, atomically, for a job started meanwhile.
    const clash = (await this.jobs.running()).find((j) => scopesOverlap(j, request));
    if (clash) throw conflictWith(clash);
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
    // The lease first: a gateway looking for jobs nobody runs must not take this one as it appears.
    const lease = await this.takeLease(job.id);
    if (!lease) throw new Error(`the lease of the new rotation job ${job.id} is held by another gateway`);
    let raced: RotationJob | undefined;
    try {
      raced = await this.jobs.insert(job);
    } catch (err) {
      await lease.release();
      throw err;
    }
    if (raced) {
      await lease.release();
      throw conflictWith(raced);
    }
    this.launch(job, lease, target);
    return this.get(job.id);
  }

  /**
   * Takes over every running job nobody holds (at start: the jobs this gateway, or a dead one, left), and
   * on a shared store goes on looking for such jobs now and then.
   */
  async resume(): Promise<RotationJob[]> {
    this.assertOpen();
    const resumed = await this.adopt();
    if (this.jobs.shared) this.scheduleAdopt();
    return resumed;
  }

  async get(id: string): Promise<RotationJob> {
    const live = this.runners.get(id);
    if (live) return live.snapshot();
    const stored = await this.jobs.get(id);
    if (!stored) throw new UnknownJob(id);
    return stored;
  }

  /** Newest first; the jobs this gateway runs show their live counters. */
  async list(limit = 100): Promise<RotationJob[]> {
    return (await this.jobs.list(limit)).map((j) => this.runners.get(j.id)?.snapshot() ?? j);
  }

  /**
   * Ends a running job as cancelled once the objects in hand are done; resolves with its final state. A job
   * another gateway runs ends there, at its next lease renewal; if that gateway is dead, its lease expires
   * and the job is ended here. This waits for either, up to a lease's time to live, and then answers the
   * job as it is (still running, cancelRequested: it ends as soon as its holder renews or its lease expires).
   */
  async cancel(id: string): Promise<RotationJob> {
    const job = await this.get(id);
    if (job.state !== 'running') throw new RotationConflict(`Rotation job ${id} is not running (it is ${job.state}).`);
    if (!this.runners.has(id)) await this.jobs.requestCancel(id);
    const deadline = Date.now() + this.leaseTtlMs;
    for (;;) {
      // Run here (from the start, or taken over meanwhile): cancelled at once.
      const runner = this.runners.get(id);
      if (runner) {
        runner.cancel();
        await runner.finished;
        return this.get(id);
      }
      const ended = await this.endUnheld(id);
      if (ended) return ended;
      const now = await this.get(id);
      if (now.state !== 'running' || Date.now() >= deadline || this.closed) return now;
      await sleep(CANCEL_POLL_MS);
    }
  }

  /** Resolves when the job ends (or the manager closes). For tests and the CLI's in-process use. */
  async wait(id: string): Promise<RotationJob> {
    const runner = this.runners.get(id);
    if (!runner) return this.get(id);
    await runner.finished;
    return runner.snapshot();
  }

  /** Pauses the running jobs (they resume at the next start, or on another gateway) and closes the job store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.adoptTimer);
    // Halt the runners now, before any wait: no further object is started (a look for jobs nobody runs,
    // if one is under way, launches nothing once closed is set).
    const stopping = [...this.runners.values()].map((r) => r.stop());
    await this.adopting?.catch(() => undefined);
    await Promise.all([...stopping, ...[...this.runners.values()].map((r) => r.stop())]);
    await this.jobs.close();
  }

  /** Takes over the running jobs nobody holds a lease of; one look at a time. */
  private adopt(): Promise<RotationJob[]> {
    this.adopting ??= (async () => {
      const adopted: RotationJob[] = [];
      for (const job of await this.jobs.running()) {
        if (this.closed) break;
        if (this.runners.has(job.id) || this.claiming.has(job.id)) continue;
        const taken = await this.claim(job.id, async (lease) => {
          // Read after taking the lease: the previous holder's last write is in.
          const fresh = await this.jobs.get(job.id);
          if (fresh?.state !== 'running' || this.closed) return false;
          if (fresh.cancelRequested) {
            await this.endCancelled(fresh);
            return false;
          }
          this.launch(fresh, lease);
          adopted.push(fresh);
          return true;
        });
        if (taken) this.svc.logger.info({ job: job.id, after: job.lastKey }, 'rotation job taken over: no gateway was running it');
      }
      return adopted;
    })().finally(() => (this.adopting = undefined));
    return this.adopting;
  }

  private scheduleAdopt(): void {
    if (this.closed) return;
    const delay = Math.round(this.adoptEveryMs * (0.75 + Math.random() / 2));
    this.adoptTimer = setTimeout(() => {
      this.adopt()
        .catch((err: unknown) => this.svc.logger.warn({ err }, 'looking for rotation jobs nobody runs failed'))
        .finally(() => this.scheduleAdopt());
    }, delay);
    this.adoptTimer.unref();
  }

  /** A running job nobody holds, cancelled by this gateway: its end written here. Undefined when another gateway holds it. */
  private async endUnheld(id: string): Promise<RotationJob | undefined> {
    let ended: RotationJob | undefined;
    await this.claim(id, async () => {
      const fresh = await this.jobs.get(id);
      if (fresh?.state === 'running') await this.endCancelled(fresh);
      ended = await this.get(id);
      return false;
    });
    return ended;
  }

  private async endCancelled(job: RotationJob): Promise<void> {
    const { cancelRequested: _, ...rest } = job;
    await this.jobs.finish({ ...rest, state: 'cancelled', finishedAt: new Date().toISOString() }, this.deps.holder);
    this.svc.logger.info({ job: job.id, ...job.counters }, 'rotation job ended: cancelled while no gateway was running it');
  }

  /**
   * Takes the job's lease and hands it to `use`, which returns true when it keeps the lease (a runner now
   * holds it); otherwise it is given up. False when another gateway holds the lease or the job is claimed here.
   */
  private async claim(id: string, use: (lease: HeldLease) => Promise<boolean>): Promise<boolean> {
    if (this.claiming.has(id) || this.runners.has(id)) return false;
    this.claiming.add(id);
    try {
      const lease = await this.takeLease(id);
      if (!lease) return false;
      let kept = false;
      try {
        kept = await use(lease);
      } finally {
        if (!kept) await lease.release();
      }
      return kept;
    } finally {
      this.claiming.delete(id);
    }
  }

  private takeLease(id: string): Promise<HeldLease | undefined> {
    return HeldLease.take(this.metadata, jobLeaseName(id), this.deps.holder, this.leaseTtlMs, {
      onLost: () => this.runners.get(id)?.lose(),
      // A cancel asked through another gateway is seen here, at the lease's renewal.
      onRenewed: async () => {
        const runner = this.runners.get(id);
        if (runner && (await this.jobs.get(id))?.cancelRequested) runner.cancel();
      },
    });
  }

  private launch(job: RotationJob, lease: HeldLease, target?: RotationTarget): void {
    const runner = new JobRunner(job, this.deps, lease, target);
    this.runners.set(runner.id, runner);
    void runner.start().then(() => this.runners.delete(runner.id));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the rotation manager is closed (the gateway is shutting down)');
  }
}
