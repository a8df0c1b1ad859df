// A data file is synced in the background while it is written (SyncAsWrittenFs, a WriteStream's `fs`):
// the bytes arrive whole, the syncs happen, and the descriptor is closed once, after a sync in flight —
// whether the stream ends or is destroyed mid-file.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { SyncAsWrittenFs } from '../../src/storage/blobs/fs/sync-as-written.js';

const dir = mkdtempSync(join(tmpdir(), 'kesgate-sync-as-written-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const openFds = (): number => readdirSync('/proc/self/fd').length;

function stream(name: string, fs: SyncAsWrittenFs): WriteStream {
  return createWriteStream(join(dir, name), { flags: 'wx', flush: true, highWaterMark: 256 * 1024, fs });
}

describe('SyncAsWrittenFs', () => {
  it('starts background syncs once enough is written, and the file holds every byte in order', async () => {
    const fs = new SyncAsWrittenFs(256 * 1024);
    const s = stream('whole', fs);
    const chunks = Array.from({ length: 40 }, () => randomBytes(64 * 1024 + 7));
    for (const c of chunks) if (!s.write(c)) await once(s, 'drain');
    s.end();
    await once(s, 'close');
    // One sync runs at a time: how many start depends on the disk; at least one must.
    assert.ok(fs.syncsStarted >= 1, `expected a background sync of a 2.5 MiB file, saw ${fs.syncsStarted}`);
    assert.deepEqual(readFileSync(join(dir, 'whole')), Buffer.concat(chunks));
    assert.equal(
      s.bytesWritten,
      chunks.reduce((n, c) => n + c.length, 0),
    );
  });

  it('a small file is never synced in the background (only the stream’s own flush)', async () => {
    const fs = new SyncAsWrittenFs();
    const s = stream('small', fs);
    s.end(randomBytes(4096));
    await once(s, 'close');
    assert.equal(fs.syncsStarted, 0);
  });

  it('a stream destroyed while a background sync runs closes its descriptor once the sync is done', async () => {
    const before = openFds();
    const fs = new SyncAsWrittenFs(64 * 1024);
    const s = stream('destroyed', fs);
    s.on('error', () => {});
    // Every write past the first 64 KiB starts or meets a sync; destroy right after one started.
    while (fs.syncsStarted === 0) if (!s.write(randomBytes(64 * 1024))) await once(s, 'drain');
    const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
    s.destroy(new Error('client went away'));
    await closed;
    assert.equal(s.closed, true);
    assert.equal(openFds(), before, 'the data file descriptor was closed');
    assert.ok(readFileSync(join(dir, 'destroyed')).length >= 64 * 1024, 'what was written before the destroy is in the file');
  });

  it('a background sync that fails fails the stream at its end, where the blob writer checks it', async () => {
    // The one injected fault here: a failed writeback (EIO) cannot be produced on this machine's disk. Linux
    // reports it to one fsync only, so the stream's own fsync at the end would not see it again.
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const fs = new SyncAsWrittenFs(64 * 1024, (_fd, cb) => setImmediate(() => cb(eio)));
    const s = stream('failed-sync', fs);
    const errored = new Promise<Error>((resolve) => s.on('error', resolve));
    const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
    for (let i = 0; i < 4; i++) if (!s.write(randomBytes(64 * 1024))) await once(s, 'drain');
    s.end();
    assert.equal(await errored, eio);
    await closed;
    assert.equal(fs.syncsStarted >= 1, true);
    // What the blob writer checks after 'close' before it renames the file into place.
    assert.equal(s.errored, eio);
  });
});
