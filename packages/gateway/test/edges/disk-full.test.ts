// A really full disk: the gateway's data directory on an 8 MiB tmpfs mounted by the test (needs root; skipped
// with the reason otherwise). PUTs fill it until one is refused 507 XMinioStorageFull (MinIO's code, which the
// SDK sees; a 500 would be retried in vain); nothing of the refused write is committed or left behind, the
// objects stored before read back whole, and once objects are deleted, writes work again. A filler file then
// takes the last free page, so that the metadata commit itself (SQLite) finds the disk full.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { startStack, type Stack } from '../helpers/stack.js';
import { getBytes, s3Error } from '../helpers/s3.js';
import { snapshot } from './state.js';

const B = 'disk-full';
const MiB = 1024 * 1024;
let st: Stack | undefined;
let mountDir: string | undefined;
let mounted = false;
let skip: string | false = false;
/** The gateway's error log: which low-level error each 507 came from. */
const errorLog: string[] = [];

before(async () => {
  if (process.platform !== 'linux') {
    skip = 'needs Linux (tmpfs)';
    return;
  }
  mountDir = mkdtempSync(join(tmpdir(), 'kesgate-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountDir], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    skip = `cannot mount an 8 MiB tmpfs to fill (needs root): ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`;
    return;
  }
  st = await startStack({
    gateway: { backend: { fs: { path: join(mountDir, 'gateway-data') } } },
    gatewayOptions: { logger: pino({ level: 'error' }, { write: (line: string) => void errorLog.push(line) }) },
  });
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(async () => {
  await st?.close();
  if (mounted) execFileSync('umount', [mountDir!]);
  if (mountDir) rmSync(mountDir, { recursive: true, force: true });
});

/** Writes to `path` until the filesystem refuses (ENOSPC); the bytes written. */
function fillUp(path: string): number {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096, 1);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return written;
}

test('a full disk → 507 XMinioStorageFull with nothing committed; stored objects still read; writes resume once space is freed', async (t) => {
  if (skip) {
    t.skip(skip);
    return;
  }
  const s = st!;
  const stored = new Map<string, Buffer>();
  let refused: Awaited<ReturnType<typeof s3Error>> | undefined;
  for (let i = 0; i < 20 && !refused; i++) {
    const body = randomBytes(MiB);
    const before = await snapshot(s.s3, s.dataDir);
    try {
      await s.s3.send(new PutObjectCommand({ Bucket: B, Key: `obj-${i}`, Body: body }));
      stored.set(`obj-${i}`, body);
    } catch (err) {
      refused = await s3Error(Promise.reject(err));
      assert.deepEqual(await snapshot(s.s3, s.dataDir), before, 'the refused PUT left nothing: no object, no data or temp file');
    }
  }
  assert.ok(refused, 'an 8 MiB disk must fill up within 20 PUTs of 1 MiB');
  assert.deepEqual({ status: refused.status, code: refused.code }, { status: 507, code: 'XMinioStorageFull' }, refused.message);
  assert.match(refused.message, /minimum free drive threshold/);
  assert.ok(stored.size >= 3, `only ${stored.size} objects fit before the disk was full`);

  // An UploadPart meets the same full disk the same way.
  const upload = await s.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp' }));
  const partRefused = await s3Error(
    s.s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp', UploadId: upload.UploadId!, PartNumber: 1, Body: randomBytes(5 * MiB) })),
  );
  assert.deepEqual({ status: partRefused.status, code: partRefused.code }, { status: 507, code: 'XMinioStorageFull' });

  for (const [Key, body] of stored) assert.ok((await getBytes(s.s3, { Bucket: B, Key })).equals(body), `${Key} reads back whole`);

  // Every last page taken: an empty object needs no data page, so it is the metadata commit that fails.
  const filler = join(mountDir!, 'filler');
  fillUp(filler);
  const before = await snapshot(s.s3, s.dataDir);
  errorLog.length = 0;
  const tiny = await s3Error(s.s3.send(new PutObjectCommand({ Bucket: B, Key: 'empty', Body: '' })));
  assert.deepEqual({ status: tiny.status, code: tiny.code }, { status: 507, code: 'XMinioStorageFull' }, tiny.message);
  assert.match(errorLog.join('\n'), /SqliteError: database or disk is full/, 'the 507 came from SQLite');
  assert.deepEqual(await snapshot(s.s3, s.dataDir), before);
  rmSync(filler);

  // Space freed: writes work again, and what was written reads back.
  for (const Key of [...stored.keys()].slice(0, 3)) {
    await s.s3.send(new DeleteObjectCommand({ Bucket: B, Key }));
    stored.delete(Key);
  }
  const again = randomBytes(MiB);
  await s.s3.send(new PutObjectCommand({ Bucket: B, Key: 'after', Body: again }));
  assert.ok((await getBytes(s.s3, { Bucket: B, Key: 'after' })).equals(again));
  await s.s3.send(new PutObjectCommand({ Bucket: B, Key: 'empty', Body: '' }));
  for (const [Key, body] of stored) assert.ok((await getBytes(s.s3, { Bucket: B, Key })).equals(body), `${Key} reads back whole`);
});
