// Rotation jobs on the shared layout: two gateways on one PostgreSQL database and one upstream bucket. A
// job started through one gateway runs there and is seen, with its progress and end, from the other
// (admin GET rotate/{id} and the list).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { content, getBytes, startKes, startTestGateway, type TestGateway, type TestKes } from '../admin/helpers.js';
import { sharedBackendSkipReason, startSharedBackend, type SharedBackend } from '../helpers/shared-backend.js';

describe('rotation jobs shared by two gateways', { skip: sharedBackendSkipReason() }, () => {
  let kes: TestKes;
  let shared: SharedBackend;
  let a: TestGateway;
  let b: TestGateway;

  before(async () => {
    kes = await startKes(['kesgate-default', 'key-old', 'key-new']);
    shared = await startSharedBackend();
    const { backend } = await shared.backend();
    a = await startTestGateway(kes, { backend });
    b = await startTestGateway(kes, { backend });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await shared?.close();
    await kes?.close();
  });

  test('a job started on one gateway is run there and seen from the other, in the list and by id', async () => {
    const bucket = 'shared-jobs';
    await a.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const keys = ['k0', 'k1', 'k2', 'k3'];
    for (const key of keys) {
      await b.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: content(key, 3000), ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-old' }));
    }
    const started = await a.admin.startRotation({ bucket, toKey: 'key-new' });
    const done = await a.gw.admin.rotation.wait(started.id);
    assert.equal(done.state, 'done');
    assert.deepEqual([done.counters.scanned, done.counters.rotated], [keys.length, keys.length]);

    const seen = await b.admin.rotation(started.id);
    assert.deepEqual(seen, await a.admin.rotation(started.id), 'both gateways answer the same stored job');
    assert.equal(seen.state, 'done');
    assert.deepEqual((await b.admin.rotations()).map((j) => j.id), [started.id]);
    for (const key of keys) {
      assert.equal((await b.admin.objectStatus(bucket, key)).sse.kmsKey, 'key-new', key);
      assert.ok((await getBytes(b.s3, bucket, key)).equals(content(key, 3000)), key);
    }
  });
});
