// Saves a job's progress one write at a time, newest wins: workers finish objects faster than a database
// round trip, and two writes in flight at once could land in the wrong order (older progress last). A save
// asked for while one is in flight replaces any other waiting one; `flush` waits for the last.
import type { Logger } from 'pino';

export class ProgressWriter<T> {
  private pending: T | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly write: (value: T) => Promise<void>,
    private readonly logger: Logger,
    private readonly job: string,
  ) {}

  /** Queues `value` (a snapshot: it must not change afterwards) to be written after the write in flight. */
  save(value: T): void {
    this.pending = value;
    this.inFlight ??= this.drain();
  }

  /** Resolves once every queued value is written (or failed: a failure is logged, the next save retries). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending !== undefined) {
        const value = this.pending;
        this.pending = undefined;
        try {
          await this.write(value);
        } catch (err) {
          // The next save writes a later state that includes this one; the end of the job writes it all.
          this.logger.warn({ job: this.job, err }, 'saving rotation progress failed');
        }
      }
    } finally {
      this.inFlight = undefined;
    }
  }
}
