// Object versions through the ObjectStore contract, on every layout: the bucket's versioning state, what a
// put and a delete do in each state, reads and updates by version id, the listings (ListObjects shows latest
// objects only; ListObjectVersions pages through everything in S3's order, checked against an oracle), and
// that removing a version for good reclaims its blob.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LayeredObjectStore, ListVersionsQuery, ObjectStore, VersionSummary } from '../../src/storage/index.js';
import { layouts, prng, putBytes, readObject, rejectsWith, type TempStore } from './helpers.js';
import { sseRecord } from './fixtures/sse-records.js';

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Every page of a version listing, followed by its markers; checks each page's size and markers on the way. */
async function allVersions(
  store: ObjectStore,
  query: ListVersionsQuery,
): Promise<{ versions: VersionSummary[]; prefixes: string[]; pages: number }> {
  const versions: VersionSummary[] = [];
  const prefixes: string[] = [];
  let marker: { keyMarker?: string; versionIdMarker?: string } = {};
  for (let pages = 1; ; pages++) {
    const page = await store.listVersions({ ...query, ...marker });
    assert.ok(page.versions.length + page.commonPrefixes.length <= (query.maxKeys ?? 1000));
    versions.push(...page.versions);
    prefixes.push(...page.commonPrefixes);
    if (!page.isTruncated) return { versions, prefixes, pages };
    assert.ok(page.nextKeyMarker !== undefined, 'a truncated page names where to go on');
    marker = {
      keyMarker: page.nextKeyMarker,
      ...(page.nextVersionIdMarker !== undefined ? { versionIdMarker: page.nextVersionIdMarker } : {}),
    };
  }
}

for (const layout of layouts) {
  describe(`${layout.name} store: object versions`, { skip: layout.skip }, () => {
    let t: TempStore;
    let store: LayeredObjectStore;
    before(async () => {
      t = await layout.open();
      store = t.store;
    });
    after(async () => t?.cleanup());

    it('keeps a bucket unversioned until enabled, then Enabled ↔ Suspended', async () => {
      await store.createBucket('state');
      assert.equal(await store.getBucketVersioning('state'), 'Unversioned');
      await store.putBucketVersioning('state', 'Enabled');
      assert.equal(await store.getBucketVersioning('state'), 'Enabled');
      await store.putBucketVersioning('state', 'Suspended');
      assert.equal(await store.getBucketVersioning('state'), 'Suspended');
      await store.putBucketVersioning('state', 'Enabled');
      assert.equal(await store.getBucketVersioning('state'), 'Enabled');
      await rejectsWith(store.getBucketVersioning('no-such'), 'NoSuchBucket');
      await rejectsWith(store.putBucketVersioning('no-such', 'Enabled'), 'NoSuchBucket');
    });

    it('an unversioned object becomes the null version; enabled puts add versions, each read by its id', async () => {
      await store.createBucket('v1');
      const original = await putBytes(store, 'v1', 'k', utf8('original'));
      assert.equal(original.versionId, 'null');
      await store.putBucketVersioning('v1', 'Enabled');
      const second = await putBytes(store, 'v1', 'k', utf8('second'));
      const third = await putBytes(store, 'v1', 'k', utf8('third'));
      assert.match(second.versionId, /^[A-Za-z0-9_-]{32}$/);
      assert.notEqual(second.versionId, third.versionId);

      assert.equal((await readObject(store, (await store.getObject('v1', 'k'))!)).toString(), 'third');
      for (const [record, text] of [
        [original, 'original'],
        [second, 'second'],
        [third, 'third'],
      ] as const) {
        const got = await store.getVersion('v1', 'k', record.versionId);
        assert.equal(got.versioning, 'Enabled');
        assert.ok(got.version && !got.version.deleteMarker);
        assert.equal((await readObject(store, got.version)).toString(), text);
        assert.equal(got.isLatest, record === third);
      }
      const listed = await store.listVersions({ bucket: 'v1' });
      assert.deepEqual(
        listed.versions.map((v) => [v.versionId, v.isLatest, v.deleteMarker, v.size]),
        [
          [third.versionId, true, false, 5],
          [second.versionId, false, false, 6],
          ['null', false, false, 8],
        ],
      );
      assert.deepEqual(
        (await store.listObjects({ bucket: 'v1' })).contents.map((o) => [o.key, o.size]),
        [['k', 5]],
      );
      // Well-formed but unknown: no such version; malformed: refused.
      assert.equal((await store.getVersion('v1', 'k', 'A'.repeat(32))).version, undefined);
      await rejectsWith(store.getVersion('v1', 'k', 'not/a-version'), 'InvalidArgument', 'InvalidArgument', 400);
      await rejectsWith(store.deleteObject('v1', 'k', ''), 'InvalidArgument');
    });

    it('a delete without a version id writes a delete marker; deleting the marker by id brings the object back', async () => {
      await store.createBucket('v2');
      await store.putBucketVersioning('v2', 'Enabled');
      const kept = await putBytes(store, 'v2', 'doc', utf8('kept'));
      const stats = await store.stats();
      const marked = await store.deleteObject('v2', 'doc');
      assert.equal(marked.deleted, true);
      assert.equal(marked.deleteMarker, true);
      assert.match(marked.deleteMarkerVersionId!, /^[A-Za-z0-9_-]{32}$/);
      assert.equal(await store.getObject('v2', 'doc'), undefined);
      const latest = await store.getVersion('v2', 'doc');
      assert.deepEqual(latest.version && { ...latest.version, lastModified: 0 }, {
        bucket: 'v2',
        key: 'doc',
        versionId: marked.deleteMarkerVersionId,
        deleteMarker: true,
        lastModified: 0,
      });
      assert.equal(latest.isLatest, true);
      assert.deepEqual((await store.listObjects({ bucket: 'v2' })).contents, []);
      const listed = await store.listVersions({ bucket: 'v2' });
      assert.deepEqual(
        listed.versions.map((v) => [v.versionId, v.isLatest, v.deleteMarker]),
        [
          [marked.deleteMarkerVersionId, true, true],
          [kept.versionId, false, false],
        ],
      );
      assert.deepEqual(await store.stats(), stats, 'a delete marker holds no data');
      // The data of the noncurrent version is still there.
      assert.ok((await t.blobIds()).includes(kept.parts[0]!.dataId));
      await rejectsWith(store.deleteBucket('v2'), 'BucketNotEmpty');

      const unmarked = await store.deleteObject('v2', 'doc', marked.deleteMarkerVersionId);
      assert.deepEqual(unmarked, {
        key: 'doc',
        deleted: true,
        versionId: marked.deleteMarkerVersionId,
        deleteMarker: true,
        deleteMarkerVersionId: marked.deleteMarkerVersionId,
        versioning: 'Enabled',
      });
      assert.equal((await readObject(store, (await store.getObject('v2', 'doc'))!)).toString(), 'kept');
      assert.equal((await store.getVersion('v2', 'doc', kept.versionId)).isLatest, true);
    });

    it('a delete with a version id removes that version for good and reclaims its data; the newest left becomes latest', async () => {
      await store.createBucket('v3');
      await store.putBucketVersioning('v3', 'Enabled');
      const a = await putBytes(store, 'v3', 'k', utf8('a'));
      const b = await putBytes(store, 'v3', 'k', utf8('bb'));
      const c = await putBytes(store, 'v3', 'k', utf8('ccc'));
      const gone = await store.deleteObject('v3', 'k', b.versionId);
      assert.deepEqual(gone, { key: 'k', deleted: true, versionId: b.versionId, versioning: 'Enabled' });
      assert.equal((await store.getVersion('v3', 'k', b.versionId)).version, undefined);
      await t.settle();
      const blobs = await t.blobIds();
      assert.equal(blobs.includes(b.parts[0]!.dataId), false, 'the removed version’s blob is reclaimed');
      assert.ok(blobs.includes(a.parts[0]!.dataId) && blobs.includes(c.parts[0]!.dataId));
      // Removing the latest promotes the newest remaining version.
      await store.deleteObject('v3', 'k', c.versionId);
      assert.equal((await store.getObject('v3', 'k'))!.versionId, a.versionId);
      // An unknown version: nothing happens, and S3 still reports success.
      assert.deepEqual(await store.deleteObject('v3', 'k', 'B'.repeat(32)), {
        key: 'k',
        deleted: false,
        versionId: 'B'.repeat(32),
        versioning: 'Enabled',
      });
      await store.deleteObject('v3', 'k', a.versionId);
      assert.equal((await store.getVersion('v3', 'k')).version, undefined);
      await store.deleteBucket('v3');
    });

    it('suspended: puts replace the null version (its data reclaimed) and keep the others; a delete makes the null version a marker', async () => {
      await store.createBucket('v4');
      await store.putBucketVersioning('v4', 'Enabled');
      const versioned = await putBytes(store, 'v4', 'k', utf8('versioned'));
      await store.putBucketVersioning('v4', 'Suspended');
      const null1 = await putBytes(store, 'v4', 'k', utf8('null one'));
      const null2 = await putBytes(store, 'v4', 'k', utf8('null two'));
      assert.equal(null1.versionId, 'null');
      assert.equal(null2.versionId, 'null');
      await t.settle();
      assert.equal((await t.blobIds()).includes(null1.parts[0]!.dataId), false, 'the replaced null version’s blob is reclaimed');
      assert.deepEqual(
        (await store.listVersions({ bucket: 'v4' })).versions.map((v) => [v.versionId, v.isLatest, v.size]),
        [
          ['null', true, 8],
          [versioned.versionId, false, 9],
        ],
      );
      const marker = await store.deleteObject('v4', 'k');
      assert.deepEqual(marker, { key: 'k', deleted: true, deleteMarker: true, deleteMarkerVersionId: 'null', versioning: 'Suspended' });
      await t.settle();
      assert.equal((await t.blobIds()).includes(null2.parts[0]!.dataId), false);
      assert.deepEqual(
        (await store.listVersions({ bucket: 'v4' })).versions.map((v) => [v.versionId, v.isLatest, v.deleteMarker]),
        [
          ['null', true, true],
          [versioned.versionId, false, false],
        ],
      );
      // Back to Enabled: a new version on top, the null marker stays noncurrent.
      await store.putBucketVersioning('v4', 'Enabled');
      const again = await putBytes(store, 'v4', 'k', utf8('again'));
      assert.deepEqual(
        (await store.listVersions({ bucket: 'v4' })).versions.map((v) => v.versionId),
        [again.versionId, 'null', versioned.versionId],
      );
    });

    it('updates SSE fields and tags of one version by id, and refuses a delete marker or an unknown version', async () => {
      await store.createBucket('v5');
      await store.putBucketVersioning('v5', 'Enabled');
      const old = await putBytes(store, 'v5', 'k', utf8('old'));
      const cur = await putBytes(store, 'v5', 'k', utf8('cur'));
      const rotated = await store.updateObjectSSE('v5', 'k', old.revision, sseRecord({ iv: 'bmV3' }), old.versionId);
      assert.deepEqual(rotated.sse, sseRecord({ iv: 'bmV3' }));
      const reread = (await store.getVersion('v5', 'k', old.versionId)).version;
      assert.ok(reread && !reread.deleteMarker);
      assert.deepEqual(reread.sse, sseRecord({ iv: 'bmV3' }));
      assert.deepEqual((await store.getObject('v5', 'k'))!.sse, cur.sse, 'the latest version is untouched');
      await rejectsWith(store.updateObjectSSE('v5', 'k', old.revision, sseRecord({ iv: 'eA==' }), old.versionId), 'PreconditionFailed');
      await store.putObjectTags('v5', 'k', [{ key: 'a', value: '1' }], old.versionId);
      assert.equal((await store.getObject('v5', 'k'))!.tags, undefined);
      const marker = await store.deleteObject('v5', 'k');
      await rejectsWith(store.putObjectTags('v5', 'k', [], marker.deleteMarkerVersionId), 'NoSuchVersion', 'NoSuchVersion', 404);
      await rejectsWith(store.putObjectTags('v5', 'k', []), 'NoSuchKey');
      await rejectsWith(store.updateObjectSSE('v5', 'k', 'r', sseRecord(), 'C'.repeat(32)), 'NoSuchVersion');
    });

    it('deleteObjects mixes keys and versions in one call', async () => {
      await store.createBucket('v6');
      await store.putBucketVersioning('v6', 'Enabled');
      const a1 = await putBytes(store, 'v6', 'a', utf8('a1'));
      await putBytes(store, 'v6', 'b', utf8('b1'));
      const results = await store.deleteObjects('v6', [{ key: 'a', versionId: a1.versionId }, 'b', { key: 'c' }]);
      assert.equal(results[0]!.versionId, a1.versionId);
      assert.equal(results[0]!.deleted, true);
      assert.equal(results[1]!.deleteMarker, true);
      assert.equal(results[2]!.deleteMarker, true, 'S3 writes a delete marker even for a key that has no version');
      assert.deepEqual(
        (await store.listVersions({ bucket: 'v6' })).versions.map((v) => [v.key, v.deleteMarker]),
        [
          ['b', true],
          ['b', false],
          ['c', true],
        ],
      );
    });

    it('pages through versions of many keys in S3 order (key ascending, newest first), with prefix and delimiter, against an oracle', async () => {
      await store.createBucket('pages');
      await store.putBucketVersioning('pages', 'Enabled');
      const random = prng(13);
      const keys = ['a', 'a/b', 'a/c', 'b', 'b/x/y', 'é', '😀', '\uFFFF', 'z'];
      const oracle: { key: string; versionId: string; seq: number; marker: boolean }[] = [];
      let seq = 0;
      for (let i = 0; i < 120; i++) {
        const key = keys[Math.floor(random() * keys.length)]!;
        if (random() < 0.2) {
          const r = await store.deleteObject('pages', key);
          oracle.push({ key, versionId: r.deleteMarkerVersionId!, seq: seq++, marker: true });
        } else {
          const r = await putBytes(store, 'pages', key, utf8(`${key}#${i}`));
          oracle.push({ key, versionId: r.versionId, seq: seq++, marker: false });
        }
      }
      const expected = [...oracle].sort((x, y) => Buffer.compare(utf8(x.key), utf8(y.key)) || y.seq - x.seq);
      const latest = new Set<string>();
      const seen = new Set<string>();
      for (const e of expected) {
        if (seen.has(e.key)) continue;
        seen.add(e.key);
        latest.add(e.versionId);
      }
      for (const maxKeys of [1, 2, 7, 1000]) {
        const { versions } = await allVersions(store, { bucket: 'pages', maxKeys });
        assert.deepEqual(
          versions.map((v) => [v.key, v.versionId, v.deleteMarker, v.isLatest]),
          expected.map((e) => [e.key, e.versionId, e.marker, latest.has(e.versionId)]),
          `max-keys ${maxKeys}`,
        );
      }
      const slashed = await allVersions(store, { bucket: 'pages', delimiter: '/', maxKeys: 3 });
      assert.deepEqual(
        slashed.prefixes,
        ['a/', 'b/'].filter((p) => oracle.some((o) => o.key.startsWith(p))),
      );
      assert.deepEqual(
        slashed.versions.map((v) => v.versionId),
        expected.filter((e) => !e.key.includes('/')).map((e) => e.versionId),
      );
      const underA = await allVersions(store, { bucket: 'pages', prefix: 'a/', maxKeys: 2 });
      assert.deepEqual(
        underA.versions.map((v) => v.versionId),
        expected.filter((e) => e.key.startsWith('a/')).map((e) => e.versionId),
      );
      // A key marker alone resumes at the next key; with a version id, after that version of the key.
      const first = expected[0]!;
      const afterKey = await store.listVersions({ bucket: 'pages', keyMarker: first.key });
      assert.equal(
        afterKey.versions.some((v) => v.key === first.key),
        false,
      );
      const second = expected[1]!;
      const afterVersion = await store.listVersions({
        bucket: 'pages',
        keyMarker: first.key,
        versionIdMarker: first.versionId,
        maxKeys: 1,
      });
      assert.equal(afterVersion.versions[0]!.versionId, second.versionId);
      await rejectsWith(store.listVersions({ bucket: 'pages', versionIdMarker: first.versionId }), 'InvalidArgument');
      await rejectsWith(store.listVersions({ bucket: 'no-such' }), 'NoSuchBucket');
      // ListObjects: the latest versions that are objects.
      const current = (await store.listObjects({ bucket: 'pages' })).contents.map((o) => o.key);
      const expectedCurrent = [...new Set(expected.map((e) => e.key))].filter((k) => !expected.find((e) => e.key === k)!.marker);
      assert.deepEqual(current, expectedCurrent);
    });

    // More than 1,000 versions are paged through the SDK in test/e2e/versioning-paging.test.ts.
    it('pages through the versions of one key across pages', async () => {
      await store.createBucket('deep');
      await store.putBucketVersioning('deep', 'Enabled');
      const ids: string[] = [];
      // 25 versions, 10 a page: two full pages and a part (the stores fetch maxKeys rows a page, no other batch
      // size to cross); every write on the cluster layout is a round trip to PostgreSQL and moto.
      for (let i = 0; i < 25; i++) ids.push((await putBytes(store, 'deep', 'one', utf8(String(i)))).versionId);
      const { versions, pages } = await allVersions(store, { bucket: 'deep', maxKeys: 10 });
      assert.equal(pages, 3);
      assert.deepEqual(
        versions.map((v) => v.versionId),
        ids.reverse(),
      );
      assert.deepEqual(versions.map((v) => v.isLatest).filter(Boolean), [true]);
    });

    it('keeps versions, markers and the versioning state across a reopen', async () => {
      await store.createBucket('durable');
      await store.putBucketVersioning('durable', 'Enabled');
      const v = await putBytes(store, 'durable', 'k', utf8('v'));
      const m = await store.deleteObject('durable', 'k');
      store = await t.reopen();
      assert.equal(await store.getBucketVersioning('durable'), 'Enabled');
      assert.deepEqual(
        (await store.listVersions({ bucket: 'durable' })).versions.map((x) => x.versionId),
        [m.deleteMarkerVersionId, v.versionId],
      );
      const got = await store.getVersion('durable', 'k', v.versionId);
      assert.equal((await readObject(store, got.version as typeof v)).toString(), 'v');
    });
  });
}
