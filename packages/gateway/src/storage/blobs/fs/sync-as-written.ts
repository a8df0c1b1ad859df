// The file operations of one data file's WriteStream (its `fs` option), with one addition: every
// `everyBytes` written, an fdatasync of what is written so far starts in the background. A blob is
// fsynced before it is renamed into place; without this a large upload handed the disk all its bytes
// at that one fsync, after its last byte had arrived, and the client waited for all of it. Synced along
// the way, the last fsync finds only the tail still dirty.
// The stream calls fsync (its `flush`) and close only after its last write has returned; both wait for
// a background sync still running, so the descriptor is never closed under it.
import { close, fdatasync, fsync, open, write, writev } from 'node:fs';

/** Bytes written between two background syncs of a data file. */
export const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

type Callback = (err: NodeJS.ErrnoException | null) => void;
type WriteCallback = (err: NodeJS.ErrnoException | null, written: number, ...rest: unknown[]) => void;

export class SyncAsWrittenFs {
  /** Background syncs started so far (for tests). */
  syncsStarted = 0;
  private unsynced = 0;
  private syncing = false;
  /** Calls waiting for the background sync to end (the stream's fsync or close). */
  private waiting: (() => void)[] = [];

  /** A background sync that failed: the stream's own fsync reports it (the kernel reports it only once). */
  private failed: NodeJS.ErrnoException | null = null;

  constructor(
    private readonly everyBytes = SYNC_EVERY_BYTES,
    /** How a background sync is done: fdatasync, or in tests a sync that fails. */
    private readonly datasync: (fd: number, cb: Callback) => void = fdatasync,
  ) {}

  readonly open = open;

  /** The stream calls write(fd, buffer, offset, length, position, cb) for a single chunk. */
  readonly write = (...args: unknown[]): void => {
    const fd = args[0] as number;
    const cb = args[args.length - 1] as WriteCallback;
    const counted: WriteCallback = (err, n, ...rest) => {
      if (!err) this.written(fd, n);
      cb(err, n, ...rest);
    };
    (write as (...a: unknown[]) => void)(...args.slice(0, -1), counted);
  };

  readonly writev = (fd: number, buffers: NodeJS.ArrayBufferView[], position: number | null, cb: WriteCallback): void => {
    writev(fd, buffers, position, (err, n, ...rest) => {
      if (!err) this.written(fd, n);
      cb(err, n, ...rest);
    });
  };

  readonly fsync = (fd: number, cb: Callback): void =>
    this.afterSync(() => {
      if (this.failed) cb(this.failed);
      else fsync(fd, cb);
    });

  readonly close = (fd: number, cb: Callback): void => this.afterSync(() => close(fd, cb));

  private written(fd: number, n: number): void {
    this.unsynced += n;
    if (this.syncing || this.unsynced < this.everyBytes) return;
    this.syncing = true;
    this.unsynced = 0;
    this.syncsStarted++;
    // Linux reports a failed writeback to one fsync of the open file only: a background sync that saw it
    // keeps it, so that the stream's own fsync fails too and the blob is never renamed into place.
    this.datasync(fd, (err) => {
      this.failed ??= err;
      this.syncing = false;
      const run = this.waiting;
      this.waiting = [];
      for (const w of run) w();
    });
  }

  private afterSync(then: () => void): void {
    if (this.syncing) this.waiting.push(then);
    else then();
  }
}
