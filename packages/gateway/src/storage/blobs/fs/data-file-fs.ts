// The file operations of one data file's WriteStream (its `fs` option), with two additions for large blobs:
// - Writes are gathered into system calls of WRITE_BATCH_BYTES. The stream writes whatever is buffered each
//   time the previous write returns, about eight times per MiB of a large upload; every write is a round trip
//   through the thread pool that costs the event loop more than the copy itself.
// - Every SYNC_EVERY_BYTES written, an fdatasync of what is written so far starts in the background. A blob
//   is fsynced before it is renamed into place; without this a large upload handed the disk all its bytes at
//   that one fsync, after its last byte had arrived, and the client waited for all of it.
// A write is acknowledged to the stream before it reaches the file only while less than a batch is gathered;
// the stream's fsync (its `flush`) and close write what is gathered first, so nothing counts as stored before
// it is written and synced, and an error of a gathered write fails them. fsync and close wait for a
// background sync still running, so the descriptor is never closed under it.
import { close, fdatasync, fsync, open, writev } from 'node:fs';

/** Bytes gathered into one write. */
export const WRITE_BATCH_BYTES = 1024 * 1024;
/** Bytes written between two background syncs of a data file. */
export const SYNC_EVERY_BYTES = 16 * 1024 * 1024;

type Callback = (err: NodeJS.ErrnoException | null) => void;
type WriteCallback = (err: NodeJS.ErrnoException | null, written: number, ...rest: unknown[]) => void;

export interface DataFileFsOptions {
  batchBytes?: number;
  syncEveryBytes?: number;
  /** How a background sync is done: fdatasync, or in tests a sync that fails. */
  datasync?: (fd: number, cb: Callback) => void;
}

export class DataFileFs {
  /** Background syncs started so far, and system calls that wrote data (for tests). */
  syncsStarted = 0;
  writeCalls = 0;
  private readonly batchBytes: number;
  private readonly syncEveryBytes: number;
  private readonly datasync: (fd: number, cb: Callback) => void;
  private gathered: Uint8Array[] = [];
  private gatheredBytes = 0;
  private unsynced = 0;
  private syncing = false;
  /** The first error of a gathered write or a background sync, returned by every later call. */
  private failed: NodeJS.ErrnoException | null = null;
  /** Calls waiting for the background sync to end (the stream's fsync or close). */
  private waiting: (() => void)[] = [];

  constructor(options: DataFileFsOptions = {}) {
    this.batchBytes = options.batchBytes ?? WRITE_BATCH_BYTES;
    this.syncEveryBytes = options.syncEveryBytes ?? SYNC_EVERY_BYTES;
    this.datasync = options.datasync ?? fdatasync;
  }

  readonly open = open;

  /** The stream calls write(fd, buffer, offset, length, position, cb) for a single chunk. */
  readonly write = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null, cb: WriteCallback): void => {
    this.writev(fd, [buffer.subarray(offset, offset + length)], position, cb);
  };

  /** The stream appends (no position): the gathered bytes go to the file in the order they came. */
  readonly writev = (fd: number, buffers: Uint8Array[], _position: number | null, cb: WriteCallback): void => {
    if (this.failed) {
      const err = this.failed;
      process.nextTick(() => cb(err, 0));
      return;
    }
    let n = 0;
    for (const b of buffers) {
      this.gathered.push(b);
      n += b.byteLength;
    }
    this.gatheredBytes += n;
    if (this.gatheredBytes < this.batchBytes) process.nextTick(() => cb(null, n, buffers));
    else this.flush(fd, (err) => cb(err, err ? 0 : n, buffers));
  };

  readonly fsync = (fd: number, cb: Callback): void => this.afterSync(() => this.flush(fd, (err) => (err ? cb(err) : fsync(fd, cb))));

  /** Closes after writing what is gathered (already written when the stream flushed, as blob writers do). */
  readonly close = (fd: number, cb: Callback): void =>
    this.afterSync(() => this.flush(fd, (err) => close(fd, (closeErr) => cb(err ?? closeErr))));

  /** Writes what is gathered, all of it (a short write is continued). */
  private flush(fd: number, cb: Callback): void {
    if (this.failed) return cb(this.failed);
    if (this.gatheredBytes === 0) return cb(null);
    const buffers = this.gathered;
    const total = this.gatheredBytes;
    this.gathered = [];
    this.gatheredBytes = 0;
    this.writeCalls++;
    writev(fd, buffers, null, (err, n) => {
      if (!err && n === 0) err = Object.assign(new Error(`writing a data file: no progress (${total} bytes left)`), { code: 'EIO' });
      if (err) {
        this.failed ??= err;
        return cb(err);
      }
      this.wrote(fd, n);
      if (n === total) return cb(null);
      // Rare on a regular file: what did not fit goes first in a new batch.
      this.gathered = [Buffer.concat(buffers).subarray(n), ...this.gathered];
      this.gatheredBytes += total - n;
      this.flush(fd, cb);
    });
  }

  private wrote(fd: number, n: number): void {
    this.unsynced += n;
    if (this.syncing || this.unsynced < this.syncEveryBytes) return;
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
