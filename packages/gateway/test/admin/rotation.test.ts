// Rotation jobs against a real kes and a real gateway: metadata-only re-wrapping (the data files do not
// change), reads after the old key is deleted or its old versions are retired, dry runs, SSE-C left alone,
// kes sealed mid-job, cancel, and resume after the gateway stops mid-job.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { RotationJob } from '../../src/rotation/index.js';
import type { ObjectStatus } from '../../src/admin/object-info.js';
import {
  content,
  customerKey,
  dataFileHashes,
  getBytes,
  inlineDataHashes,
  startKes,
  startTestGateway,
  type TestGateway,
  type TestKes,
} from './helpers.js';
import { uploadInParts } from '../helpers/s3.js';

type Put = {
  key: string;
  data: Buffer;
  sse?: 'AES256' | 'aws:kms';
  kmsKey?: string;
  context?: Record<string, string>;
  ssec?: ReturnType<typeof customerKey>;
};

async function put(s3: S3Client, bucket: string, o: Put): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: o.key,
      Body: o.data,
      ...(o.sse ? { ServerSideEncryption: o.sse } : {}),
      ...(o.kmsKey ? { SSEKMSKeyId: o.kmsKey } : {}),
      ...(o.context ? { SSEKMSEncryptionContext: Buffer.from(JSON.stringify(o.context)).toString('base64') } : {}),
      ...(o.ssec ? { SSECustomerAlgorithm: 'AES256', SSECustomerKey: o.ssec.key.toString('base64'), SSECustomerKeyMD5: o.ssec.md5 } : {}),
    }),
  );
}

async function statuses(t: TestGateway, bucket: string, keys: string[]): Promise<Map<string, ObjectStatus>> {
  const out = new Map<string, ObjectStatus>();
  for (const k of keys) out.set(k, await t.admin.objectStatus(bucket, k));
  return out;
}

async function rotate(t: TestGateway, input: Parameters<TestGateway['admin']['startRotation']>[0]): Promise<RotationJob> {
  const started = await t.admin.startRotation(input);
  assert.equal(started.state, 'running');
  return t.gw.admin.rotation.wait(started.id);
}

function counter(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('rotation jobs', () => {
  let kes: TestKes;
  let t: TestGateway;
  /** Runs before each object of any job on this gateway, when set. */
  let hook: ((job: RotationJob, key: string) => Promise<void> | void) | undefined;

  before(async () => {
    kes = await startKes(['kesgate-default', 'key-a', 'key-b', 'key-v', 'key-s', 'key-s2']);
    t = await startTestGateway(kes, { rotation: { beforeObject: (job, key) => hook?.(job, key) } });
  });
  after(async () => {
    await t?.close();
    await kes?.close();
  });

  test('re-wraps SSE-S3/SSE-KMS objects under the target key without touching their data; SSE-C is skipped; dry run changes nothing', async () => {
    const bucket = 'rotation';
    await t.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const ssec = customerKey('rotation ssec');
    const objects: Put[] = [
      { key: 'a/s3-default', data: content('s3', 70_000), sse: 'AES256' },
      { key: 'a/kms-a-1', data: content('a1', 1000), sse: 'aws:kms', kmsKey: 'key-a' },
      { key: 'a/kms-a-ctx', data: content('a2', 200_000), sse: 'aws:kms', kmsKey: 'key-a', context: { project: 'kesgate', tier: 'gold' } },
      { key: 'a/kms-b', data: content('b', 10), sse: 'aws:kms', kmsKey: 'key-b' },
      { key: 'a/ssec', data: content('c', 5000), ssec },
      { key: 'a/empty', data: Buffer.alloc(0), sse: 'aws:kms', kmsKey: 'key-a' },
    ];
    for (const o of objects) await put(t.s3, bucket, o);
    const mpParts = [content('mp1', 5 * 1024 * 1024), content('mp2', 12_345)];
    await uploadInParts(t.s3, { Bucket: bucket, Key: 'a/multipart', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' }, mpParts);
    const expected = new Map<string, Buffer>([...objects.map((o) => [o.key, o.data] as const), ['a/multipart', Buffer.concat(mpParts)]]);
    const keys = [...expected.keys()];
    const filesBefore = dataFileHashes(t.files.dataDir);
    // The small ones (a/kms-a-1, a/kms-b, a/ssec, a/empty) are inline: their bytes are in their rows.
    const inlineBefore = await inlineDataHashes(t.gw.svc.store, bucket);
    assert.equal(inlineBefore.size, 4);
    const before = await statuses(t, bucket, keys);

    // Dry run, only objects under key-a: counts them, changes nothing.
    const dry = await rotate(t, { bucket, toKey: 'key-b', fromKey: 'key-a', dryRun: true });
    assert.equal(dry.state, 'done');
    assert.equal(dry.dryRun, true);
    assert.deepEqual(
      { scanned: dry.counters.scanned, rotated: dry.counters.rotated, failed: dry.counters.failed, skippedBy: dry.counters.skippedBy },
      { scanned: 7, rotated: 4, failed: 0, skippedBy: { 'sse-c': 1, current: 0, 'other-key': 2, gone: 0 } },
    );
    assert.deepEqual(await statuses(t, bucket, keys), before, 'a dry run changes no metadata');

    const metricsBefore = await t.gw.svc.metrics.registry.metrics();
    const job = await rotate(t, { bucket, prefix: 'a/', toKey: 'key-b' });
    assert.equal(job.state, 'done');
    assert.equal(job.targetVersion, 'v1');
    assert.equal(job.total, 7);
    assert.deepEqual(
      { scanned: job.counters.scanned, rotated: job.counters.rotated, skipped: job.counters.skipped, failed: job.counters.failed },
      { scanned: 7, rotated: 5, skipped: 2, failed: 0 },
    );
    assert.equal(job.counters.skippedBy['sse-c'], 1);
    assert.equal(job.counters.skippedBy.current, 1, 'the object already under key-b v1 is left alone');
    assert.equal(job.lastKey, 'a/ssec', 'progress ends at the last key in listing order');

    assert.deepEqual(dataFileHashes(t.files.dataDir), filesBefore, 'no data file was written, added or removed');
    assert.deepEqual(await inlineDataHashes(t.gw.svc.store, bucket), inlineBefore, "no inline object's stored bytes changed");
    const afterRotation = await statuses(t, bucket, keys);
    for (const key of keys) {
      const b = before.get(key)!;
      const a = afterRotation.get(key)!;
      assert.deepEqual(a.parts, b.parts, `${key}: parts unchanged`);
      if (key === 'a/ssec' || key === 'a/kms-b') {
        assert.deepEqual(a.sse, b.sse, `${key}: not rotated`);
        continue;
      }
      assert.equal(a.sse.sse, b.sse.sse, `${key}: the SSE mode stays`);
      assert.equal(a.sse.kmsKey, 'key-b', key);
      assert.equal(a.sse.kmsKeyVersion, 'v1', key);
      assert.notEqual(a.sse.kmsCiphertext, b.sse.kmsCiphertext, `${key}: a new data key`);
      assert.notEqual(a.sse.iv, b.sse.iv, `${key}: a new IV`);
      assert.notEqual(a.sse.sealedKey, b.sse.sealedKey, key);
      assert.equal(a.sse.kmsContext, b.sse.kmsContext, `${key}: the client's KMS context is kept`);
      assert.equal(a.etag, b.etag, key);
    }
    assert.equal(afterRotation.get('a/multipart')!.sse.multipart, true);

    const metricsAfter = await t.gw.svc.metrics.registry.metrics();
    const rotatedMetric = (m: string) => counter(m, 'kesgate_rotation_objects_total', 'result="rotated"');
    assert.equal(rotatedMetric(metricsAfter) - rotatedMetric(metricsBefore), 5);

    // Every object reads back byte for byte, and still does once key-a (and the default key's use) is gone.
    await kes.admin.deleteKey('key-a');
    for (const [key, data] of expected) {
      const got = await getBytes(t.s3, bucket, key, key === 'a/ssec' ? ssec : undefined);
      assert.ok(got.equals(data), `${key} reads back identical after key-a was deleted`);
    }
  });

  test('unfinished multipart uploads are rotated too: after the old key is deleted they complete and read back', async () => {
    const bucket = 'rotation-uploads';
    await t.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await kes.admin.createKey('key-up-a');
    await kes.admin.createKey('key-up-b');
    const start = async (key: string, extra: Record<string, string>) =>
      (await t.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...extra }))).UploadId!;
    const part = async (key: string, UploadId: string, PartNumber: number, body: Buffer, extra: Record<string, string> = {}) =>
      (await t.s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body: body, ...extra }))).ETag!;
    const kmsA = { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-up-a' };
    const ssec = customerKey('rotation upload ssec');
    const ssecHeaders = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: ssec.key.toString('base64'), SSECustomerKeyMD5: ssec.md5 };

    const inPrefix = await start('a/big', kmsA);
    const data = [content('up1', 5 * 1024 * 1024), content('up2', 777)];
    const etag1 = await part('a/big', inPrefix, 1, data[0]!);
    const ssecUpload = await start('a/customer', ssecHeaders);
    const outside = await start('b/other', kmsA);

    const job = await rotate(t, { bucket, prefix: 'a/', toKey: 'key-up-b' });
    assert.equal(job.state, 'done');
    assert.equal(job.total, 2, 'the two uploads under a/ are counted');
    assert.deepEqual(
      { scanned: job.counters.scanned, rotated: job.counters.rotated, failed: job.counters.failed, sseC: job.counters.skippedBy['sse-c'] },
      { scanned: 2, rotated: 1, failed: 0, sseC: 1 },
    );

    // The old key is erased: the rotated upload goes on under key-up-b, the one outside the prefix cannot.
    await kes.admin.deleteKey('key-up-a');
    const etag2 = await part('a/big', inPrefix, 2, data[1]!);
    await t.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'a/big',
        UploadId: inPrefix,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: etag1 },
            { PartNumber: 2, ETag: etag2 },
          ],
        },
      }),
    );
    assert.ok((await getBytes(t.s3, bucket, 'a/big')).equals(Buffer.concat(data)), 'the completed object reads back identical');
    const status = await t.admin.objectStatus(bucket, 'a/big');
    assert.equal(status.sse.kmsKey, 'key-up-b');
    assert.equal(status.sse.multipart, true);
    await assert.rejects(
      part('b/other', outside, 1, content('x', 10)),
      (err: { Code?: string; name: string }) => (err.Code ?? err.name) === 'KMS.NotFoundException',
    );
    // The SSE-C upload was left alone and still takes parts under its customer key.
    await part('a/customer', ssecUpload, 1, content('c1', 100), ssecHeaders);
  });

  test('after rotating onto a new key version, retiring the old versions (min_decryption_version) leaves rotated objects readable', async () => {
    const bucket = 'versions';
    await t.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const data = new Map([...Array(3).keys()].map((i) => [`new/${i}`, content(`v${i}`, 3000 + i)]));
    for (const [key, body] of data) await put(t.s3, bucket, { key, data: body, sse: 'aws:kms', kmsKey: 'key-v' });
    await put(t.s3, bucket, { key: 'old/kept', data: content('kept', 100), sse: 'aws:kms', kmsKey: 'key-v' });
    const rotated = await kes.admin.rotateKey('key-v');
    assert.equal(rotated?.latest_version, 'v2');

    const job = await rotate(t, { bucket, prefix: 'new/', toKey: 'key-v' });
    assert.equal(job.state, 'done');
    assert.equal(job.targetVersion, 'v2');
    assert.equal(job.counters.rotated, 3);
    for (const key of data.keys()) assert.equal((await t.admin.objectStatus(bucket, key)).sse.kmsKeyVersion, 'v2');

    await kes.admin.configureKey('key-v', { min_decryption_version: 2 });
    for (const [key, body] of data) assert.ok((await getBytes(t.s3, bucket, key)).equals(body), `${key} reads under v2 only`);
    // The object left under v1 proves v1 really is retired.
    await assert.rejects(getBytes(t.s3, bucket, 'old/kept'), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, 'KMS.DisabledException');
      return true;
    });
    // Running the job again finds nothing to do.
    const again = await rotate(t, { bucket, prefix: 'new/', toKey: 'key-v' });
    assert.deepEqual([again.counters.rotated, again.counters.skippedBy.current], [0, 3]);
  });

  test('kes sealed during a job (no outage wait configured): each object is retried with backoff, then counted failed, and the job ends incomplete; after unseal a new job finishes', async () => {
    const bucket = 'sealed';
    await t.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const data = new Map([...Array(3).keys()].map((i) => [`o${i}`, content(`s${i}`, 500)]));
    for (const [key, body] of data) await put(t.s3, bucket, { key, data: body, sse: 'aws:kms', kmsKey: 'key-s' });
    const unavailable = async () =>
      counter(
        await t.gw.svc.metrics.registry.metrics(),
        'kesgate_kms_request_duration_seconds_count',
        'operation="decrypt",outcome="ServiceUnavailable"',
      );
    const unavailableBefore = await unavailable();

    // The job checks the target key while kes is unsealed, then kes is sealed before the first object.
    let sealed = false;
    hook = async () => {
      if (sealed) return;
      sealed = true;
      await kes.admin.seal();
    };
    try {
      const job = await rotate(t, { bucket, toKey: 'key-s2' });
      assert.equal(job.state, 'incomplete', 'objects left under their old key are not a finished rotation');
      assert.deepEqual([job.counters.scanned, job.counters.rotated, job.counters.failed], [3, 0, 3]);
      assert.equal(job.counters.retries, 3 * 2, 'two extra attempts per object (3 attempts in all)');
      assert.equal((await unavailable()) - unavailableBefore, 3 * 3, 'every attempt reached kes and found it sealed');
      assert.equal(job.failures.length, 3);
      assert.match(job.failures[0]!.error, /ServiceUnavailable: KMS is sealed/);
    } finally {
      hook = undefined;
      await kes.admin.unseal(kes.shares[0]!);
    }
    for (const key of data.keys()) assert.equal((await t.admin.objectStatus(bucket, key)).sse.kmsKey, 'key-s', 'nothing changed');

    const retry = await rotate(t, { bucket, toKey: 'key-s2' });
    assert.deepEqual([retry.state, retry.counters.rotated, retry.counters.failed], ['done', 3, 0]);
    for (const [key, body] of data) assert.ok((await getBytes(t.s3, bucket, key)).equals(body));
  });

  test('a cancelled job stops after the objects in hand and says so', async () => {
    const bucket = 'cancel';
    await t.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (let i = 0; i < 5; i++) await put(t.s3, bucket, { key: `k${i}`, data: content(`x${i}`, 100), sse: 'AES256' });
    let id: string | undefined;
    hook = (job) => {
      if (id === undefined) {
        id = job.id;
        void t.gw.admin.rotation.cancel(job.id);
      }
    };
    try {
      const started = await t.admin.startRotation({ bucket, toKey: 'key-b' });
      const job = await t.gw.admin.rotation.wait(started.id);
      assert.equal(job.state, 'cancelled');
      assert.ok(job.finishedAt);
      assert.ok(job.counters.scanned >= 1 && job.counters.scanned < 5, `stopped early (scanned ${job.counters.scanned})`);
      assert.equal((await t.admin.rotation(started.id)).state, 'cancelled', 'the admin API reports the stored state');
    } finally {
      hook = undefined;
    }
  });
});
