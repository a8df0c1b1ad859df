// Object and bucket tagging through the AWS SDK v3 against a real gateway and kes: x-amz-tagging on PutObject,
// CreateMultipartUpload and CopyObject (both directives), x-amz-tagging-count, Put/Get/DeleteObjectTagging and
// Put/Get/DeleteBucketTagging, and every refusal (InvalidTag, InvalidArgument, MalformedXML, NoSuchKey,
// NoSuchTagSet) leaving the tags as they were.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketTaggingCommand,
  DeleteObjectTaggingCommand,
  GetBucketTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type Tag,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { exists, getBytes, s3Error, ssec, uploadInParts, withHeaders } from '../helpers/s3.js';
import { errorCode, RawClient } from '../edges/raw.js';

let st: Stack;
let raw: RawClient;
const B = 'tagging-bucket';
const MiB = 1024 * 1024;

before(async () => {
  st = await startStack();
  raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(async () => st?.close());

async function tagsOf(Key: string, Bucket = B): Promise<Tag[]> {
  return (await st.s3.send(new GetObjectTaggingCommand({ Bucket, Key }))).TagSet ?? [];
}

const tags = (...pairs: [string, string][]): Tag[] => pairs.map(([Key, Value]) => ({ Key, Value }));

describe('object tags', () => {
  test('x-amz-tagging on PutObject: the tags read back, GET and HEAD count them', async () => {
    await st.s3.send(
      new PutObjectCommand({ Bucket: B, Key: 'put.txt', Body: 'hello', Tagging: 'project=blue&note=two%20words+here&empty=' }),
    );
    assert.deepEqual(await tagsOf('put.txt'), tags(['project', 'blue'], ['note', 'two words here'], ['empty', '']));
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'put.txt' }));
    assert.equal(head.TagCount, 3);
    const got = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'put.txt' }));
    assert.equal(got.TagCount, 3);
    assert.equal(await got.Body!.transformToString(), 'hello');
    // No tags, no header.
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'plain.txt', Body: 'x' }));
    assert.equal((await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'plain.txt' }))).TagCount, undefined);
    assert.deepEqual(await tagsOf('plain.txt'), [], 'an untagged object answers an empty TagSet');
  });

  test('Put/Get/DeleteObjectTagging replace and remove the set; ETag and Last-Modified stay', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'retag.txt', Body: 'data', Tagging: 'a=1' }));
    const before = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'retag.txt' }));
    // Last-Modified has one-second resolution: let a second pass so a changed one would show.
    await sleep(1100);
    const tenMax = Array.from({ length: 10 }, (_, i) => ({ Key: `${i}`.padEnd(128, 'k'), Value: 'v'.repeat(256) }));
    await st.s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'retag.txt', Tagging: { TagSet: tenMax } }));
    assert.deepEqual(await tagsOf('retag.txt'), tenMax, '10 tags of 128 + 256 characters are within the limits');
    const unicode = tags(['Ünïcødé 键', 'wert: ä/ö+ü=@_.-'], ['x', '']);
    await st.s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'retag.txt', Tagging: { TagSet: unicode } }));
    assert.deepEqual(await tagsOf('retag.txt'), unicode, 'letters of any script, spaces and + - = . _ : / @');
    const after = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'retag.txt' }));
    assert.equal(after.ETag, before.ETag);
    assert.equal(after.LastModified?.getTime(), before.LastModified?.getTime());
    assert.equal(after.TagCount, 2);
    const deleted = await st.s3.send(new DeleteObjectTaggingCommand({ Bucket: B, Key: 'retag.txt' }));
    assert.equal(deleted.$metadata.httpStatusCode, 204);
    assert.deepEqual(await tagsOf('retag.txt'), []);
    const gone = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'retag.txt' }));
    assert.equal(gone.TagCount, undefined);
    assert.equal(gone.ETag, before.ETag);
    assert.equal(await getBytes(st.s3, { Bucket: B, Key: 'retag.txt' }).then(String), 'data', 'the data is untouched');
  });

  test('an empty TagSet removes the tags', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'emptied.txt', Body: 'x', Tagging: 'a=1' }));
    await st.s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'emptied.txt', Tagging: { TagSet: [] } }));
    assert.deepEqual(await tagsOf('emptied.txt'), []);
  });

  test('tagging a missing key is NoSuchKey, in a missing bucket NoSuchBucket', async () => {
    for (const call of [
      () => st.s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'missing' })),
      () => st.s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'missing', Tagging: { TagSet: tags(['a', 'b']) } })),
      () => st.s3.send(new DeleteObjectTaggingCommand({ Bucket: B, Key: 'missing' })),
    ]) {
      const e = await s3Error(call());
      assert.deepEqual([e.status, e.code], [404, 'NoSuchKey']);
    }
    assert.equal(await exists(st.s3, B, 'missing'), false, 'PutObjectTagging creates no object');
    const e = await s3Error(st.s3.send(new GetObjectTaggingCommand({ Bucket: 'no-such-bucket-tags', Key: 'k' })));
    assert.deepEqual([e.status, e.code], [404, 'NoSuchBucket']);
  });

  test('tags of an SSE-C object are read and written without its key, as on AWS', async () => {
    const key = ssec();
    await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'ssec.bin', Body: 'secret', Tagging: 'k=v', ...key.put }));
    assert.deepEqual(await tagsOf('ssec.bin'), tags(['k', 'v']));
    await st.s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'ssec.bin', Tagging: { TagSet: tags(['k', 'w']) } }));
    assert.deepEqual(await tagsOf('ssec.bin'), tags(['k', 'w']));
    const got = await st.s3tls.send(new GetObjectCommand({ Bucket: B, Key: 'ssec.bin', ...key.put }));
    assert.equal(got.TagCount, 1);
    assert.equal(await got.Body!.transformToString(), 'secret');
  });
});

describe('invalid tags are refused and change nothing', () => {
  const KEY = 'guarded.txt';
  before(async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: KEY, Body: 'x', Tagging: 'keep=me' }));
  });

  const invalid: [string, Tag[]][] = [
    ['11 tags', Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }))],
    ['a 129-character key', tags(['k'.repeat(129), 'v'])],
    ['a 257-character value', tags(['k', 'v'.repeat(257)])],
    ['a duplicate key', tags(['same', '1'], ['same', '2'])],
    ['the aws: prefix', tags(['aws:cloudformation:stack', 'x'])],
    ['a character outside the allowed set', tags(['semi;colon', 'x'])],
    ['a value with a character outside the set', tags(['k', 'a*b'])],
    ['an empty key', tags(['', 'x'])],
  ];
  for (const [what, set] of invalid) {
    test(`PutObjectTagging with ${what}: 400 InvalidTag`, async () => {
      const e = await s3Error(st.s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: KEY, Tagging: { TagSet: set } })));
      assert.deepEqual([e.status, e.code], [400, 'InvalidTag'], e.message);
      assert.deepEqual(await tagsOf(KEY), tags(['keep', 'me']));
    });
  }

  test('x-amz-tagging beyond the limits: PutObject and CreateMultipartUpload write nothing', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&');
    for (const [Tagging, code] of [
      [eleven, 'InvalidTag'],
      [`${'k'.repeat(129)}=v`, 'InvalidTag'],
      ['aws:x=1', 'InvalidTag'],
      ['a=1&a=2', 'InvalidArgument'],
      ['=v', 'InvalidArgument'],
      ['k=a=b', 'InvalidArgument'],
      ['bad=%E0%A4%A', 'InvalidArgument'],
    ] as const) {
      const put = await s3Error(st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'never-written', Body: 'x', Tagging })));
      assert.deepEqual([put.status, put.code], [400, code], `PutObject ${Tagging}: ${put.message}`);
      const mpu = await s3Error(st.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'never-written', Tagging })));
      assert.deepEqual([mpu.status, mpu.code], [400, code], `CreateMultipartUpload ${Tagging}`);
    }
    assert.equal(await exists(st.s3, B, 'never-written'), false);
    // An existing object is not replaced by a refused PUT.
    const e = await s3Error(st.s3.send(new PutObjectCommand({ Bucket: B, Key: KEY, Body: 'replaced', Tagging: 'a=1&a=2' })));
    assert.equal(e.code, 'InvalidArgument');
    assert.equal(String(await getBytes(st.s3, { Bucket: B, Key: KEY })), 'x');
    assert.deepEqual(await tagsOf(KEY), tags(['keep', 'me']));
  });

  test('a malformed Tagging document: 400 MalformedXML', async () => {
    for (const body of [
      '<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet>',
      '<Tagging></Tagging>',
      '<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>',
      '<NotTagging><TagSet/></NotTagging>',
    ]) {
      const res = await raw.signedSend({ method: 'PUT', path: `/${B}/${KEY}`, query: { tagging: '' }, body });
      assert.deepEqual([res.status, errorCode(res.body)], [400, 'MalformedXML'], body);
    }
    // No document at all is AWS's MissingRequestBodyError, not MalformedXML.
    const empty = await raw.signedSend({ method: 'PUT', path: `/${B}/${KEY}`, query: { tagging: '' }, body: '' });
    assert.deepEqual([empty.status, errorCode(empty.body)], [400, 'MissingRequestBodyError']);
    assert.deepEqual(await tagsOf(KEY), tags(['keep', 'me']));
  });
});

describe('tags through multipart uploads and copies', () => {
  test('CreateMultipartUpload with x-amz-tagging: the completed object has the tags', async () => {
    const parts = [randomBytes(5 * MiB), randomBytes(1000)];
    await uploadInParts(st.s3, { Bucket: B, Key: 'mpu.bin', Tagging: 'stage=raw&owner=team%2Fa' }, parts);
    assert.deepEqual(await tagsOf('mpu.bin'), tags(['stage', 'raw'], ['owner', 'team/a']));
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'mpu.bin' }));
    assert.equal(head.TagCount, 2);
    assert.match(head.ETag!, /-2"$/);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'mpu.bin' })).equals(Buffer.concat(parts)));
  });

  test('CopyObject copies the source tags by default, takes x-amz-tagging with REPLACE', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'src.txt', Body: 'source', Tagging: 'from=source&n=1' }));
    const source = `${B}/src.txt`;
    await st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-default.txt', CopySource: source, Tagging: 'ignored=yes' }));
    assert.deepEqual(
      await tagsOf('copy-default.txt'),
      tags(['from', 'source'], ['n', '1']),
      'COPY is the default; x-amz-tagging is ignored',
    );
    await st.s3.send(
      new CopyObjectCommand({ Bucket: B, Key: 'copy-meta.txt', CopySource: source, MetadataDirective: 'REPLACE', Metadata: { m: '1' } }),
    );
    assert.deepEqual(await tagsOf('copy-meta.txt'), tags(['from', 'source'], ['n', '1']), 'the metadata directive does not touch tags');
    await st.s3.send(
      new CopyObjectCommand({ Bucket: B, Key: 'copy-replace.txt', CopySource: source, TaggingDirective: 'REPLACE', Tagging: 'to=target' }),
    );
    assert.deepEqual(await tagsOf('copy-replace.txt'), tags(['to', 'target']));
    await st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-none.txt', CopySource: source, TaggingDirective: 'REPLACE' }));
    assert.deepEqual(await tagsOf('copy-none.txt'), [], 'REPLACE without x-amz-tagging leaves no tags');
    assert.equal(String(await getBytes(st.s3, { Bucket: B, Key: 'copy-replace.txt' })), 'source');

    const bad = await s3Error(
      st.s3.send(
        withHeaders(new CopyObjectCommand({ Bucket: B, Key: 'copy-bad.txt', CopySource: source }), { 'x-amz-tagging-directive': 'MERGE' }),
      ),
    );
    assert.deepEqual([bad.status, bad.code], [400, 'InvalidArgument']);
    const invalid = await s3Error(
      st.s3.send(
        new CopyObjectCommand({ Bucket: B, Key: 'copy-bad.txt', CopySource: source, TaggingDirective: 'REPLACE', Tagging: 'aws:x=1' }),
      ),
    );
    assert.deepEqual([invalid.status, invalid.code], [400, 'InvalidTag']);
    assert.equal(await exists(st.s3, B, 'copy-bad.txt'), false, 'a refused copy writes nothing');
  });

  test('a presigned PutObject applies the tags the presigner moved into its query', async () => {
    const url = await getSignedUrl(st.s3, new PutObjectCommand({ Bucket: B, Key: 'presigned.txt', Tagging: 'via=url' }), {
      expiresIn: 300,
    });
    assert.match(url, /x-amz-tagging=/i, 'the presigner hoists x-amz-tagging into the query');
    const res = await fetch(url, { method: 'PUT', body: 'presigned body' });
    assert.equal(res.status, 200, await res.text());
    assert.deepEqual(await tagsOf('presigned.txt'), tags(['via', 'url']));
  });
});

describe('bucket tags', () => {
  test('none: 404 NoSuchTagSet; Put, Get, Delete; 50 tags at most', async () => {
    const Bucket = 'tagged-bucket';
    await st.s3.send(new CreateBucketCommand({ Bucket }));
    const none = await s3Error(st.s3.send(new GetBucketTaggingCommand({ Bucket })));
    assert.deepEqual([none.status, none.code], [404, 'NoSuchTagSet']);

    const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `key-${i}`, Value: `value ${i}` }));
    await st.s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: fifty } }));
    assert.deepEqual((await st.s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet, fifty);

    for (const set of [
      [...fifty, { Key: 'one-more', Value: 'x' }],
      tags(['d', '1'], ['d', '2']),
      tags(['aws:x', '1']),
      tags(['k'.repeat(129), 'v']),
    ]) {
      const e = await s3Error(st.s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: set } })));
      assert.deepEqual([e.status, e.code], [400, 'InvalidTag'], e.message);
    }
    const malformed = await raw.signedSend({ method: 'PUT', path: `/${Bucket}`, query: { tagging: '' }, body: '<Tagging><TagSet>' });
    assert.deepEqual([malformed.status, errorCode(malformed.body)], [400, 'MalformedXML']);
    assert.deepEqual((await st.s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet, fifty, 'refused PUTs change nothing');

    await st.s3.send(new PutBucketTaggingCommand({ Bucket, Tagging: { TagSet: tags(['env', 'test']) } }));
    assert.deepEqual((await st.s3.send(new GetBucketTaggingCommand({ Bucket }))).TagSet, tags(['env', 'test']), 'a PUT replaces the set');
    const del = await st.s3.send(new DeleteBucketTaggingCommand({ Bucket }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.equal((await s3Error(st.s3.send(new GetBucketTaggingCommand({ Bucket })))).code, 'NoSuchTagSet');

    const missing = await s3Error(
      st.s3.send(new PutBucketTaggingCommand({ Bucket: 'no-such-bucket-tags', Tagging: { TagSet: tags(['a', 'b']) } })),
    );
    assert.deepEqual([missing.status, missing.code], [404, 'NoSuchBucket']);
  });
});
