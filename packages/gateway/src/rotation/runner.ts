// Runs one rotation job: walks the bucket's version listing in key order with a pool of workers, rotates every
// version of each key (noncurrent ones too: each has its own object key, sealed under a master key), and
// records progress (the finished prefix of the listing, by key) so a restart goes on where it stopped.
// Then the unfinished multipart uploads under the prefix, one at a time (they are few); a restart during
// that phase rotates them again, where those already done are skipped as current.
//
// The runner holds the job's lease while it runs. Its writes are fenced by the lease: a write refused, or a
// renewal lost, means another gateway may have taken the job over, so the runner stops at once without
// writing anything more (the objects in hand finish; their progress is the new holder's to redo).
import type { Logger } from 'pino';
import type { GatewayMetrics } from '../metrics.js';
import type { ObjectEncryption } from '../sse/encryption.js';
import type { HeldLease } from '../storage/lease.js';
import type { ObjectStore, UploadRef, VersionSummary } from '../storage/types.js';
import { InOrderTracker } from './in-order.js';
import { jobRetryPolicy } from './kes-outage.js';
import type { JobStore } from './job-store.js';
import { ProgressWriter } from './progress-writer.js';
import type { RotationTarget } from './plan.js';
import type { RetryPolicy } from './retry.js';
import { describeError, rotateObject, rotateUpload, type ObjectRotation } from './rotate-object.js';
import { resolveTarget } from './target.js';
import { addOutcome, MAX_RECORDED_FAILURES, type JobCounters, type JobState, type ObjectOutcome, type RotationJob } from './types.js';

export interface RunnerDeps {
  store: ObjectStore;
  enc: ObjectEncryption;
  jobs: JobStore;
  /** This gateway's instance id: the holder of the leases of the jobs it runs. */
  holder: string;
  logger: Logger;
  metrics: GatewayMetrics;
  concurrency: number;
  retry: RetryPolicy;
  /** Called before each object is handled (instrumentation; tests use it to act at a known point of a job). */
  beforeObject?: (job: RotationJob, key: string) => Promise<void> | void;
}

const PAGE = 1000;

/** One key of the listing and the versions of it to rotate. */
interface KeyVersions {
  key: string;
  versionIds: string[];
}

/** A snapshot of the finished prefix, as saved. */
interface RunnerProgress {
  counters: JobCounters;
  lastKey: string | undefined;
  failures: RotationJob['failures'];
}

function cloneCounters(c: JobCounters): JobCounters {
  return { ...c, skippedBy: { ...c.skippedBy } };
}

export class JobRunner {
  /** Live view: counters include objects finished out of order, ahead of `durable`. */
  private readonly live: RotationJob;
  /** What is (or will be) in the job store: counters and failures of the finished prefix only. */
  private readonly durable: { counters: JobCounters; failures: RotationJob['failures']; lastKey: string | undefined };
  private halt: 'stop' | 'cancel' | 'lost' | undefined;
  private running: Promise<void> | undefined;
  private readonly progress: ProgressWriter<RunnerProgress>;
  /** The job's retries: it waits through a kes outage up to its limit, its workers together. */
  private readonly retry: RetryPolicy;

  /** `lease` is the job's, held by deps.holder; the runner gives it up when it ends. */
  constructor(
    job: RotationJob,
    private readonly deps: RunnerDeps,
    private readonly lease: HeldLease,
    private target?: RotationTarget,
  ) {
    this.live = { ...job, counters: cloneCounters(job.counters), failures: [...job.failures] };
    this.durable = { counters: cloneCounters(job.counters), failures: [...job.failures], lastKey: job.lastKey };
    this.retry = jobRetryPolicy(deps.retry);
    this.progress = new ProgressWriter(
      async (p: RunnerProgress) => this.fenced(await deps.jobs.saveProgress(job.id, deps.holder, p.counters, p.lastKey, p.failures)),
      deps.logger,
      job.id,
    );
  }

  get id(): string {
    return this.live.id;
  }

  snapshot(): RotationJob {
    return { ...this.live, counters: cloneCounters(this.live.counters), failures: [...this.durable.failures] };
  }

  /** Starts the job; `finished` resolves when it ends, is cancelled or stopped and its lease is given up (never rejects). */
  start(): Promise<void> {
    this.running ??= this.run()
      .catch((err: unknown) => {
        // Left `running` in the job store: this gateway (at its next start) or another resumes it.
        this.deps.logger.error({ job: this.id, err }, 'rotation job crashed');
      })
      .finally(() => this.lease.release());
    return this.running;
  }

  get finished(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /** Stops handing out objects; the job ends as cancelled once the objects in hand are done. */
  cancel(): void {
    this.halt ??= 'cancel';
    this.live.cancelRequested = true;
  }

  /** The lease is gone: another gateway may run the job now. Stop without writing anything more. */
  lose(): void {
    this.halt = 'lost';
  }

  /** For shutdown: like cancel, but the job stays `running` in the job store and resumes at the next start. */
  async stop(): Promise<void> {
    this.halt ??= 'stop';
    await this.finished;
  }

  private async run(): Promise<void> {
    const { logger } = this.deps;
    const job = this.live;
    try {
      this.target ??= await resolveTarget(this.deps.enc.kms, job.toKey, this.retry, () => this.halt !== undefined);
    } catch (err) {
      if (this.halt === 'stop' || this.halt === 'lost') return;
      // Cancelled while it waited for kes to give a data key of the target: nothing was rotated, nothing failed.
      if (this.halt === 'cancel') {
        await this.end('cancelled');
        return;
      }
      await this.end('failed', `cannot use the target key "${job.toKey}": ${describeError(err)}`);
      return;
    }
    if (this.target.version !== job.targetVersion) {
      if (this.target.version !== undefined) job.targetVersion = this.target.version;
      else delete job.targetVersion;
      this.fenced(await this.deps.jobs.saveTarget(job.id, this.deps.holder, this.target.version));
      if (this.halt === 'lost') return;
    }
    logger.info(
      {
        job: job.id,
        bucket: job.bucket,
        prefix: job.prefix,
        toKey: job.toKey,
        version: job.targetVersion,
        dryRun: job.dryRun,
        after: job.lastKey,
      },
      job.lastKey === undefined ? 'rotation job started' : 'rotation job resumed',
    );

    const counting = this.count();
    const keys = this.keys();
    const tracker = new InOrderTracker<ObjectOutcome[]>();
    let listingError: unknown;
    const worker = async (): Promise<void> => {
      while (this.halt === undefined && listingError === undefined) {
        let next: IteratorResult<KeyVersions>;
        try {
          next = await keys.next();
        } catch (err) {
          listingError ??= err;
          return;
        }
        if (next.done) return;
        const { key, versionIds } = next.value;
        const seq = tracker.begin(key);
        // A key's versions one after another: the key is the unit of progress.
        const outcomes: ObjectOutcome[] = [];
        for (const versionId of versionIds) {
          if (this.halt === 'lost') break;
          const outcome = await this.handle(key, (ctx) => rotateObject(ctx, job.bucket, key, versionId));
          this.record(outcome);
          outcomes.push(outcome);
        }
        const drained = tracker.complete(seq, outcomes);
        if (drained.length === 0) continue;
        for (const done of drained) this.advance(done.key, done.value);
        this.progress.save({
          counters: cloneCounters(this.durable.counters),
          lastKey: this.durable.lastKey,
          failures: [...this.durable.failures],
        });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.deps.concurrency) }, worker));
    let uploadsError: unknown;
    if (this.halt === undefined && listingError === undefined) {
      try {
        await this.rotateUploads();
      } catch (err) {
        uploadsError = err;
      }
    }
    await counting;
    await this.progress.flush();

    if (this.halt === 'lost')
      logger.warn(
        { job: job.id, after: this.durable.lastKey },
        'rotation job given up: its lease was lost, another gateway may go on with it',
      );
    else if (listingError !== undefined) await this.end('failed', `listing the bucket failed: ${describeError(listingError)}`);
    else if (uploadsError !== undefined)
      await this.end('failed', `listing the bucket's multipart uploads failed: ${describeError(uploadsError)}`);
    else if (this.halt === 'cancel') await this.end('cancelled');
    else if (this.halt === 'stop') logger.info({ job: job.id, after: this.durable.lastKey }, 'rotation job paused for shutdown');
    // Objects left behind (under their old key) must not read as a finished rotation: deleting the old key
    // after a `done` job would erase them.
    else await this.end(this.durable.counters.failed > 0 ? 'incomplete' : 'done');
  }

  private async handle(key: string, rotate: (ctx: ObjectRotation) => Promise<ObjectOutcome>): Promise<ObjectOutcome> {
    const job = this.live;
    try {
      await this.deps.beforeObject?.(this.snapshot(), key);
      return await rotate({
        store: this.deps.store,
        enc: this.deps.enc,
        target: this.target!,
        ...(job.fromKey !== undefined ? { fromKey: job.fromKey } : {}),
        dryRun: job.dryRun,
        retry: this.retry,
        stopped: () => this.halt !== undefined,
      });
    } catch (err) {
      return { result: 'failed', error: describeError(err), retries: 0 };
    }
  }

  private record(o: ObjectOutcome): void {
    addOutcome(this.live.counters, o);
    if (!this.live.dryRun) this.deps.metrics.rotated.inc({ result: o.result });
  }

  private advance(key: string, outcomes: ObjectOutcome[]): void {
    for (const o of outcomes) this.settle(key, o);
    this.durable.lastKey = key;
    this.live.lastKey = key;
  }

  private settle(key: string, o: ObjectOutcome): void {
    addOutcome(this.durable.counters, o);
    if (o.result === 'failed') {
      this.deps.logger.warn({ job: this.id, key, error: o.error }, 'rotation failed for an object');
      if (this.durable.failures.length < MAX_RECORDED_FAILURES) this.durable.failures.push({ key, error: o.error });
    }
  }

  /** The upload phase: counted with the objects; its progress is not saved (a restart redoes the phase). */
  private async rotateUploads(): Promise<void> {
    for await (const ref of this.uploads()) {
      if (this.halt !== undefined) return;
      const outcome = await this.handle(ref.key, (ctx) => rotateUpload(ctx, ref));
      this.record(outcome);
      this.settle(`${ref.key} (multipart upload ${ref.uploadId})`, outcome);
    }
  }

  /** Unfinished multipart uploads under the prefix, page by page. */
  private async *uploads(): AsyncGenerator<UploadRef> {
    const { bucket, prefix } = this.live;
    let marker: { keyMarker: string; uploadIdMarker?: string } | undefined;
    for (;;) {
      const page = await this.deps.store.listUploads({ bucket, prefix, maxUploads: PAGE, ...marker });
      for (const u of page.uploads) yield { bucket, key: u.key, uploadId: u.uploadId };
      if (!page.isTruncated || page.nextKeyMarker === undefined) return;
      marker = {
        keyMarker: page.nextKeyMarker,
        ...(page.nextUploadIdMarker !== undefined ? { uploadIdMarker: page.nextUploadIdMarker } : {}),
      };
    }
  }

  private async end(state: Exclude<JobState, 'running'>, error?: string): Promise<void> {
    const job = this.live;
    job.state = state;
    // Every object handed out has finished, so the live counters and the durable ones agree now.
    job.counters = cloneCounters(this.durable.counters);
    job.failures = [...this.durable.failures];
    if (this.durable.lastKey !== undefined) job.lastKey = this.durable.lastKey;
    if (error !== undefined) job.error = error;
    job.finishedAt = new Date().toISOString();
    if (!(await this.deps.jobs.finish(job, this.deps.holder))) {
      this.deps.logger.warn({ job: job.id, state }, 'rotation job ended here, but its lease was lost first: the end was not recorded');
      return;
    }
    const log =
      state === 'failed' || state === 'incomplete'
        ? this.deps.logger.error.bind(this.deps.logger)
        : this.deps.logger.info.bind(this.deps.logger);
    log({ job: job.id, state, ...job.counters, error }, 'rotation job ended');
  }

  /**
   * Keys after the last finished one, in listing order, each with the ids of its versions that are objects
   * (delete markers have no key), newest first. A key's versions may span pages of the listing.
   */
  private async *keys(): AsyncGenerator<KeyVersions> {
    let pending: KeyVersions | undefined;
    for await (const v of this.versions(this.live.lastKey)) {
      if (pending && pending.key !== v.key) {
        yield pending;
        pending = undefined;
      }
      pending ??= { key: v.key, versionIds: [] };
      if (!v.deleteMarker) pending.versionIds.push(v.versionId);
    }
    if (pending) yield pending;
  }

  /** Every version under the job's prefix after `afterKey`'s, page by page. */
  private async *versions(afterKey: string | undefined): AsyncGenerator<VersionSummary> {
    const { bucket, prefix } = this.live;
    let marker: { keyMarker?: string; versionIdMarker?: string } = afterKey !== undefined ? { keyMarker: afterKey } : {};
    for (;;) {
      const page = await this.deps.store.listVersions({ bucket, prefix, maxKeys: PAGE, ...marker });
      yield* page.versions;
      if (!page.isTruncated || page.nextKeyMarker === undefined) return;
      marker = {
        keyMarker: page.nextKeyMarker,
        ...(page.nextVersionIdMarker !== undefined ? { versionIdMarker: page.nextVersionIdMarker } : {}),
      };
    }
  }

  /** The outcome of a fenced write: refused means the lease is gone. */
  private fenced(written: boolean): void {
    if (!written) this.lose();
  }

  /** Object versions and unfinished multipart uploads under the prefix, for progress bars; best effort, in the background of the job. */
  private async count(): Promise<void> {
    let total = 0;
    try {
      for await (const v of this.versions(undefined)) {
        if (this.halt !== undefined) return;
        if (!v.deleteMarker) total++;
      }
      for await (const _ of this.uploads()) total++;
      this.live.total = total;
      this.fenced(await this.deps.jobs.saveTotal(this.live.id, this.deps.holder, total));
    } catch {
      // The job's own listing reports the error.
    }
  }
}
