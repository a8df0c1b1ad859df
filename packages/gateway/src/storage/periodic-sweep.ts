// The sweep, again and again, for stores several gateways share: a gateway crashing mid-write leaves an
// orphan blob that only a sweep removes, and with many long-lived gateways a sweep at start alone may not
// come for weeks. Each gateway tries every SWEEP_EVERY_MS (jittered, so they do not all try at once); the
// sweep lease lets one of them do it.
import type { Logger } from 'pino';
import type { SweepReport } from './types.js';

/**
 * Orphans are rare (a crash between writing a blob and committing it) and young ones are left alone for a
 * day anyway (DEFAULT_ORPHAN_MIN_AGE_MS): a sweep every ten minutes keeps the bucket tidy at the cost of one
 * listing of it per ten minutes across all gateways.
 */
export const SWEEP_EVERY_MS = 10 * 60_000;

export class PeriodicSweep {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly store: { sweep(): Promise<SweepReport> },
    private readonly logger: Logger,
    private readonly everyMs = SWEEP_EVERY_MS,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = Math.round(this.everyMs * (0.75 + Math.random() / 2));
    this.timer = setTimeout(() => void this.run().then(() => this.schedule()), delay);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    try {
      const report = await this.store.sweep();
      if (report.skipped === undefined && (report.orphanDataFilesRemoved > 0 || report.tempFilesRemoved > 0)) {
        this.logger.info({ ...report }, 'sweep removed orphan blobs');
      }
    } catch (err) {
      if (!this.stopped) this.logger.warn({ err }, 'sweep failed; the next one tries again');
    }
  }
}
