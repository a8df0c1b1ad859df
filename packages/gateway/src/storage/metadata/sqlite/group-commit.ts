import type { Database } from 'better-sqlite3';
import type { WalSync } from './wal-sync.js';

interface Pending {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Commits the metadata writes asked for within one turn of the event loop as one SQLite transaction.
 *
 * better-sqlite3 runs SQL on the event loop thread: concurrent writers (PUTs, a rotation job's workers) each
 * committing alone would each pay a commit. Batched, they share one. Each write runs in its own savepoint, in the
 * order asked, and sees the writes before it; a write that throws rolls back only its own changes and rejects only
 * its own promise. The commit writes the WAL without an fsync (synchronous=NORMAL); `wal` then fsyncs it on the
 * thread pool (wal-sync.ts), and no promise settles before that, so a caller still acts (unlinks superseded files,
 * answers the client) only after its write is on disk.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Database,
    private readonly wal: WalSync,
  ) {}

  /** Runs `write` inside the next batch's transaction; resolves with its result once committed and durable. */
  run<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /**
   * Commits what is queued now (the store calls it before closing the database); resolves once the batch's
   * promises have settled. Never rejects: each write's promise carries its own outcome.
   */
  async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.wal.assertWritable();
      this.db.transaction(() => {
        for (const p of batch) {
          try {
            // A transaction function called inside another runs as a savepoint.
            outcomes.push({ ok: true, value: this.db.transaction(p.write)() });
          } catch (err) {
            outcomes.push({ ok: false, value: err });
          }
        }
      })();
    } catch (err) {
      // The commit itself failed (disk full, I/O error), or an earlier fsync did: nothing of the batch is stored.
      for (const p of batch) p.reject(err);
      return;
    }
    try {
      await this.wal.committed();
    } catch (err) {
      // Committed but not known to be durable: every write of the batch fails (see wal-sync.ts for the state left).
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.value);
    });
  }
}
