// A rotation job survives a gateway restart: stopped in the middle (one object at a time, so the point
// is exact), it is left `running` in rotation.db with its progress, and the next start finishes it
// without re-wrapping what was already done.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { SqliteJobStore } from '../../src/rotation/job-store/sqlite.js';
import type { RotationJob } from '../../src/rotation/index.js';
import { openFsStore, type StoredSSE } from '../../src/storage/index.js';
import {
  content,
  dataFileHashes,
  gatewayFiles,
  getBytes,
  inlineDataHashes,
  startKes,
  startTestGateway,
  type TestGateway,
  type TestKes,
} from './helpers.js';

let kes: TestKes;
let second: TestGateway | undefined;

before(async () => {
  kes = await startKes(['kesgate-default', 'key-r1', 'key-r2']);
});
after(async () => {
  await second?.close();
  await kes?.close();
});

async function storedSSE(dataDir: string, bucket: string, keys: string[]): Promise<Map<string, StoredSSE>> {
  const store = await openFsStore({ path: dataDir });
  try {
    const out = new Map<string, StoredSSE>();
    for (const k of keys) out.set(k, (await store.getObject(bucket, k))!.sse);
    return out;
  } finally {
    await store.close();
  }
}

test('a job stopped mid-way by a gateway shutdown resumes at the next start and does not redo finished objects', async () => {
  const files = gatewayFiles();
  let stopping: Promise<void> | undefined;
  const first: TestGateway = await startTestGateway(kes, {
    files,
    concurrency: 1,
    rotation: {
      beforeObject: (_job: RotationJob, key: string) => {
        // Shut the gateway down while the third object is in hand: that one is finished, no further one starts.
        if (key === 'r2' && !stopping) stopping = first.close();
      },
    },
  });
  const bucket = 'resume';
  await first.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keys = [...Array(6).keys()].map((i) => `r${i}`);
  const data = new Map(keys.map((k) => [k, content(k, 1000 + k.length)]));
  for (const [key, body] of data) {
    await first.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-r1' }),
    );
  }
  const filesBefore = dataFileHashes(files.dataDir);
  // The objects are small (about 1 KB): inline, their bytes in their rows.
  const inlineBefore = await inlineDataHashes(first.gw.svc.store, bucket);
  assert.equal(inlineBefore.size, keys.length);
  const { id } = await first.admin.startRotation({ bucket, toKey: 'key-r2' });
  await first.gw.admin.rotation.wait(id);
  assert.ok(stopping, 'the gateway was stopped during the job');
  await stopping;

  // What the stopped gateway left: the job still running, progress after r2, r0..r2 rotated and r3.. not.
  const jobs = new SqliteJobStore(join(files.dataDir, 'rotation.db'), { leaseHolder: async () => undefined });
  const paused = (await jobs.get(id))!;
  await jobs.close();
  assert.equal(paused.state, 'running');
  assert.equal(paused.lastKey, 'r2');
  assert.deepEqual([paused.counters.scanned, paused.counters.rotated], [3, 3]);
  const atStop = await storedSSE(files.dataDir, bucket, keys);
  assert.deepEqual(
    keys.map((k) => atStop.get(k)!.kmsKey),
    ['key-r2', 'key-r2', 'key-r2', 'key-r1', 'key-r1', 'key-r1'],
  );

  // Restart on the same data directory: the job resumes by itself.
  second = await startTestGateway(kes, { files, concurrency: 1 });
  const done = await second.gw.admin.rotation.wait(id);
  assert.equal(done.state, 'done');
  assert.deepEqual(
    { scanned: done.counters.scanned, rotated: done.counters.rotated, skipped: done.counters.skipped, failed: done.counters.failed },
    { scanned: 6, rotated: 6, skipped: 0, failed: 0 },
    'the three objects done before the stop were not scanned again',
  );
  assert.equal(done.lastKey, 'r5');
  const final = await second.admin.rotation(id);
  assert.equal(final.state, 'done', 'the admin API reports it done');

  for (const k of keys) {
    const now = await second.admin.objectStatus(bucket, k);
    assert.equal(now.sse.kmsKey, 'key-r2', k);
    if (['r0', 'r1', 'r2'].includes(k)) assert.equal(now.sse.kmsCiphertext, atStop.get(k)!.kmsCiphertext, `${k} was not re-wrapped again`);
    else assert.notEqual(now.sse.kmsCiphertext, atStop.get(k)!.kmsCiphertext, `${k} was rotated after the restart`);
  }
  assert.deepEqual(dataFileHashes(files.dataDir), filesBefore, 'object data untouched');
  assert.deepEqual(await inlineDataHashes(second.gw.svc.store, bucket), inlineBefore, 'inline object data untouched');
  for (const [key, body] of data) assert.ok((await getBytes(second.s3, bucket, key)).equals(body), `${key} reads back`);
});
