// Listings through the AWS SDK for JavaScript v3 against a real gateway and kes: ListObjectVersions on
// buckets that are never versioned (every object one version, "null"), versionId=null on reads, deletes
// and copies, the owner in object listings, and ListBuckets' paging and filters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { exists, getBytes, s3Error } from '../helpers/s3.js';
import { errorCode, RawClient } from '../edges/raw.js';

let st: Stack;
let raw: RawClient;
const B = 'versions-bucket';
const KEYS = ['a', 'b', 'dir/x', 'dir/y', 'dir2/z', 'e'];

before(async () => {
  st = await startStack();
  raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  for (const Key of KEYS) await st.s3.send(new PutObjectCommand({ Bucket: B, Key, Body: `body of ${Key}` }));
});
after(async () => st?.close());

/** Lists every page of ListObjectVersions with `MaxKeys`, following NextKeyMarker/NextVersionIdMarker. */
async function allVersionPages(input: {
  Prefix?: string;
  Delimiter?: string;
  MaxKeys: number;
}): Promise<ListObjectVersionsCommandOutput[]> {
  const pages: ListObjectVersionsCommandOutput[] = [];
  let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
  for (;;) {
    const page = await st.s3.send(new ListObjectVersionsCommand({ Bucket: B, ...input, ...markers }));
    pages.push(page);
    if (!page.IsTruncated) return pages;
    assert.ok(page.NextKeyMarker, 'a truncated page names where the next one starts');
    markers = { KeyMarker: page.NextKeyMarker, ...(page.NextVersionIdMarker ? { VersionIdMarker: page.NextVersionIdMarker } : {}) };
    assert.ok(pages.length <= KEYS.length, 'paging ends');
  }
}

describe('ListObjectVersions on an unversioned bucket', () => {
  test('every object is one version: VersionId null, IsLatest, ETag, Size, LastModified, STANDARD, owner; no delete markers', async () => {
    const owner = (await st.s3.send(new ListBucketsCommand({}))).Owner;
    const out = await st.s3.send(new ListObjectVersionsCommand({ Bucket: B }));
    assert.equal(out.IsTruncated, false);
    assert.equal(out.Name, B);
    assert.equal(out.DeleteMarkers, undefined);
    assert.deepEqual(
      out.Versions?.map((v) => v.Key),
      KEYS,
    );
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'dir/x' }));
    const v = out.Versions!.find((e) => e.Key === 'dir/x')!;
    assert.equal(v.VersionId, 'null');
    assert.equal(v.IsLatest, true);
    assert.equal(v.ETag, head.ETag);
    assert.equal(v.Size, 'body of dir/x'.length);
    // HEAD's Last-Modified has whole seconds; the listing's has milliseconds.
    assert.equal(Math.floor(v.LastModified!.getTime() / 1000) * 1000, head.LastModified?.getTime());
    assert.equal(v.StorageClass, 'STANDARD');
    assert.deepEqual(v.Owner, owner, 'the owner ListBuckets names');
  });

  test('pages of max-keys follow NextKeyMarker / NextVersionIdMarker to the end, each key once', async () => {
    const pages = await allVersionPages({ MaxKeys: 2 });
    assert.equal(pages.length, 3);
    assert.deepEqual(
      pages.map((p) => p.Versions?.map((v) => v.Key)),
      [
        ['a', 'b'],
        ['dir/x', 'dir/y'],
        ['dir2/z', 'e'],
      ],
    );
    assert.deepEqual(
      pages.map((p) => [p.IsTruncated, p.NextKeyMarker, p.NextVersionIdMarker]),
      [
        [true, 'b', 'null'],
        [true, 'dir/y', 'null'],
        [false, undefined, undefined],
      ],
    );
    assert.equal(pages[1]!.KeyMarker, 'b');
    assert.equal(pages[1]!.VersionIdMarker, 'null');
    // A key marker alone resumes after that key too.
    const after = await st.s3.send(new ListObjectVersionsCommand({ Bucket: B, KeyMarker: 'dir/x' }));
    assert.deepEqual(
      after.Versions?.map((v) => v.Key),
      ['dir/y', 'dir2/z', 'e'],
    );
  });

  test('prefix and delimiter: common prefixes count toward max-keys and are skipped whole on the next page', async () => {
    const pages = await allVersionPages({ Delimiter: '/', MaxKeys: 2 });
    const entries = pages.flatMap((p) => [...(p.Versions ?? []).map((v) => v.Key), ...(p.CommonPrefixes ?? []).map((c) => c.Prefix)]);
    assert.deepEqual(entries.sort(), ['a', 'b', 'dir/', 'dir2/', 'e']);
    assert.equal(pages[1]!.CommonPrefixes?.length, 2);
    assert.equal(pages[1]!.NextKeyMarker, 'dir2/');
    assert.equal(pages[1]!.NextVersionIdMarker, undefined, 'a page that ends on a common prefix names no version');
    const under = await st.s3.send(new ListObjectVersionsCommand({ Bucket: B, Prefix: 'dir/', Delimiter: '/' }));
    assert.equal(under.Prefix, 'dir/');
    assert.deepEqual(
      under.Versions?.map((v) => v.Key),
      ['dir/x', 'dir/y'],
    );
    assert.equal(under.CommonPrefixes, undefined);
  });

  test('markers AWS refuses: a version-id marker without a key marker, or one this bucket never issued → 400 InvalidArgument', async () => {
    const refused: Record<string, string>[] = [
      { versions: '', 'version-id-marker': 'null' },
      { versions: '', 'key-marker': 'a', 'version-id-marker': '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' },
    ];
    for (const query of refused) {
      const res = await raw.signedSend({ method: 'GET', path: `/${B}`, query });
      assert.equal(res.status, 400, res.body);
      assert.equal(errorCode(res.body), 'InvalidArgument');
    }
    const missing = await s3Error(st.s3.send(new ListObjectVersionsCommand({ Bucket: 'no-such-versions-bucket' })));
    assert.deepEqual([missing.code, missing.status], ['NoSuchBucket', 404]);
  });
});

describe('versionId "null" is the current object; any other id is refused', () => {
  test('GET, HEAD, DELETE and a copy source with versionId=null act on the object', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'v/obj', Body: 'versioned body' }));
    assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'v/obj', VersionId: 'null' })).toString(), 'versioned body');
    assert.equal((await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'v/obj', VersionId: 'null' }))).ContentLength, 14);
    await st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'v/copy', CopySource: `${B}/v/obj?versionId=null` }));
    assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'v/copy' })).toString(), 'versioned body');
    await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'v/copy', VersionId: 'null' }));
    assert.equal(await exists(st.s3, B, 'v/copy'), false);
  });

  test('another version id on GET, HEAD, DELETE or a copy source → 400 InvalidArgument, nothing changes', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'v/keep', Body: 'kept' }));
    const VersionId = 'UIORUnfndfiufdisojhr398493jfdkjFJjkndnqUifhnw89493jJFJ';
    for (const [what, call] of [
      ['GET', () => st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'v/keep', VersionId }))],
      ['DELETE', () => st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'v/keep', VersionId }))],
      [
        'copy',
        () => st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'v/keep-copy', CopySource: `${B}/v/keep?versionId=${VersionId}` })),
      ],
    ] as const) {
      const e = await s3Error(call());
      assert.deepEqual([e.code, e.status], ['InvalidArgument', 400], what);
      assert.match(e.message, /Invalid version id specified/, what);
    }
    const head = await s3Error(st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'v/keep', VersionId })));
    assert.equal(head.status, 400, 'HEAD: the status alone (no body)');
    assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'v/keep' })).toString(), 'kept');
    assert.equal(await exists(st.s3, B, 'v/keep-copy'), false);
  });

  test("DeleteObjects: VersionId null deletes and is echoed; another id is that entry's error and the object stays", async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'v/d1', Body: '1' }));
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'v/d2', Body: '2' }));
    const out = await st.s3.send(
      new DeleteObjectsCommand({
        Bucket: B,
        Delete: {
          Objects: [
            { Key: 'v/d1', VersionId: 'null' },
            { Key: 'v/d2', VersionId: 'not-a-version-of-this-bucket' },
          ],
        },
      }),
    );
    assert.deepEqual(out.Deleted, [{ Key: 'v/d1', VersionId: 'null' }]);
    assert.deepEqual(
      out.Errors?.map((e) => [e.Key, e.VersionId, e.Code]),
      [['v/d2', 'not-a-version-of-this-bucket', 'InvalidArgument']],
    );
    assert.equal(await exists(st.s3, B, 'v/d1'), false);
    assert.equal(await exists(st.s3, B, 'v/d2'), true);
  });
});

describe('owner in object listings', () => {
  test("ListObjects (V1) names each entry's owner; V2 only with fetch-owner=true; the same owner as ListBuckets", async () => {
    const owner = (await st.s3.send(new ListBucketsCommand({}))).Owner;
    assert.ok(owner?.ID);
    const v1 = await st.s3.send(new ListObjectsCommand({ Bucket: B, Prefix: 'dir/' }));
    assert.deepEqual(
      v1.Contents?.map((o) => o.Owner),
      [owner, owner],
    );
    const v2 = await st.s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'dir/' }));
    assert.deepEqual(
      v2.Contents?.map((o) => o.Owner),
      [undefined, undefined],
    );
    const fetched = await st.s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'dir/', FetchOwner: true }));
    assert.deepEqual(
      fetched.Contents?.map((o) => o.Owner),
      [owner, owner],
    );
  });
});

describe('ListBuckets paging and filters', () => {
  const NAMES = ['page-a-1', 'page-a-2', 'page-a-3', 'page-b-1', 'page-b-2'];
  before(async () => {
    for (const Bucket of NAMES) await st.s3.send(new CreateBucketCommand({ Bucket }));
  });

  test('max-buckets pages follow ContinuationToken; prefix filters and is echoed; buckets name their region', async () => {
    const seen: string[] = [];
    let ContinuationToken: string | undefined;
    let pages = 0;
    do {
      const out = await st.s3.send(
        new ListBucketsCommand({ MaxBuckets: 2, Prefix: 'page-', ...(ContinuationToken ? { ContinuationToken } : {}) }),
      );
      pages++;
      assert.equal(out.Prefix, 'page-');
      assert.ok((out.Buckets?.length ?? 0) <= 2);
      for (const b of out.Buckets ?? []) {
        seen.push(b.Name!);
        assert.equal(b.BucketRegion, 'us-east-1');
      }
      ContinuationToken = out.ContinuationToken;
    } while (ContinuationToken && pages < 10);
    assert.deepEqual(seen, NAMES);
    assert.equal(pages, 3);
    const b = await st.s3.send(new ListBucketsCommand({ Prefix: 'page-b' }));
    assert.deepEqual(
      b.Buckets?.map((x) => x.Name),
      ['page-b-1', 'page-b-2'],
    );
    assert.equal(b.ContinuationToken, undefined);
  });

  test('bucket-region: this region lists the buckets, another lists none; no parameter lists all, unpaged', async () => {
    const here = await st.s3.send(new ListBucketsCommand({ BucketRegion: 'us-east-1', Prefix: 'page-' }));
    assert.equal(here.Buckets?.length, NAMES.length);
    const elsewhere = await st.s3.send(new ListBucketsCommand({ BucketRegion: 'eu-west-1' }));
    assert.deepEqual(elsewhere.Buckets ?? [], []);
    const plain = await st.s3.send(new ListBucketsCommand({}));
    assert.ok(NAMES.every((n) => plain.Buckets?.some((x) => x.Name === n)));
    assert.equal(plain.Buckets?.[0]?.BucketRegion, undefined);
    assert.equal(plain.ContinuationToken, undefined);
  });

  test('max-buckets outside 1..10000 or a token the gateway never issued → 400 InvalidArgument', async () => {
    const refused: Record<string, string>[] = [
      { 'max-buckets': '0' },
      { 'max-buckets': '10001' },
      { 'max-buckets': 'x' },
      { 'continuation-token': 'bm90IGEgYnVja2V0IG5hbWUh' },
    ];
    for (const query of refused) {
      const res = await raw.signedSend({ method: 'GET', path: '/', query });
      assert.equal(res.status, 400, `${JSON.stringify(query)}: ${res.body}`);
      assert.equal(errorCode(res.body), 'InvalidArgument', JSON.stringify(query));
    }
    const ok = await raw.signedSend({ method: 'GET', path: '/', query: { 'max-buckets': '10000' } });
    assert.equal(ok.status, 200);
  });
});
