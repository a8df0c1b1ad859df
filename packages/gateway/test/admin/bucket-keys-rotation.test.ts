// Rotation of objects written under S3 Bucket Keys, through the admin API against a real kes and gateway: they
// move onto a bucket key of the target master key (or of its new version), and once the old master key is
// deleted at kes they still read.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, PutBucketEncryptionCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { RotationJob } from '../../src/rotation/index.js';
import { content, getBytes, startKes, startTestGateway, type TestGateway, type TestKes } from './helpers.js';

describe('rotation of bucket-key objects', () => {
  let kes: TestKes;
  let t: TestGateway;

  before(async () => {
    kes = await startKes(['kesgate-default', 'key-a', 'key-b', 'key-v']);
    t = await startTestGateway(kes);
  });
  after(async () => {
    await t?.close();
    await kes?.close();
  });

  async function rotate(input: Parameters<TestGateway['admin']['startRotation']>[0]): Promise<RotationJob> {
    const started = await t.admin.startRotation(input);
    return t.gw.admin.rotation.wait(started.id);
  }

  const put = (bucket: string, key: string, body: Buffer, kmsKey: string, bucketKey?: boolean) =>
    t.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: kmsKey,
        ...(bucketKey !== undefined ? { BucketKeyEnabled: bucketKey } : {}),
      }),
    );

  test("onto the target key's bucket key when the object had one or the bucket enables them; the old key deleted, all still read", async () => {
    const bucket = 'rotate-bk';
    await t.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const data = new Map([
      ['bk-1', content('bk-1', 5000)],
      ['bk-2', content('bk-2', 70_000)],
      ['own', content('own', 3000)],
    ]);
    await put(bucket, 'bk-1', data.get('bk-1')!, 'key-a', true);
    await put(bucket, 'bk-2', data.get('bk-2')!, 'key-a', true);
    await put(bucket, 'own', data.get('own')!, 'key-a');
    const before = await t.admin.objectStatus(bucket, 'bk-1');
    assert.ok(before.sse.bucketKey, 'written under a bucket key');

    const job = await rotate({ bucket, fromKey: 'key-a', toKey: 'key-b' });
    assert.deepEqual([job.state, job.counters.rotated, job.counters.failed], ['done', 3, 0]);
    const [one, two, own] = [
      await t.admin.objectStatus(bucket, 'bk-1'),
      await t.admin.objectStatus(bucket, 'bk-2'),
      await t.admin.objectStatus(bucket, 'own'),
    ];
    for (const s of [one, two]) {
      assert.equal(s.sse.kmsKey, 'key-b');
      assert.equal(s.sse.kmsCiphertext, undefined);
      assert.notEqual(
        (s.sse.bucketKey as { id: string }).id,
        (before.sse.bucketKey as { id: string }).id,
        'a bucket key of the target key',
      );
    }
    assert.equal(
      (one.sse.bucketKey as { id: string }).id,
      (two.sse.bucketKey as { id: string }).id,
      'rotated objects share the target bucket key',
    );
    // An object with a data key of its own keeps that choice while the bucket does not enable bucket keys.
    assert.deepEqual([own.sse.kmsKey, own.sse.bucketKey, typeof own.sse.kmsCiphertext], ['key-b', undefined, 'string']);

    // The bucket enables bucket keys: a rotation moves a per-object key onto one too.
    await t.s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'key-a' }, BucketKeyEnabled: true }],
        },
      }),
    );
    data.set('own-2', content('own-2', 100));
    await put(bucket, 'own-2', data.get('own-2')!, 'key-a', false);
    assert.equal((await t.admin.objectStatus(bucket, 'own-2')).sse.bucketKey, undefined);
    const second = await rotate({ bucket, fromKey: 'key-a', toKey: 'key-b' });
    assert.deepEqual([second.state, second.counters.rotated], ['done', 1]);
    assert.ok((await t.admin.objectStatus(bucket, 'own-2')).sse.bucketKey, 'the bucket enables bucket keys');

    await kes.admin.deleteKey('key-a');
    for (const [key, body] of data) assert.ok((await getBytes(t.s3, bucket, key)).equals(body), `${key} reads without key-a`);
  });

  test('onto a new version of the same key: a bucket key of that version, and the old versions can be retired', async () => {
    const bucket = 'rotate-bk-version';
    await t.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const body = content('v', 4000);
    await put(bucket, 'o', body, 'key-v', true);
    const v1 = await t.admin.objectStatus(bucket, 'o');
    const rotated = await kes.admin.rotateKey('key-v');
    const job = await rotate({ bucket, toKey: 'key-v' });
    assert.deepEqual([job.state, job.counters.rotated, job.targetVersion], ['done', 1, rotated?.latest_version]);
    const v2 = await t.admin.objectStatus(bucket, 'o');
    assert.equal(v2.sse.kmsKeyVersion, rotated?.latest_version);
    assert.notEqual((v2.sse.bucketKey as { id: string }).id, (v1.sse.bucketKey as { id: string }).id);
    await kes.admin.configureKey('key-v', { min_decryption_version: 2 });
    assert.ok((await getBytes(t.s3, bucket, 'o')).equals(body));
    // Running it again finds the object current.
    const again = await rotate({ bucket, toKey: 'key-v' });
    assert.deepEqual([again.counters.rotated, again.counters.skippedBy.current], [0, 1]);
  });
});
