// kill -9 of the gateway the moment a write's 200 arrives: every acknowledged write is there after the restart.
// meta.db commits without an fsync on the event loop (synchronous=NORMAL) and the store fsyncs the WAL on the
// thread pool before the write resolves (storage/metadata/sqlite/wal-sync.ts); this proves, through a real client
// and a real process, that the 200 never comes before the commit reached the WAL. (A SIGKILL keeps the kernel's
// page cache, so it cannot tell an fsync from a plain write: storage/wal-sync.test.ts proves the fsync order.)
// Each step runs in a fresh gateway process over the same data directory and is killed right after its answer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { gatewayProcessConfig, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { s3Client, startStack, type Stack } from '../helpers/stack.js';

const B = 'ack-bucket';
const small = randomBytes(4096); // inline: only in meta.db
const large = randomBytes(64 * 1024); // a data file plus its row
const replaced = randomBytes(4096);

let st: Stack;
let dir: string;
let running: GatewayProcess | undefined;

before(async () => {
  st = await startStack();
  dir = mkdtempSync(join(tmpdir(), 'kesgate-kill-after-ack-'));
});
after(async () => {
  await running?.kill();
  await st?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function body(s3: S3Client, key: string): Promise<Buffer | 'NoSuchKey'> {
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
    return Buffer.from(await r.Body!.transformToByteArray());
  } catch (e) {
    assert.equal((e as { name: string }).name, 'NoSuchKey', (e as Error).message);
    return 'NoSuchKey';
  }
}

/** What the data directory must hold: each key's body or its absence, and the bucket's tags. */
interface Model {
  bucket: boolean;
  objects: Map<string, Buffer | 'NoSuchKey'>;
  tags?: { Key: string; Value: string }[];
}

async function check(s3: S3Client, model: Model): Promise<void> {
  if (!model.bucket) return;
  for (const [key, expected] of model.objects) assert.deepEqual(await body(s3, key), expected, key);
  if (model.tags) assert.deepEqual((await s3.send(new GetBucketTaggingCommand({ Bucket: B }))).TagSet, model.tags);
}

/** Each write, and what its 200 promises from then on. */
const steps: { name: string; write: (s3: S3Client) => Promise<unknown>; promised: (m: Model) => void }[] = [
  {
    name: 'CreateBucket',
    write: (s3) => s3.send(new CreateBucketCommand({ Bucket: B })),
    promised: (m) => {
      m.bucket = true;
      m.objects.set('absent', 'NoSuchKey'); // NoSuchBucket if the bucket were lost
    },
  },
  {
    name: 'PutObject 4 KiB (inline)',
    write: (s3) => s3.send(new PutObjectCommand({ Bucket: B, Key: 'small', Body: small, ServerSideEncryption: 'AES256' })),
    promised: (m) => m.objects.set('small', small),
  },
  {
    name: 'PutObject 64 KiB (data file)',
    write: (s3) => s3.send(new PutObjectCommand({ Bucket: B, Key: 'large', Body: large, ServerSideEncryption: 'AES256' })),
    promised: (m) => m.objects.set('large', large),
  },
  {
    name: 'PutObject over the 4 KiB object',
    write: (s3) => s3.send(new PutObjectCommand({ Bucket: B, Key: 'small', Body: replaced, ServerSideEncryption: 'AES256' })),
    promised: (m) => m.objects.set('small', replaced),
  },
  {
    name: 'DeleteObject of the 64 KiB object',
    write: (s3) => s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'large' })),
    promised: (m) => m.objects.set('large', 'NoSuchKey'),
  },
  {
    name: 'PutBucketTagging',
    write: (s3) => s3.send(new PutBucketTaggingCommand({ Bucket: B, Tagging: { TagSet: [{ Key: 'team', Value: 'storage' }] } })),
    promised: (m) => (m.tags = [{ Key: 'team', Value: 'storage' }]),
  },
];

test('every write acknowledged right before a SIGKILL of the gateway is there after the restart', async () => {
  const config = gatewayProcessConfig(st, { fs: { path: join(dir, 'gateway-data') } });
  const model: Model = { bucket: false, objects: new Map() };
  let after = 'the first start';
  for (const step of [...steps, undefined]) {
    running = await startGatewayProcess(join(dir, 'gateway.yaml'), config);
    const s3 = s3Client(running.url);
    try {
      await check(s3, model).catch((e: Error) => assert.fail(`after a SIGKILL right after ${after}'s 200: ${e.message}`));
      if (!step) break;
      await step.write(s3);
      running.proc.kill('SIGKILL'); // at once: nothing else of the process runs after the answer
      assert.equal(await running.exited, 'SIGKILL');
      step.promised(model);
      after = step.name;
    } finally {
      s3.destroy();
      await running.kill();
      running = undefined;
    }
  }
});
