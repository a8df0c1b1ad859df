// S3 versioning through the AWS SDK for JavaScript v3 against a real gateway and kes, on both layouts:
// Put/GetBucketVersioning, version ids on every write and read, delete markers (404 and 405 with
// x-amz-delete-marker), deletes of one version for good, DeleteObjects with version ids, copies and part
// copies from a version, tagging by version, conditions, ranges and partNumber on an old version, suspended
// buckets and their null version, and encryption per version (SSE-C versions need their own key; an SSE-C
// re-key by copy onto itself makes a new version).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, type Stack } from '../helpers/stack.js';
import { stackLayouts } from '../helpers/stack-layouts.js';
import { exists, getBytes, s3Error, ssec, uploadInParts } from '../helpers/s3.js';
import { errorCode, RawClient } from '../edges/raw.js';

let st: Stack;
let raw: RawClient;
const VERSION_ID = /^[A-Za-z0-9_-]{32}$/;

async function put(Bucket: string, Key: string, Body: string | Buffer, extra: Record<string, unknown> = {}): Promise<string> {
  const out = await st.s3.send(new PutObjectCommand({ Bucket, Key, Body, ...extra }));
  assert.match(out.VersionId ?? '', VERSION_ID, 'a versioned PUT names its new version');
  return out.VersionId!;
}

async function enabledBucket(Bucket: string): Promise<void> {
  await st.s3.send(new CreateBucketCommand({ Bucket }));
  await st.s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
}

/**
 * One page of ListObjectVersions as [key, version id, is latest, is delete marker], in S3's order. The SDK hands
 * versions and delete markers back as two lists, each in S3's order: they are merged again by key, then newest first.
 */
async function versionsOf(Bucket: string, Prefix?: string): Promise<[string, string, boolean, boolean][]> {
  const out = await st.s3.send(new ListObjectVersionsCommand({ Bucket, ...(Prefix ? { Prefix } : {}) }));
  const versions = (out.Versions ?? []).map((v) => ({
    key: v.Key!,
    id: v.VersionId!,
    latest: v.IsLatest!,
    marker: false,
    at: v.LastModified!.getTime(),
  }));
  const markers = (out.DeleteMarkers ?? []).map((d) => ({
    key: d.Key!,
    id: d.VersionId!,
    latest: d.IsLatest!,
    marker: true,
    at: d.LastModified!.getTime(),
  }));
  const merged: typeof versions = [];
  while (versions.length > 0 || markers.length > 0) {
    const v = versions[0];
    const m = markers[0];
    const takeMarker =
      v === undefined ||
      (m !== undefined &&
        (Buffer.compare(Buffer.from(m.key), Buffer.from(v.key)) < 0 || (m.key === v.key && (m.latest || (!v.latest && m.at > v.at)))));
    merged.push(takeMarker ? markers.shift()! : versions.shift()!);
  }
  return merged.map((e) => [e.key, e.id, e.latest, e.marker]);
}

for (const layout of stackLayouts)
  describe(layout.name, { skip: layout.skip }, () => {
    before(async () => {
      st = await layout.start({ keys: ['tenant-a'], gateway: { sse: { allowInsecureSSEC: true } } });
      raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
    });
    after(async () => st?.close());

    test('Put/GetBucketVersioning: unversioned → Enabled ↔ Suspended; bad documents refused, nothing changes', async () => {
      const B = 'vers-state';
      await st.s3.send(new CreateBucketCommand({ Bucket: B }));
      assert.equal((await st.s3.send(new GetBucketVersioningCommand({ Bucket: B }))).Status, undefined);
      for (const Status of ['Enabled', 'Suspended', 'Enabled'] as const) {
        await st.s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status } }));
        assert.equal((await st.s3.send(new GetBucketVersioningCommand({ Bucket: B }))).Status, Status);
      }
      const bad = await raw.signedSend({
        method: 'PUT',
        path: `/${B}`,
        query: { versioning: '' },
        body: '<VersioningConfiguration><Status>On</Status></VersioningConfiguration>',
      });
      assert.deepEqual([bad.status, errorCode(bad.body)], [400, 'MalformedXML']);
      const mfa = await raw.signedSend({
        method: 'PUT',
        path: `/${B}`,
        query: { versioning: '' },
        body: '<VersioningConfiguration><Status>Suspended</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>',
      });
      assert.deepEqual([mfa.status, errorCode(mfa.body)], [501, 'NotImplemented']);
      assert.equal((await st.s3.send(new GetBucketVersioningCommand({ Bucket: B }))).Status, 'Enabled', 'refused documents change nothing');
      const missing = await s3Error(
        st.s3.send(new PutBucketVersioningCommand({ Bucket: 'vers-no-such', VersioningConfiguration: { Status: 'Enabled' } })),
      );
      assert.deepEqual([missing.code, missing.status], ['NoSuchBucket', 404]);
    });

    test('every PUT makes a version: GET and HEAD by version id, the latest without one; ListObjects shows the latest only', async () => {
      const B = 'vers-basic';
      await st.s3.send(new CreateBucketCommand({ Bucket: B }));
      await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'from before versioning' }));
      await st.s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: 'Enabled' } }));
      const v1 = await put(B, 'k', 'one');
      const v2 = await put(B, 'k', 'two!');
      assert.notEqual(v1, v2);
      const latest = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'k' }));
      assert.equal(latest.VersionId, v2);
      assert.equal(await latest.Body!.transformToString(), 'two!');
      for (const [VersionId, body] of [
        ['null', 'from before versioning'],
        [v1, 'one'],
        [v2, 'two!'],
      ] as const) {
        const got = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId }));
        assert.equal(got.VersionId, VersionId);
        assert.equal(await got.Body!.transformToString(), body);
        const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'k', VersionId }));
        assert.equal(head.ContentLength, body.length);
        assert.equal(head.VersionId, VersionId);
      }
      assert.deepEqual(await versionsOf(B), [
        ['k', v2, true, false],
        ['k', v1, false, false],
        ['k', 'null', false, false],
      ]);
      const listed = await st.s3.send(new ListObjectsV2Command({ Bucket: B }));
      assert.deepEqual(
        listed.Contents?.map((o) => [o.Key, o.Size]),
        [['k', 4]],
      );
      // A well-formed id the key does not have: 404 NoSuchVersion; a malformed one: 400.
      const unknown = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: 'A'.repeat(32) })));
      assert.deepEqual([unknown.code, unknown.status], ['NoSuchVersion', 404]);
      const malformed = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: 'no/such' })));
      assert.deepEqual([malformed.code, malformed.status], ['InvalidArgument', 400]);
    });

    test("DELETE without a version id writes a delete marker: GET 404 with x-amz-delete-marker, the marker's id 405; the data stays", async () => {
      const B = 'vers-marker';
      await enabledBucket(B);
      const v1 = await put(B, 'doc', 'kept');
      const del = await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'doc' }));
      assert.equal(del.DeleteMarker, true);
      assert.match(del.VersionId ?? '', VERSION_ID);
      const marker = del.VersionId!;

      const get = await raw.signedSend({ method: 'GET', path: `/${B}/doc` });
      assert.deepEqual([get.status, errorCode(get.body)], [404, 'NoSuchKey']);
      assert.equal(get.headers['x-amz-delete-marker'], 'true');
      assert.equal(get.headers['x-amz-version-id'], marker);
      const byId = await raw.signedSend({ method: 'GET', path: `/${B}/doc`, query: { versionId: marker } });
      assert.deepEqual([byId.status, errorCode(byId.body)], [405, 'MethodNotAllowed']);
      assert.equal(byId.headers['x-amz-delete-marker'], 'true');
      const head = await raw.signedSend({ method: 'HEAD', path: `/${B}/doc`, query: { versionId: marker } });
      assert.equal(head.status, 405);
      assert.equal(head.headers['x-amz-delete-marker'], 'true');
      assert.equal(head.body, '', 'HEAD: no body');
      const sdk = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'doc', VersionId: marker })));
      assert.deepEqual([sdk.code, sdk.status], ['MethodNotAllowed', 405]);

      assert.equal((await st.s3.send(new ListObjectsV2Command({ Bucket: B }))).KeyCount, 0);
      assert.deepEqual(await versionsOf(B), [
        ['doc', marker, true, true],
        ['doc', v1, false, false],
      ]);
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'doc', VersionId: v1 })).toString(), 'kept');
      // Deleting the marker (by its id) brings the object back.
      const undo = await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'doc', VersionId: marker }));
      assert.deepEqual([undo.DeleteMarker, undo.VersionId], [true, marker]);
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'doc' })).toString(), 'kept');
    });

    test('DELETE with a version id removes that version for good; the newest left is the latest', async () => {
      const B = 'vers-remove';
      await enabledBucket(B);
      const v1 = await put(B, 'k', 'one');
      const v2 = await put(B, 'k', 'two');
      const out = await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k', VersionId: v2 }));
      assert.equal(out.VersionId, v2);
      assert.equal(out.DeleteMarker, undefined);
      const gone = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: v2 })));
      assert.deepEqual([gone.code, gone.status], ['NoSuchVersion', 404]);
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'k' })).toString(), 'one');
      assert.deepEqual(await versionsOf(B), [['k', v1, true, false]]);
    });

    test('DeleteObjects with version ids: VersionId, DeleteMarker and DeleteMarkerVersionId as AWS answers them', async () => {
      const B = 'vers-batch';
      await enabledBucket(B);
      const a1 = await put(B, 'a', 'a1');
      const a2 = await put(B, 'a', 'a2');
      await put(B, 'b', 'b1');
      const first = await st.s3.send(
        new DeleteObjectsCommand({
          Bucket: B,
          Delete: { Objects: [{ Key: 'a', VersionId: a1 }, { Key: 'b' }, { Key: 'c', VersionId: 'bad id' }] },
        }),
      );
      const markerB = first.Deleted?.find((d) => d.Key === 'b');
      assert.deepEqual(
        first.Deleted?.find((d) => d.Key === 'a'),
        { Key: 'a', VersionId: a1 },
      );
      assert.equal(markerB?.DeleteMarker, true);
      assert.match(markerB?.DeleteMarkerVersionId ?? '', VERSION_ID);
      assert.deepEqual(
        first.Errors?.map((e) => [e.Key, e.Code]),
        [['c', 'InvalidArgument']],
      );
      const second = await st.s3.send(
        new DeleteObjectsCommand({
          Bucket: B,
          Delete: {
            Objects: [
              { Key: 'b', VersionId: markerB!.DeleteMarkerVersionId! },
              { Key: 'a', VersionId: a2 },
            ],
          },
        }),
      );
      assert.deepEqual(
        second.Deleted?.find((d) => d.Key === 'b'),
        { Key: 'b', VersionId: markerB!.DeleteMarkerVersionId, DeleteMarker: true, DeleteMarkerVersionId: markerB!.DeleteMarkerVersionId },
      );
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'b' })).toString(), 'b1');
      assert.equal(await exists(st.s3, B, 'a'), false);
      assert.deepEqual(
        (await versionsOf(B)).map((v) => v[0]),
        ['b'],
      );
    });

    test('conditions, ranges and partNumber on an old version; CopyObject and UploadPartCopy from a version; Complete names its version', async () => {
      const B = 'vers-reads';
      await enabledBucket(B);
      const body = randomBytes(200_000);
      const old = await put(B, 'k', body);
      const oldHead = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'k', VersionId: old }));
      await put(B, 'k', 'newer');
      const range = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: old, Range: 'bytes=65530-65545' }));
      assert.equal(range.$metadata.httpStatusCode, 206);
      assert.deepEqual(Buffer.from(await range.Body!.transformToByteArray()), body.subarray(65530, 65546));
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'k', VersionId: old, IfMatch: oldHead.ETag })).length, body.length);
      const pre = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: old, IfMatch: '"0000"' })));
      assert.deepEqual([pre.code, pre.status], ['PreconditionFailed', 412]);
      const part = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'k', VersionId: old, PartNumber: 1 }));
      assert.equal(part.ContentLength, body.length);
      assert.deepEqual(Buffer.from(await part.Body!.transformToByteArray()), body);

      const copy = await st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copied', CopySource: `${B}/k?versionId=${old}` }));
      assert.equal(copy.CopySourceVersionId, old);
      assert.match(copy.VersionId ?? '', VERSION_ID);
      assert.deepEqual(await getBytes(st.s3, { Bucket: B, Key: 'copied' }), body);
      // Restoring an old version: copied onto its own key, it becomes the newest version.
      const restored = await st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'k', CopySource: `${B}/k?versionId=${old}` }));
      assert.deepEqual(await getBytes(st.s3, { Bucket: B, Key: 'k' }), body);
      assert.equal((await versionsOf(B, 'k')).filter((v) => v[0] === 'k')[0]![1], restored.VersionId);

      const mpu = await st.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'assembled' }));
      const p1 = await st.s3.send(
        new UploadPartCopyCommand({
          Bucket: B,
          Key: 'assembled',
          UploadId: mpu.UploadId!,
          PartNumber: 1,
          CopySource: `${B}/k?versionId=${old}`,
          CopySourceRange: 'bytes=0-99',
        }),
      );
      assert.equal(p1.CopySourceVersionId, old);
      const done = await st.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: 'assembled',
          UploadId: mpu.UploadId!,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.CopyPartResult!.ETag! }] },
        }),
      );
      assert.match(done.VersionId ?? '', VERSION_ID);
      assert.deepEqual(await getBytes(st.s3, { Bucket: B, Key: 'assembled', VersionId: done.VersionId! }), body.subarray(0, 100));

      const marker = (await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k' }))).VersionId!;
      const fromMarker = await s3Error(
        st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'x', CopySource: `${B}/k?versionId=${marker}` })),
      );
      assert.deepEqual([fromMarker.code, fromMarker.status], ['InvalidRequest', 400]);
      const fromDeleted = await s3Error(st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'x', CopySource: `${B}/k` })));
      assert.deepEqual([fromDeleted.code, fromDeleted.status], ['NoSuchKey', 404]);
      assert.equal(await exists(st.s3, B, 'x'), false);
    });

    test('tagging by version id: each version has its own tag set; a delete marker has none to read or change', async () => {
      const B = 'vers-tags';
      await enabledBucket(B);
      const v1 = await put(B, 'k', 'one', { Tagging: 'v=1' });
      const v2 = await put(B, 'k', 'two');
      const tagged = await st.s3.send(
        new PutObjectTaggingCommand({ Bucket: B, Key: 'k', VersionId: v1, Tagging: { TagSet: [{ Key: 'old', Value: 'yes' }] } }),
      );
      assert.equal(tagged.VersionId, v1);
      assert.deepEqual((await st.s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'k', VersionId: v1 }))).TagSet, [
        { Key: 'old', Value: 'yes' },
      ]);
      const latest = await st.s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'k' }));
      assert.deepEqual([latest.TagSet, latest.VersionId], [[], v2]);
      const marker = (await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k' }))).VersionId!;
      const onMarker = await s3Error(
        st.s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'k', VersionId: marker, Tagging: { TagSet: [] } })),
      );
      assert.deepEqual([onMarker.code, onMarker.status], ['MethodNotAllowed', 405]);
      const onLatest = await s3Error(st.s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'k' })));
      assert.deepEqual([onLatest.code, onLatest.status], ['NoSuchKey', 404]);
      assert.deepEqual(
        (await st.s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'k', VersionId: v1 }))).TagSet,
        [{ Key: 'old', Value: 'yes' }],
        'unchanged',
      );
    });

    test('suspended: writes replace the null version and keep the versioned ones; a delete makes the null version a delete marker', async () => {
      const B = 'vers-suspended';
      await enabledBucket(B);
      const v1 = await put(B, 'k', 'versioned');
      await st.s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: 'Suspended' } }));
      await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'null one' }));
      await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: 'null two' }));
      assert.deepEqual(await versionsOf(B), [
        ['k', 'null', true, false],
        ['k', v1, false, false],
      ]);
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'k', VersionId: 'null' })).toString(), 'null two');
      const got = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'k' }));
      assert.equal(got.VersionId, 'null');
      assert.equal(await got.Body!.transformToString(), 'null two');
      const del = await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'k' }));
      assert.deepEqual([del.DeleteMarker, del.VersionId], [true, 'null']);
      assert.deepEqual(await versionsOf(B), [
        ['k', 'null', true, true],
        ['k', v1, false, false],
      ]);
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'k', VersionId: v1 })).toString(), 'versioned');
    });

    test('SSE-C: each version needs its own key; a re-key by copy onto itself makes a new version and the old keeps the old key', async () => {
      const B = 'vers-ssec';
      await enabledBucket(B);
      const k1 = ssec();
      const k2 = ssec();
      const v1 = await put(B, 'secret', 'first', k1.put);
      const v2 = await put(B, 'secret', 'second', k2.put);
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'secret', VersionId: v1, ...k1.put })).toString(), 'first');
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'secret', VersionId: v2, ...k2.put })).toString(), 'second');
      const wrong = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'secret', VersionId: v1, ...k2.put })));
      assert.deepEqual([wrong.code, wrong.status], ['AccessDenied', 403]);
      const none = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'secret', VersionId: v1 })));
      assert.deepEqual([none.code, none.status], ['InvalidRequest', 400]);

      const k3 = ssec();
      const rekeyed = await st.s3.send(
        new CopyObjectCommand({ Bucket: B, Key: 'secret', CopySource: `${B}/secret`, ...k2.copySource, ...k3.put }),
      );
      assert.match(rekeyed.VersionId ?? '', VERSION_ID);
      assert.notEqual(rekeyed.VersionId, v2);
      assert.equal(rekeyed.CopySourceVersionId, v2);
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'secret', ...k3.put })).toString(), 'second');
      assert.equal(
        (await getBytes(st.s3, { Bucket: B, Key: 'secret', VersionId: v2, ...k2.put })).toString(),
        'second',
        'the old version keeps the old key',
      );
      const oldKeyOnNew = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'secret', ...k2.put })));
      assert.deepEqual([oldKeyOnNew.code, oldKeyOnNew.status], ['AccessDenied', 403]);
      assert.equal((await versionsOf(B)).length, 3);
    });

    test('multipart uploads make versions too; UploadPart of an SSE-KMS upload completes into a new version', async () => {
      const B = 'vers-mpu';
      await enabledBucket(B);
      const v1 = await put(B, 'm', 'single');
      const done = await uploadInParts(st.s3, { Bucket: B, Key: 'm', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'tenant-a' }, [
        Buffer.from('multi'),
      ]);
      assert.deepEqual(await versionsOf(B), [
        ['m', done.VersionId!, true, false],
        ['m', v1, false, false],
      ]);
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'm' })).toString(), 'multi');
      assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'm', VersionId: v1 })).toString(), 'single');
    });

    test('ListObjectVersions pages through versions and delete markers of many keys, key-marker/version-id-marker, prefix and delimiter', async () => {
      const B = 'vers-list';
      await enabledBucket(B);
      const expected: [string, string, boolean][] = [];
      for (const key of ['a', 'd/1', 'd/2', 'z']) {
        const ids: [string, boolean][] = [];
        for (let i = 0; i < 3; i++) ids.push([await put(B, key, `${key}${i}`), false]);
        if (key !== 'z') ids.push([(await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: key }))).VersionId!, true]);
        for (const [id, marker] of ids.reverse()) expected.push([key, id, marker]);
      }
      const seen: [string, string, boolean][] = [];
      let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
      for (let pages = 0; ; pages++) {
        assert.ok(pages < 20);
        const out = await st.s3.send(new ListObjectVersionsCommand({ Bucket: B, MaxKeys: 3, ...markers }));
        const page = [
          ...(out.Versions ?? []).map((v) => [v.Key!, v.VersionId!, false] as [string, string, boolean]),
          ...(out.DeleteMarkers ?? []).map((d) => [d.Key!, d.VersionId!, true] as [string, string, boolean]),
        ];
        assert.ok(page.length <= 3);
        // Within a page the SDK splits the two kinds: put them back in the order of the expected list.
        page.sort((x, y) => expected.findIndex((e) => e[1] === x[1]) - expected.findIndex((e) => e[1] === y[1]));
        seen.push(...page);
        if (!out.IsTruncated) break;
        markers = { KeyMarker: out.NextKeyMarker!, VersionIdMarker: out.NextVersionIdMarker! };
      }
      assert.deepEqual(seen, expected);
      const rolled = await st.s3.send(new ListObjectVersionsCommand({ Bucket: B, Delimiter: '/' }));
      assert.deepEqual(
        rolled.CommonPrefixes?.map((c) => c.Prefix),
        ['d/'],
      );
      assert.deepEqual([...new Set(rolled.Versions?.map((v) => v.Key))], ['a', 'z']);
      const under = await st.s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: 'd/' }));
      assert.equal((under.Versions?.length ?? 0) + (under.DeleteMarkers?.length ?? 0), 8);
      assert.deepEqual(
        under.DeleteMarkers?.map((d) => [d.Key, d.IsLatest]),
        [
          ['d/1', true],
          ['d/2', true],
        ],
      );
      assert.deepEqual(
        (await st.s3.send(new ListObjectsV2Command({ Bucket: B }))).Contents?.map((o) => o.Key),
        ['z'],
      );
    });
  });
