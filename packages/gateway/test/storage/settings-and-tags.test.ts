import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import DatabaseConstructor from 'better-sqlite3';
import { openFsStore } from '../../src/storage/index.js';
import { STEPS } from '../../src/storage/metadata/sqlite/schema.js';
import { layouts, md5, openEmbeddedStore, putBytes, rejectsWith, writeData, type TempStore } from './helpers.js';
import { sseRecord } from './fixtures/sse-records.js';

for (const layout of layouts) {
  describe(`${layout.name} store: bucket settings and object tags`, { skip: layout.skip }, () => {
    let t: TempStore;
    before(async () => {
      t = await layout.open();
      await t.store.createBucket('cfg');
    });
    after(async () => t.cleanup());

    it('stores, replaces and removes each bucket setting on its own, across a reopen', async () => {
      assert.equal(await t.store.getBucketSetting('cfg', 'cors'), undefined);
      const rules = [
        {
          allowedOrigins: ['https://app.example'],
          allowedMethods: ['PUT'],
          allowedHeaders: ['*'],
          exposeHeaders: ['ETag'],
          maxAgeSeconds: 60,
        },
      ];
      await t.store.putBucketSetting('cfg', 'cors', rules);
      await t.store.putBucketSetting('cfg', 'tagging', [{ key: 'team', value: 'storage' }]);
      await t.store.putBucketSetting('cfg', 'tagging', [{ key: 'team', value: 'kes' }]);
      await t.reopen();
      assert.deepEqual(await t.store.getBucketSetting('cfg', 'cors'), rules);
      assert.deepEqual(await t.store.getBucketSetting('cfg', 'tagging'), [{ key: 'team', value: 'kes' }]);
      assert.equal(await t.store.getBucketSetting('cfg', 'publicAccessBlock'), undefined);
      await t.store.putBucketSetting('cfg', 'cors', undefined);
      assert.equal(await t.store.getBucketSetting('cfg', 'cors'), undefined);
      assert.deepEqual(await t.store.getBucketSetting('cfg', 'tagging'), [{ key: 'team', value: 'kes' }]);
    });

    it('answers NoSuchBucket for settings of a missing bucket, and a re-created bucket starts without any', async () => {
      await rejectsWith(t.store.getBucketSetting('missing', 'cors'), 'NoSuchBucket');
      await rejectsWith(t.store.putBucketSetting('missing', 'cors', []), 'NoSuchBucket');
      await t.store.createBucket('gone');
      await t.store.putBucketSetting('gone', 'ownershipControls', { objectOwnership: 'ObjectWriter' });
      await t.store.deleteBucket('gone');
      await t.store.createBucket('gone');
      assert.equal(await t.store.getBucketSetting('gone', 'ownershipControls'), undefined);
    });

    it('keeps object tags with the object; replacing them leaves ETag, Last-Modified and revision alone', async () => {
      const put = await putBytes(t.store, 'cfg', 'tagged', Buffer.from('data'), {
        tags: [
          { key: 'a', value: '1' },
          { key: 'b', value: '' },
        ],
      });
      assert.deepEqual(put.tags, [
        { key: 'a', value: '1' },
        { key: 'b', value: '' },
      ]);
      const retagged = await t.store.putObjectTags('cfg', 'tagged', [{ key: 'c', value: '3' }]);
      assert.deepEqual(retagged.tags, [{ key: 'c', value: '3' }]);
      assert.equal(retagged.revision, put.revision);
      assert.equal(retagged.etag, put.etag);
      assert.equal(retagged.lastModified.getTime(), put.lastModified.getTime());
      await t.reopen();
      assert.deepEqual((await t.store.getObject('cfg', 'tagged'))?.tags, [{ key: 'c', value: '3' }]);
      const cleared = await t.store.putObjectTags('cfg', 'tagged', []);
      assert.equal(cleared.tags, undefined);
      assert.equal((await t.store.getObject('cfg', 'tagged'))?.tags, undefined);
      await rejectsWith(t.store.putObjectTags('cfg', 'nope', []), 'NoSuchKey', 'NoSuchKey', 404);
      await rejectsWith(t.store.putObjectTags('missing', 'k', []), 'NoSuchBucket');
    });

    it("carries an upload's tags to the completed object", async () => {
      const upload = await t.store.createUpload({
        bucket: 'cfg',
        key: 'mp',
        userMetadata: {},
        standardHeaders: {},
        sse: sseRecord(),
        tags: [{ key: 'x', value: 'y' }],
      });
      assert.deepEqual((await t.store.getUpload({ bucket: 'cfg', key: 'mp', uploadId: upload.uploadId })).tags, [{ key: 'x', value: 'y' }]);
      const data = Buffer.from('part');
      const { dataId, encSize } = await writeData(t.store, 'cfg', data);
      const ref = { bucket: 'cfg', key: 'mp', uploadId: upload.uploadId };
      await t.store.putPart(ref, 1, dataId, { plainSize: data.length, encSize, etag: md5(data) });
      const done = await t.store.completeUpload(ref, [{ number: 1 }], { etag: 'e-1' });
      assert.deepEqual(done.tags, [{ key: 'x', value: 'y' }]);
      assert.deepEqual((await t.store.getObject('cfg', 'mp'))?.tags, [{ key: 'x', value: 'y' }]);
    });
  });
}

describe('embedded store: meta.db from an earlier kesgate', () => {
  it('migrates a version-1 meta.db: objects keep everything and gain an empty tag set', async () => {
    const v1 = await openEmbeddedStore();
    try {
      await v1.store.close();
      // A meta.db as a version-1 kesgate wrote it: its schema step alone, one bucket and one object.
      for (const f of ['meta.db', 'meta.db-wal']) rmSync(join(v1.root, f), { force: true });
      const db = new DatabaseConstructor(join(v1.root, 'meta.db'));
      db.exec(`${STEPS[0]!}; PRAGMA user_version = 1`);
      db.prepare("INSERT INTO buckets (name, created_at) VALUES ('old', 0)").run();
      const { lastInsertRowid } = db
        .prepare(
          `INSERT INTO objects (bucket, key, revision, size, stored_size, etag, last_modified, user_metadata, standard_headers, sse)
           VALUES ('old', 'k', 'r', 4, 36, 'e', 0, '{"sha256":"x"}', '{}', ?)`,
        )
        .run(JSON.stringify(sseRecord()));
      db.prepare(
        "INSERT INTO object_parts (object_id, number, plain_size, enc_size, etag, data_id) VALUES (?, 1, 4, 36, 'e', 'no-such-blob')",
      ).run(lastInsertRowid);
      db.close();
      v1.store = await openFsStore({ path: v1.root });
      const record = await v1.store.getObject('old', 'k');
      assert.equal(record?.userMetadata.sha256 !== undefined, true);
      assert.equal(record?.tags, undefined);
      await v1.store.putObjectTags('old', 'k', [{ key: 'now', value: 'tagged' }]);
      await v1.store.putBucketSetting('old', 'tagging', [{ key: 'b', value: 'c' }]);
      assert.deepEqual((await v1.store.getObject('old', 'k'))?.tags, [{ key: 'now', value: 'tagged' }]);
    } finally {
      await v1.cleanup();
    }
  });
});
