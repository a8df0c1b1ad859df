// Makes meta.db's commits durable off the event loop.
//
// meta.db runs in WAL mode with synchronous=NORMAL: a commit appends its WAL frames with write() and returns
// without an fsync, so better-sqlite3 no longer blocks the event loop thread for one fsync per commit (it did
// with FULL). Durability is restored here: after a commit, the store calls committed(), which fdatasyncs the -wal
// file on libuv's thread pool; no write's promise settles before that, so no caller answers a client or unlinks
// a superseded blob before its commit is on disk — FULL's guarantee, without the stall.
//
// Why syncing the -wal file alone is enough:
// - WAL frames are salted and checksummed in a chain from the header: recovery replays the longest valid prefix
//   of whole transactions. Syncing the file after a commit makes its header and every frame written so far
//   durable, so that commit and every earlier one survive a power loss.
// - A checkpoint (SQLite's automatic one runs inside a commit, on this thread) still syncs the WAL before copying
//   frames into meta.db and syncs meta.db afterwards, in NORMAL as in FULL. When the next writer restarts the WAL
//   (new salts, frames written again from offset 0), a crash before our sync leaves either the old header — the new
//   frames' salts do not match and are ignored — or the new one with a valid prefix: every frame lost that way was
//   already checkpointed into the synced meta.db.
// - The -wal file exists from the open on (openMetaDb's first transaction creates it) and keeps its inode while the
//   database is open: a checkpoint rewinds or truncates it, it is deleted only when the database closes. So one fd,
//   opened once and kept for the store's life, always names the file SQLite writes. Keeping it open also matters for
//   locks: closing any fd of a file drops every POSIX lock this process holds on that file. SQLite locks meta.db
//   (in EXCLUSIVE locking mode there is no -shm) and not the -wal file, and this fd is never one of meta.db's.
// - Commits that happen while an fsync is in flight wait for the next one, which starts when it ends and covers all
//   of them (one fsync per group of commits, as SQLite's FULL mode could not do across batches).
// - An fsync that fails (EIO, ENOSPC on some filesystems) leaves it unknown which written pages reached the disk, and
//   Linux reports the error once: a later fsync succeeding proves nothing about them. So the failure is sticky: the
//   waiting writes are rejected (their callers answer 500) and so is every later write, until the gateway restarts.
//   What this process committed stays visible to its own reads; on restart SQLite recovers meta.db to the last
//   commit whose frames reached the disk, which may or may not include the rejected writes (as with a write whose
//   answer was lost) — never a torn one.
// - What is not covered: a read in this process may see a commit whose fsync is still running (SQLite makes it visible
//   at once). A process crash cannot lose it (its frames are in the kernel's page cache); a power loss within that
//   fsync (~1 ms) could, and then only a write whose writer never got an answer. Making every read wait for the
//   running fsync would add that wait to every request that reads, PUTs included (they read the bucket first).
import { closeSync, fdatasync, openSync } from 'node:fs';

/** The fsync used: fdatasync (the data and the file's size; SQLite syncs its files the same way on Linux). */
export type SyncFile = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

export class WalSyncFailed extends Error {
  constructor(
    readonly walPath: string,
    cause: Error,
  ) {
    super(
      `the metadata store could not make ${walPath} durable (${cause.message}); ` +
        'writes are refused until the gateway restarts (check the disk; SQLite recovers meta.db to its last durable commit)',
      { cause },
    );
  }
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class WalSync {
  private fd: number | undefined;
  /** Asked for while no fsync runs, or while one runs (they wait for the next, which covers them). */
  private waiting: Waiter[] = [];
  private running: Promise<void> | undefined;
  private failure: WalSyncFailed | undefined;

  constructor(
    readonly walPath: string,
    private readonly syncFile: SyncFile = fdatasync,
  ) {
    this.fd = openSync(walPath, 'r+');
  }

  /** Throws when an earlier fsync failed: a write must not start (see the comment at the top). */
  assertWritable(): void {
    if (this.failure) throw this.failure;
  }

  /** Waits for the last fsync, then closes the fd. The store closes the database after it (SQLite holds no lock on
   * the -wal file, so closing this fd first drops none, and SQLite deletes the file on close). */
  async close(): Promise<void> {
    while (this.running) await this.running;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** After a commit wrote its WAL frames: resolves once an fsync that started after it has finished. */
  committed(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) this.start();
    });
  }

  private start(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.running = new Promise<void>((done) => {
      const fd = this.fd;
      if (fd === undefined) {
        this.fail(new Error('the -wal file is closed'), batch);
        done();
        return;
      }
      this.syncFile(fd, (err) => {
        if (err) this.fail(err, batch);
        else for (const w of batch) w.resolve();
        done();
      });
    }).then(() => {
      this.running = undefined;
      if (this.waiting.length > 0) this.start();
    });
  }

  private fail(err: Error, batch: Waiter[]): void {
    this.failure ??= new WalSyncFailed(this.walPath, err);
    for (const w of [...batch, ...this.waiting.splice(0)]) w.reject(this.failure);
  }
}
