// Refused copies, aborted GETs and cancelled uploads leave no file open. The stack runs in this process, so
// /proc/self/fd holds every descriptor the gateway has; a FileHandle left for the garbage collector shows
// there until a collection, then as a "Closing file descriptor N on garbage collection" warning. So the
// count is taken before forcing a collection, and the warnings after it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, s3Client, startStack, type Stack } from '../helpers/stack.js';
import { getBytes, s3Error, ssec } from '../helpers/s3.js';
import { RawClient } from './raw.js';
import { head } from './wire.js';
import { snapshot } from './state.js';

const B = 'fd-leaks';
const ROUNDS = 60;
const MiB = 1024 * 1024;
const source = randomBytes(2 * MiB);
const uploadKey = ssec();
let st: Stack;
let uploadId: string;
const warnings: Error[] = [];
const onWarning = (w: Error): void => {
  warnings.push(w);
};

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

before(async () => {
  st = await startStack({ gateway: { sse: { allowInsecureSSEC: true } } });
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'src', Body: source }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'big', Body: randomBytes(16 * MiB) }));
  uploadId = (await st.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'ssec-upload', ...uploadKey.put }))).UploadId!;
  process.on('warning', onWarning);
});
after(async () => {
  process.off('warning', onWarning);
  await st?.close();
});

function openFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}
const dataFilesOpen = (): string[] => openFds().filter((t) => t.startsWith(st.dataDir) && !/\.db(-wal|-shm)?$/.test(t));

const tmpFiles = (): string[] => (existsSync(join(st.dataDir, 'tmp')) ? readdirSync(join(st.dataDir, 'tmp')) : []);

/**
 * Waits for the last cancelled upload's cleanup to end (it closes its temp file first and unlinks it after, so
 * both are waited for; up to a minute, the machine may be busy), then up to `socketWaitMs` for closed clients'
 * sockets to bring the count to `limit`. Returns the descriptors open then; what did not go is for the caller's
 * assertions to report.
 */
async function settledFds(limit: number, socketWaitMs = 30_000): Promise<string[]> {
  // Each look reads every descriptor's link: every 50 ms, not 10 (the baseline's waits last their 3 s in full).
  const cleanup = Date.now() + 60_000;
  while (Date.now() < cleanup && (dataFilesOpen().length > 0 || tmpFiles().length > 0)) await sleep(50);
  const sockets = Date.now() + socketWaitMs;
  while (Date.now() < sockets && openFds().length > limit) await sleep(50);
  return openFds();
}

async function rawGetAborted(): Promise<void> {
  const raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
  const headers = await raw.sign({ method: 'GET', path: `/${B}/big` });
  const socket = net.connect(st.gw.httpPort, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(head('GET', `/${B}/big`, headers));
  let received = 0;
  await new Promise<void>((resolve) => {
    socket.on('data', (c: Buffer) => {
      received += c.length;
      if (received >= MiB) resolve();
    });
    socket.on('close', () => resolve());
  });
  socket.destroy();
}

async function rawPutCancelled(i: number): Promise<void> {
  await new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY).abandonedPut(`/${B}/cancelled-${i}`, 8 * MiB, Buffer.alloc(2 * MiB, 1));
}

/** No data file open, no more descriptors than before (closed clients' sockets may take a moment to go; a leak
 * does not go at all, until a collection), and none left for the garbage collector to close. */
async function noDescriptorLeft(baseline: string[]): Promise<void> {
  const slack = 6;
  const now = await settledFds(baseline.length + slack);
  assert.deepEqual(dataFilesOpen(), [], 'no data file of the gateway is left open');
  assert.deepEqual(tmpFiles(), [], 'no temp file is left');
  assert.ok(
    now.length <= baseline.length + slack,
    `${now.length} descriptors open after, ${baseline.length} before:\n${now.filter((t) => !baseline.includes(t)).join('\n')}`,
  );
  gc();
  await sleep(100);
  assert.deepEqual(
    warnings.map((w) => w.message),
    [],
    'no descriptor was left for the garbage collector to close',
  );
}

test(
  `${ROUNDS} of each refused copy, aborted GET and cancelled upload leave no descriptor open and none to the garbage collector`,
  { skip: process.platform !== 'linux' && 'needs /proc' },
  async () => {
    // Warm up: every lazily opened thing (SQLite, kes connections, a copy that succeeds) exists before the baseline.
    const warm = s3Client(st.gw.url);
    await warm.send(new CopyObjectCommand({ Bucket: B, Key: 'copied', CopySource: `${B}/src` }));
    warm.destroy();
    gc();
    await sleep(50);
    const baseline = await settledFds(0, 3000); // earlier clients' sockets: 3 s to go
    const stateBefore = await snapshot(st.s3, st.dataDir);
    warnings.length = 0;

    const s3: S3Client = s3Client(st.gw.url);
    const other = ssec();
    const copy = (Key: string, extra: Record<string, unknown> = {}, Bucket = B) =>
      s3.send(new CopyObjectCommand({ Bucket, Key, CopySource: `${B}/src`, ...extra }));
    const partCopy = (extra: Record<string, unknown> = {}) =>
      s3.send(
        new UploadPartCopyCommand({ Bucket: B, Key: 'ssec-upload', UploadId: uploadId, PartNumber: 1, CopySource: `${B}/src`, ...extra }),
      );
    const refusals: [string, () => Promise<unknown>, number, string][] = [
      [
        'CopyObject under an unknown KMS key',
        () => copy('dst', { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'no-such-key' }),
        400,
        'KMS.NotFoundException',
      ],
      ['CopyObject into a missing bucket', () => copy('dst', {}, 'no-such-bucket'), 404, 'NoSuchBucket'],
      ['CopyObject to a key too long', () => copy('k'.repeat(1025)), 400, 'KeyTooLongError'],
      ['UploadPartCopy into an SSE-C upload without its key', () => partCopy(), 400, 'InvalidRequest'],
      ['UploadPartCopy into an SSE-C upload with another key', () => partCopy(other.put), 400, 'InvalidRequest'],
    ];
    try {
      for (let i = 0; i < ROUNDS; i++) {
        for (const [what, call, status, code] of refusals) {
          const err = await s3Error(call());
          assert.deepEqual({ status: err.status, code: err.code }, { status, code }, `${what}: ${err.message}`);
        }
        await rawGetAborted();
        await rawPutCancelled(i);
      }
    } finally {
      s3.destroy();
    }

    await noDescriptorLeft(baseline);

    // Nothing was stored by the refusals and cancellations, and the source still reads whole.
    assert.deepEqual(await snapshot(st.s3, st.dataDir), stateBefore);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'src' })).equals(source));
  },
);

test(
  `${ROUNDS} small objects inline, written, read, copied and refused, hold no descriptor and make no data file`,
  { skip: process.platform !== 'linux' && 'needs /proc' },
  async () => {
    gc();
    await sleep(50);
    const baseline = await settledFds(0, 3000); // earlier clients' sockets: 3 s to go
    const filesBefore = (await snapshot(st.s3, st.dataDir)).dataFiles;
    warnings.length = 0;

    const s3: S3Client = s3Client(st.gw.url);
    try {
      for (let i = 0; i < ROUNDS; i++) {
        // 4 KiB stores 4,128 bytes: inline under the default threshold.
        const body = randomBytes(4096);
        await s3.send(new PutObjectCommand({ Bucket: B, Key: `inline-${i}`, Body: body }));
        assert.ok((await getBytes(s3, { Bucket: B, Key: `inline-${i}` })).equals(body));
        assert.ok((await getBytes(s3, { Bucket: B, Key: `inline-${i}`, Range: 'bytes=100-199' })).equals(body.subarray(100, 200)));
        await s3.send(new CopyObjectCommand({ Bucket: B, Key: `inline-copy-${i}`, CopySource: `${B}/inline-${i}` }));
        const refused = await s3Error(
          s3.send(
            new CopyObjectCommand({
              Bucket: B,
              Key: `inline-refused-${i}`,
              CopySource: `${B}/inline-${i}`,
              ServerSideEncryption: 'aws:kms',
              SSEKMSKeyId: 'no-such-key',
            }),
          ),
        );
        assert.deepEqual([refused.status, refused.code], [400, 'KMS.NotFoundException']);
      }
    } finally {
      s3.destroy();
    }

    await noDescriptorLeft(baseline);
    const after = await snapshot(st.s3, st.dataDir);
    assert.deepEqual(after.dataFiles, filesBefore, 'no data file for an inline object or its copy');
    const keys = after.objects[B]!.map((line) => line.split(' ')[0]!);
    for (let i = 0; i < ROUNDS; i++) {
      assert.ok(keys.includes(`inline-${i}`) && keys.includes(`inline-copy-${i}`), `inline-${i} and its copy are stored`);
      assert.equal(keys.includes(`inline-refused-${i}`), false, 'a refused copy stores nothing');
    }
  },
);
