// The SQLite metadata store commits with synchronous=NORMAL and fsyncs the -wal file itself, on the thread pool
// (wal-sync.ts). These tests run the real store on a real file and wrap the real fdatasync to see when it runs and
// to hold it: no write resolves before an fsync that started after its commit has finished, commits made while an
// fsync runs share the next one, close() waits for the last one, and a failed fsync fails its writes and every later
// one. (The wrapper injects a failure only in the last test: a disk that fails fsync on demand is not available here.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fdatasync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openSqliteMetadataStore, type SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import type { SyncFile } from '../../src/storage/metadata/sqlite/wal-sync.js';
import type { ObjectRecord } from '../../src/storage/types.js';
import { sseRecord } from './fixtures/sse-records.js';

const B = 'bucket';

function record(key: string): ObjectRecord {
  return {
    bucket: B,
    key,
    versionId: 'null',
    revision: randomBytes(12).toString('hex'),
    size: 10,
    etag: randomBytes(16).toString('hex'),
    lastModified: new Date(Date.now()),
    userMetadata: {},
    standardHeaders: {},
    sse: sseRecord({ sse: 'SSE-S3', iv: randomBytes(8).toString('base64') }),
    parts: [{ number: 1, plainSize: 10, encSize: 42, etag: randomBytes(16).toString('hex'), dataId: randomBytes(16).toString('hex') }],
  };
}

/** The real fdatasync, logged, and held while `held` is set (what a slow disk looks like to the store). */
class WatchedSync {
  readonly log: string[] = [];
  calls = 0;
  holding = false;
  failWith: NodeJS.ErrnoException | undefined;
  private parked: (() => void)[] = [];

  readonly syncFile: SyncFile = (fd, done) => {
    this.calls++;
    this.log.push('fsync started');
    const run = () =>
      this.failWith
        ? done(this.failWith)
        : fdatasync(fd, (err) => {
            this.log.push('fsync done');
            done(err);
          });
    if (this.holding) this.parked.push(run);
    else run();
  };

  /** Resolves once an fsync is parked (held). */
  async parkedOne(): Promise<void> {
    while (this.parked.length === 0) await new Promise((resolve) => setImmediate(resolve));
  }

  release(): void {
    this.holding = false;
    for (const run of this.parked.splice(0)) run();
  }
}

/** Several turns of the event loop: long enough for anything not waiting on the held fsync to settle. */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

function track<T>(p: Promise<T>, log: string[], name: string): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  const promise = p.then(
    (v) => {
      settled = true;
      log.push(`${name} resolved`);
      return v;
    },
    (err: unknown) => {
      settled = true;
      log.push(`${name} rejected`);
      throw err;
    },
  );
  return { settled: () => settled, promise };
}

describe('sqlite metadata store: commits are fsynced off the event loop before they resolve', () => {
  let dir: string;
  let sync: WatchedSync;
  let store: SqliteMetadataStore;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kesgate-wal-sync-'));
    sync = new WatchedSync();
    store = await openSqliteMetadataStore({ path: join(dir, 'meta.db'), syncFile: sync.syncFile });
    await store.createBucket(B, new Date(), undefined);
    sync.log.length = 0;
    sync.calls = 0;
  });
  /** A PUT of `key` whose settling is logged as `name` (see track). */
  const trackedPut = (key: string, name: string) =>
    track(
      store.putObject(record(key), () => {}),
      sync.log,
      name,
    );
  afterEach(async () => {
    sync.release();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a PUT is committed at once but resolves only after the fsync of its commit has finished', async () => {
    sync.holding = true;
    const put = trackedPut('a', 'put');
    await sync.parkedOne();
    await turns();
    assert.equal(put.settled(), false, 'the write waits for the fsync');
    assert.ok(await store.getObject(B, 'a'), 'the commit itself is done (this process reads it)');
    sync.release();
    assert.deepEqual(await put.promise, []);
    assert.deepEqual(sync.log, ['fsync started', 'fsync done', 'put resolved']);
  });

  it('commits made while an fsync runs wait for the next one, and share it', async () => {
    sync.holding = true;
    const first = trackedPut('a', 'first');
    await sync.parkedOne();
    // Two more batches commit (separate turns) while the first fsync is held: it may not cover them.
    const second = trackedPut('b', 'second');
    await turns();
    const third = trackedPut('c', 'third');
    await turns();
    assert.ok(await store.getObject(B, 'c'), 'both later batches are committed');
    assert.equal(sync.calls, 1, 'no second fsync starts while one runs');
    sync.holding = false;
    sync.release();
    await Promise.all([first.promise, second.promise, third.promise]);
    assert.equal(sync.calls, 2, 'one more fsync covers both later batches');
    // The second fsync may start before the first write's callback runs; the later writes resolve only after it ends.
    const done = sync.log.flatMap((e, i) => (e === 'fsync done' ? [i] : []));
    assert.equal(done.length, 2);
    const at = (name: string) => sync.log.indexOf(`${name} resolved`);
    assert.ok(at('first') > done[0]! && at('second') > done[1]! && at('third') > done[1]!, sync.log.join(', '));
  });

  it('writes outside the group commit (buckets, uploads, settings) wait for their fsync too', async () => {
    const rare: [string, () => Promise<unknown>][] = [
      ['create bucket', () => store.createBucket('other', new Date(), undefined)],
      ['versioning', () => store.setBucketVersioning('other', 'Enabled')],
      ['encryption', () => store.setBucketEncryption('other', { sse: 'AES256' })],
      ['setting', () => store.putBucketSetting('other', 'tagging', [{ key: 'k', value: 'v' }])],
      ['delete bucket', () => store.deleteBucket('other')],
    ];
    for (const [name, write] of rare) {
      sync.log.length = 0;
      sync.holding = true;
      const w = track(write(), sync.log, name);
      await sync.parkedOne();
      await turns();
      assert.equal(w.settled(), false, `${name} waits for the fsync`);
      sync.release();
      await w.promise;
      assert.deepEqual(sync.log.slice(-3), ['fsync started', 'fsync done', `${name} resolved`], name);
    }
    assert.equal((await store.listBuckets()).length, 1);
  });

  it('close() waits for the fsync in flight, and the write it covers resolves first', async () => {
    sync.holding = true;
    const put = trackedPut('a', 'put');
    await sync.parkedOne();
    const closing = track(store.close(), sync.log, 'close');
    await turns();
    assert.equal(closing.settled(), false, 'close waits for the fsync');
    sync.release();
    await closing.promise;
    await put.promise;
    assert.deepEqual(sync.log, ['fsync started', 'fsync done', 'put resolved', 'close resolved']);
    // Reopened, the write is there.
    store = await openSqliteMetadataStore({ path: join(dir, 'meta.db'), syncFile: sync.syncFile });
    assert.ok(await store.getObject(B, 'a'));
  });

  it('a failed fsync rejects its writes and refuses every later write, which then stores nothing', async () => {
    sync.failWith = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const put = store.putObject(record('a'), () => {});
    await assert.rejects(put, (err: Error) => {
      assert.match(
        err.message,
        /could not make .*meta\.db-wal durable \(EIO: i\/o error, fdatasync\); writes are refused until the gateway restarts/,
      );
      return true;
    });
    const callsAfterFailure = sync.calls;
    // Later writes fail before they run: nothing is committed, no fsync is tried.
    await assert.rejects(
      store.putObject(record('b'), () => {}),
      /writes are refused until the gateway restarts/,
    );
    await assert.rejects(store.createBucket('other', new Date(), undefined), /writes are refused until the gateway restarts/);
    assert.equal(await store.getObject(B, 'b'), undefined);
    assert.deepEqual(
      (await store.listBuckets()).map((b) => b.name),
      [B],
    );
    assert.equal(sync.calls, callsAfterFailure);
    sync.failWith = undefined;
  });
});
