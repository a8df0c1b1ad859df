// The file operations of a data file's WriteStream (DataFileFs, its `fs` option): writes gathered into batches,
// background syncs while the file is written. The bytes arrive whole and in order; nothing gathered is lost at
// the end; a failure of a gathered write or of a background sync fails the stream where the blob writer checks
// it; the descriptor is closed once, after a sync in flight, whether the stream ends or is destroyed mid-file.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { DataFileFs } from '../../src/storage/blobs/fs/data-file-fs.js';

const dir = mkdtempSync(join(tmpdir(), 'kesgate-data-file-fs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const openFds = (): number => readdirSync('/proc/self/fd').length;

/** A stream as the blob writer makes it (flush: its fsync before close). */
function stream(name: string, fs: DataFileFs): WriteStream {
  return createWriteStream(join(dir, name), { flags: 'wx', flush: true, highWaterMark: 256 * 1024, fs });
}

function closed(s: WriteStream): Promise<void> {
  return new Promise((resolve) => s.on('close', () => resolve()));
}

async function writeAll(s: WriteStream, chunks: Buffer[]): Promise<void> {
  for (const c of chunks) if (!s.write(c)) await once(s, 'drain');
}

describe('DataFileFs', () => {
  it('gathers writes into batches and syncs in the background; the file holds every byte in order', async () => {
    const fs = new DataFileFs({ batchBytes: 256 * 1024, syncEveryBytes: 512 * 1024 });
    const s = stream('whole', fs);
    // Odd sizes, so that batches end mid-chunk of the caller's and the tail is less than a batch.
    const chunks = Array.from({ length: 40 }, () => randomBytes(64 * 1024 + 7));
    await writeAll(s, chunks);
    s.end();
    await closed(s);
    const all = Buffer.concat(chunks);
    assert.deepEqual(readFileSync(join(dir, 'whole')), all);
    assert.equal(s.bytesWritten, all.length);
    // 2.5 MiB in batches of at least 256 KiB: at most 11 system calls, where the stream alone made one per chunk.
    assert.ok(fs.writeCalls >= 2 && fs.writeCalls <= Math.ceil(all.length / (256 * 1024)) + 1, `write calls: ${fs.writeCalls}`);
    // One sync runs at a time: how many start depends on the disk; at least one must.
    assert.ok(fs.syncsStarted >= 1, `expected a background sync of a 2.5 MiB file, saw ${fs.syncsStarted}`);
  });

  it('a small file is written once, at its end, and never synced in the background', async () => {
    const fs = new DataFileFs();
    const s = stream('small', fs);
    const body = randomBytes(4096);
    s.end(body);
    await closed(s);
    assert.deepEqual(readFileSync(join(dir, 'small')), body);
    assert.equal(fs.writeCalls, 1);
    assert.equal(fs.syncsStarted, 0);
  });

  it('a stream destroyed while a background sync runs closes its descriptor once the sync is done', async () => {
    const before = openFds();
    const fs = new DataFileFs({ batchBytes: 64 * 1024, syncEveryBytes: 64 * 1024 });
    const s = stream('destroyed', fs);
    s.on('error', () => {});
    while (fs.syncsStarted === 0) if (!s.write(randomBytes(64 * 1024))) await once(s, 'drain');
    const done = closed(s);
    s.destroy(new Error('client went away'));
    await done;
    assert.equal(openFds(), before, 'the data file descriptor was closed');
    assert.ok(readFileSync(join(dir, 'destroyed')).length >= 64 * 1024, 'what was written before the destroy is in the file');
  });

  it('a background sync that fails fails the stream at its end, where the blob writer checks it', async () => {
    // The one injected fault here: a failed writeback (EIO) cannot be produced on this machine's disk. Linux
    // reports it to one fsync only, so the stream's own fsync at the end would not see it again.
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    const fs = new DataFileFs({ batchBytes: 64 * 1024, syncEveryBytes: 64 * 1024, datasync: (_fd, cb) => setImmediate(() => cb(eio)) });
    const s = stream('failed-sync', fs);
    const errored = new Promise<Error>((resolve) => s.on('error', resolve));
    const done = closed(s);
    await writeAll(s, [randomBytes(64 * 1024), randomBytes(64 * 1024), randomBytes(64 * 1024)]);
    s.end();
    assert.equal(await errored, eio);
    await done;
    assert.ok(fs.syncsStarted >= 1);
    // What the blob writer checks after 'close' before it renames the file into place.
    assert.equal(s.errored, eio);
  });

  it('a gathered write that fails fails the stream at its end, though the stream was told the bytes were taken', async () => {
    // A real failure, no injection: every write to /dev/full fails with ENOSPC, as on a full disk.
    const fs = new DataFileFs();
    const s = createWriteStream('/dev/full', { flags: 'w', flush: true, fs });
    const errored = new Promise<NodeJS.ErrnoException>((resolve) => s.on('error', resolve));
    const done = closed(s);
    s.write(randomBytes(4096), (err) => assert.equal(err ?? null, null, 'a write under a batch is taken at once'));
    s.end(randomBytes(4096));
    assert.equal((await errored).code, 'ENOSPC');
    await done;
    assert.equal(fs.writeCalls, 1, 'the two writes went to the file in one call, at the end');
  });
});
