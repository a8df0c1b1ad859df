import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { layouts, putBytes, rejectsWith, writeData, type TempStore } from './helpers.js';
import { sseRecord } from './fixtures/sse-records.js';

for (const layout of layouts) {
  describe(`${layout.name} store: buckets`, { skip: layout.skip }, () => {
    let t: TempStore;
    before(async () => {
      t = await layout.open();
    });
    after(async () => t.cleanup());

    it('creates, heads and lists buckets in name order', async () => {
      const beforeCreate = Date.now();
      const created = await t.store.createBucket('zeta');
      await t.store.createBucket('alpha');
      await t.store.createBucket('mid');
      assert.equal(created.name, 'zeta');
      assert.ok(created.createdAt.getTime() >= beforeCreate);
      assert.deepEqual(await t.store.headBucket('zeta'), created);
      const names = (await t.store.listBuckets()).map((b) => b.name);
      assert.deepEqual(names, ['alpha', 'mid', 'zeta']);
    });

    it('refuses to create an existing bucket and keeps the original', async () => {
      const original = await t.store.headBucket('alpha');
      await rejectsWith(
        t.store.createBucket('alpha', { encryption: { sse: 'aws:kms' } }),
        'BucketAlreadyExists',
        'BucketAlreadyOwnedByYou',
        409,
      );
      assert.deepEqual(await t.store.headBucket('alpha'), original);
      assert.equal(await t.store.getBucketEncryption('alpha'), undefined);
    });

    it('answers NoSuchBucket for every bucket operation on a missing bucket', async () => {
      const missing = 'nope';
      await rejectsWith(t.store.headBucket(missing), 'NoSuchBucket', 'NoSuchBucket', 404);
      await rejectsWith(t.store.deleteBucket(missing), 'NoSuchBucket', 'NoSuchBucket', 404);
      await rejectsWith(t.store.getBucketEncryption(missing), 'NoSuchBucket');
      await rejectsWith(t.store.putBucketEncryption(missing, { sse: 'AES256' }), 'NoSuchBucket');
      await rejectsWith(t.store.deleteBucketEncryption(missing), 'NoSuchBucket');
      await rejectsWith(t.store.createDataWriter(missing), 'NoSuchBucket');
      await rejectsWith(t.store.listObjects({ bucket: missing }), 'NoSuchBucket');
      await rejectsWith(t.store.getObject(missing, 'k'), 'NoSuchBucket');
      await rejectsWith(t.store.deleteObject(missing, 'k'), 'NoSuchBucket');
      await rejectsWith(t.store.listUploads({ bucket: missing }), 'NoSuchBucket');
      assert.equal(
        (await t.store.listBuckets()).some((b) => b.name === missing),
        false,
      );
    });

    it('stores, replaces and removes the default encryption', async () => {
      await t.store.createBucket('enc', { encryption: { sse: 'AES256' } });
      assert.deepEqual(await t.store.getBucketEncryption('enc'), { sse: 'AES256' });
      await t.store.putBucketEncryption('enc', { sse: 'aws:kms', kmsKeyId: 'tenant-key' });
      assert.deepEqual(await t.store.getBucketEncryption('enc'), { sse: 'aws:kms', kmsKeyId: 'tenant-key' });
      await t.reopen();
      assert.deepEqual(await t.store.getBucketEncryption('enc'), { sse: 'aws:kms', kmsKeyId: 'tenant-key' });
      await t.store.deleteBucketEncryption('enc');
      assert.equal(await t.store.getBucketEncryption('enc'), undefined);
    });

    it('refuses to delete a bucket holding objects and leaves the object intact', async () => {
      await t.store.createBucket('full');
      const record = await putBytes(t.store, 'full', 'k', Buffer.from('data'));
      await rejectsWith(t.store.deleteBucket('full'), 'BucketNotEmpty', 'BucketNotEmpty', 409);
      assert.deepEqual(await t.store.getObject('full', 'k'), record);
      await t.store.deleteObject('full', 'k');
      await t.store.deleteBucket('full');
      await rejectsWith(t.store.headBucket('full'), 'NoSuchBucket');
    });

    it('deletes a bucket with pending multipart uploads, removing their data', async () => {
      await t.store.createBucket('pending');
      const upload = await t.store.createUpload({ bucket: 'pending', key: 'big', sse: sseRecord(), userMetadata: {}, standardHeaders: {} });
      const { dataId, encSize } = await writeData(t.store, 'pending', Buffer.alloc(1000, 7));
      await t.store.putPart(upload, 1, dataId, { plainSize: 1000, encSize, etag: 'e1' });
      assert.ok((await t.blobIds()).includes(dataId));
      await t.store.deleteBucket('pending');
      await t.settle();
      assert.equal((await t.blobIds()).includes(dataId), false);
      await rejectsWith(t.store.getUpload(upload), 'NoSuchBucket');
    });

    it('refuses a put whose bucket was deleted after the data was written, and removes that data', async () => {
      await t.store.createBucket('vanishing');
      const { dataId, encSize } = await writeData(t.store, 'vanishing', Buffer.from('late'));
      await t.store.deleteBucket('vanishing');
      await rejectsWith(
        t.store.putObject({
          bucket: 'vanishing',
          key: 'k',
          size: 4,
          etag: 'e',
          userMetadata: {},
          standardHeaders: {},
          sse: sseRecord(),
          parts: [{ number: 1, plainSize: 4, encSize, etag: 'e', dataId }],
        }),
        'NoSuchBucket',
      );
      assert.equal((await t.blobIds()).includes(dataId), false);
      await rejectsWith(t.store.headBucket('vanishing'), 'NoSuchBucket');
    });
  });
}
