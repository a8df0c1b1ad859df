// The S3 API through the AWS SDK for JavaScript v3 against a real gateway and a real kes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Stack } from '../helpers/stack.js';
import { stackLayouts } from '../helpers/stack-layouts.js';
import { exists, getBytes, s3Error, ssec } from '../helpers/s3.js';

let st: Stack;
const B = 'objects-bucket';

for (const layout of stackLayouts)
  describe(layout.name, { skip: layout.skip }, () => {
    before(async () => {
      st = await layout.start({ keys: ['tenant-a'] });
      await st.s3.send(new CreateBucketCommand({ Bucket: B }));
    });
    after(async () => st?.close());

    describe('buckets', () => {
      test('create, list, head, location, delete; errors for existing, missing, non-empty', async () => {
        await st.s3.send(new CreateBucketCommand({ Bucket: 'bucket-life' }));
        const list = await st.s3.send(new ListBucketsCommand({}));
        assert.ok(list.Buckets?.some((b) => b.Name === 'bucket-life'));
        await st.s3.send(new HeadBucketCommand({ Bucket: 'bucket-life' }));
        const loc = await st.s3.send(new GetBucketLocationCommand({ Bucket: 'bucket-life' }));
        assert.ok(!loc.LocationConstraint, 'us-east-1 is an empty LocationConstraint');
        // Versioning: a new bucket was never versioned (an empty configuration, as AWS answers); test/e2e/versioning-*.test.ts turn it on.
        const versioning = await st.s3.send(new GetBucketVersioningCommand({ Bucket: 'bucket-life' }));
        assert.equal(versioning.Status, undefined);
        assert.equal(versioning.$metadata.httpStatusCode, 200);
        assert.deepEqual(
          (await s3Error(st.s3.send(new GetBucketVersioningCommand({ Bucket: 'no-such-bucket-here' })))).code,
          'NoSuchBucket',
        );
        assert.deepEqual(await s3Error(st.s3.send(new CreateBucketCommand({ Bucket: 'bucket-life' }))), {
          code: 'BucketAlreadyOwnedByYou',
          status: 409,
          message: (await s3Error(st.s3.send(new CreateBucketCommand({ Bucket: 'bucket-life' })))).message,
        });
        await st.s3.send(new PutObjectCommand({ Bucket: 'bucket-life', Key: 'x', Body: 'x' }));
        const notEmpty = await s3Error(st.s3.send(new DeleteBucketCommand({ Bucket: 'bucket-life' })));
        assert.equal(notEmpty.code, 'BucketNotEmpty');
        assert.equal(notEmpty.status, 409);
        assert.ok(await exists(st.s3, 'bucket-life', 'x'), 'a refused DeleteBucket removes nothing');
        await st.s3.send(new DeleteObjectCommand({ Bucket: 'bucket-life', Key: 'x' }));
        await st.s3.send(new DeleteBucketCommand({ Bucket: 'bucket-life' }));
        const gone = await s3Error(st.s3.send(new HeadBucketCommand({ Bucket: 'bucket-life' })));
        assert.equal(gone.status, 404);
        const bad = await s3Error(st.s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })));
        assert.deepEqual([bad.code, bad.status], ['InvalidBucketName', 400]);
        const missing = await s3Error(st.s3.send(new PutObjectCommand({ Bucket: 'no-such-bucket-here', Key: 'k', Body: 'x' })));
        assert.deepEqual([missing.code, missing.status], ['NoSuchBucket', 404]);
      });
    });

    describe('objects', () => {
      test('PUT/GET/HEAD round-trip with metadata, content type and the SSE-S3 ETag (MD5)', async () => {
        const data = randomBytes(300_000);
        const put = await st.s3.send(
          new PutObjectCommand({
            Bucket: B,
            Key: 'dir/a b+c.bin',
            Body: data,
            ContentType: 'application/x-test',
            Metadata: { owner: 'alice' },
            CacheControl: 'no-cache',
          }),
        );
        assert.equal(put.ETag, `"${createHash('md5').update(data).digest('hex')}"`);
        assert.equal(put.ServerSideEncryption, 'AES256');
        const got = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'dir/a b+c.bin' }));
        assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
        assert.equal(got.ContentType, 'application/x-test');
        assert.deepEqual(got.Metadata, { owner: 'alice' });
        assert.equal(got.CacheControl, 'no-cache');
        assert.equal(got.ServerSideEncryption, 'AES256');
        const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'dir/a b+c.bin' }));
        assert.equal(head.ContentLength, data.length);
        assert.equal(head.ETag, put.ETag);
      });

      test('a large SSE-S3 object has the MD5 ETag; a wrong Content-MD5 is refused', async () => {
        const data = randomBytes(3 * 1024 * 1024 + 5);
        const put = await st.s3.send(
          new PutObjectCommand({ Bucket: B, Key: 'large-md5', Body: data, ContentMD5: createHash('md5').update(data).digest('base64') }),
        );
        assert.equal(put.ETag, `"${createHash('md5').update(data).digest('hex')}"`);
        const bad = await s3Error(
          st.s3.send(
            new PutObjectCommand({
              Bucket: B,
              Key: 'large-md5-bad',
              Body: data,
              ContentMD5: createHash('md5').update('x').digest('base64'),
            }),
          ),
        );
        assert.deepEqual([bad.code, bad.status], ['BadDigest', 400]);
        assert.equal(await exists(st.s3, B, 'large-md5-bad'), false);
      });

      test('empty objects and odd keys round-trip; path-traversal segments are refused, nothing written', async () => {
        for (const Key of ['empty', 'a//b', 'ünïcödé/キー', 'sp ace/%41?&=', '.hidden/..x']) {
          const body = Key === 'empty' ? Buffer.alloc(0) : Buffer.from(Key);
          await st.s3.send(new PutObjectCommand({ Bucket: B, Key, Body: body }));
          assert.ok((await getBytes(st.s3, { Bucket: B, Key })).equals(body), Key);
        }
        for (const Key of ['../../etc/passwd', 'a/./b']) {
          const r = await s3Error(st.s3.send(new PutObjectCommand({ Bucket: B, Key, Body: 'x' })));
          assert.deepEqual([r.code, r.status], ['InvalidArgument', 400], Key);
        }
        const listed = await st.s3.send(new ListObjectsV2Command({ Bucket: B }));
        assert.ok(!listed.Contents?.some((c) => c.Key?.includes('etc/passwd') || c.Key === 'a/./b'));
      });

      test('SSE-KMS with a named key and an encryption context; the response names the key', async () => {
        const data = randomBytes(70_000);
        const ctx = Buffer.from(JSON.stringify({ department: 'finance' })).toString('base64');
        const put = await st.s3.send(
          new PutObjectCommand({
            Bucket: B,
            Key: 'kms',
            Body: data,
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: 'tenant-a',
            SSEKMSEncryptionContext: ctx,
          }),
        );
        assert.equal(put.ServerSideEncryption, 'aws:kms');
        assert.equal(put.SSEKMSKeyId, 'tenant-a');
        assert.notEqual(put.ETag, `"${createHash('md5').update(data).digest('hex')}"`, 'an SSE-KMS ETag is not the MD5 of the data');
        const got = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'kms' }));
        assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
        assert.equal(got.SSEKMSKeyId, 'tenant-a');
      });

      test('SSE-C over HTTPS: put, get with the key, the MD5 echoed, wrong or missing key refused', async () => {
        const k = ssec();
        const data = randomBytes(100_000);
        const put = await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'ssec', Body: data, ...k.put }));
        assert.equal(put.SSECustomerKeyMD5, k.put.SSECustomerKeyMD5);
        assert.ok((await getBytes(st.s3tls, { Bucket: B, Key: 'ssec', ...k.put })).equals(data));
        const head = await st.s3tls.send(new HeadObjectCommand({ Bucket: B, Key: 'ssec', ...k.put }));
        assert.equal(head.SSECustomerAlgorithm, 'AES256');
      });

      test('Range GET across package boundaries, byte for byte', async () => {
        const data = randomBytes(3 * 65536 + 123);
        await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'ranges', Body: data }));
        const cases: [number, number][] = [
          [0, 0],
          [0, 65535],
          [65535, 65536],
          [65536, 65536],
          [65530, 131080],
          [100, 190_000],
          [data.length - 1, data.length - 1],
          [3 * 65536, data.length - 1],
        ];
        for (const [a, b] of cases) {
          const r = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'ranges', Range: `bytes=${a}-${b}` }));
          assert.equal(r.ContentRange, `bytes ${a}-${b}/${data.length}`);
          assert.ok(Buffer.from(await r.Body!.transformToByteArray()).equals(data.subarray(a, b + 1)), `bytes=${a}-${b}`);
        }
        const suffix = await getBytes(st.s3, { Bucket: B, Key: 'ranges', Range: 'bytes=-1000' });
        assert.ok(suffix.equals(data.subarray(data.length - 1000)));
        const open = await getBytes(st.s3, { Bucket: B, Key: 'ranges', Range: 'bytes=150000-' });
        assert.ok(open.equals(data.subarray(150000)));
        const bad = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'ranges', Range: `bytes=${data.length}-` })));
        assert.deepEqual([bad.code, bad.status], ['InvalidRange', 416]);
      });

      test('conditional GET: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since', async () => {
        const put = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'cond', Body: 'conditional' }));
        assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'cond', IfMatch: put.ETag })).equals(Buffer.from('conditional')));
        const pf = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfMatch: '"0000"' })));
        assert.deepEqual([pf.code, pf.status], ['PreconditionFailed', 412]);
        const nm = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfNoneMatch: put.ETag })));
        assert.equal(nm.status, 304);
        const future = new Date(Date.now() + 3600_000);
        const ms = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfModifiedSince: future })));
        assert.equal(ms.status, 304);
        const past = new Date(Date.now() - 3600_000);
        const us = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfUnmodifiedSince: past })));
        assert.equal(us.status, 412);
      });

      test('response-* overrides and checksum mode', async () => {
        const data = Buffer.from('checksummed body');
        const put = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'ck', Body: data, ChecksumAlgorithm: 'SHA256' }));
        assert.equal(put.ChecksumSHA256, createHash('sha256').update(data).digest('base64'));
        const got = await st.s3.send(
          new GetObjectCommand({ Bucket: B, Key: 'ck', ChecksumMode: 'ENABLED', ResponseContentType: 'text/x-override' }),
        );
        assert.equal(got.ChecksumSHA256, createHash('sha256').update(data).digest('base64'));
        assert.equal(got.ContentType, 'text/x-override');
        await got.Body!.transformToByteArray();
      });

      test('GetObjectAttributes', async () => {
        const data = randomBytes(1000);
        const put = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'attrs', Body: data }));
        const a = await st.s3.send(
          new GetObjectAttributesCommand({ Bucket: B, Key: 'attrs', ObjectAttributes: ['ETag', 'ObjectSize', 'StorageClass'] }),
        );
        assert.equal(a.ObjectSize, 1000);
        assert.equal(`"${a.ETag}"`, put.ETag);
        assert.equal(a.StorageClass, 'STANDARD');
      });

      test('DeleteObject and DeleteObjects', async () => {
        for (const Key of ['d1', 'd2', 'd3']) await st.s3.send(new PutObjectCommand({ Bucket: B, Key, Body: Key }));
        await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'd1' }));
        assert.equal(await exists(st.s3, B, 'd1'), false);
        const r = await st.s3.send(
          new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'd2' }, { Key: 'd3' }, { Key: 'never-was' }] } }),
        );
        assert.deepEqual(r.Deleted?.map((d) => d.Key).sort(), ['d2', 'd3', 'never-was']);
        assert.equal(await exists(st.s3, B, 'd2'), false);
        const missing = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'd3' })));
        assert.deepEqual([missing.code, missing.status], ['NoSuchKey', 404]);
      });

      test('presigned GET and PUT', async () => {
        const data = randomBytes(5000);
        const putUrl = await getSignedUrl(st.s3, new PutObjectCommand({ Bucket: B, Key: 'presigned' }), { expiresIn: 60 });
        const put = await fetch(putUrl, { method: 'PUT', body: data });
        assert.equal(put.status, 200);
        const getUrl = await getSignedUrl(st.s3, new GetObjectCommand({ Bucket: B, Key: 'presigned' }), { expiresIn: 60 });
        const got = await fetch(getUrl);
        assert.equal(got.status, 200);
        assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
        const tampered = await fetch(getUrl.replace('presigned', 'presigneX'));
        assert.equal(tampered.status, 403);
        assert.match(await tampered.text(), /SignatureDoesNotMatch/);
      });
    });

    describe('listing', () => {
      const LB = 'listing-bucket';
      const keys = ['a/1', 'a/2', 'a/b/3', 'b', 'c/4', 'c/5', 'd'];
      before(async () => {
        await st.s3.send(new CreateBucketCommand({ Bucket: LB }));
        for (const Key of keys) await st.s3.send(new PutObjectCommand({ Bucket: LB, Key, Body: Key }));
      });

      test('ListObjectsV2 with delimiter, prefix and continuation', async () => {
        const top = await st.s3.send(new ListObjectsV2Command({ Bucket: LB, Delimiter: '/' }));
        assert.deepEqual(
          top.Contents?.map((c) => c.Key),
          ['b', 'd'],
        );
        assert.deepEqual(
          top.CommonPrefixes?.map((p) => p.Prefix),
          ['a/', 'c/'],
        );
        const a = await st.s3.send(new ListObjectsV2Command({ Bucket: LB, Prefix: 'a/', Delimiter: '/' }));
        assert.deepEqual(
          a.Contents?.map((c) => c.Key),
          ['a/1', 'a/2'],
        );
        assert.deepEqual(
          a.CommonPrefixes?.map((p) => p.Prefix),
          ['a/b/'],
        );
        const seen: string[] = [];
        let token: string | undefined;
        do {
          const page = await st.s3.send(new ListObjectsV2Command({ Bucket: LB, MaxKeys: 2, ContinuationToken: token }));
          assert.ok((page.KeyCount ?? 0) <= 2);
          seen.push(...(page.Contents ?? []).map((c) => c.Key!));
          token = page.NextContinuationToken;
        } while (token);
        assert.deepEqual(seen, keys);
        const after = await st.s3.send(new ListObjectsV2Command({ Bucket: LB, StartAfter: 'b' }));
        assert.deepEqual(
          after.Contents?.map((c) => c.Key),
          ['c/4', 'c/5', 'd'],
        );
      });

      test('ListObjects (V1) with marker', async () => {
        const page = await st.s3.send(new ListObjectsCommand({ Bucket: LB, Marker: 'a/b/3', MaxKeys: 2 }));
        assert.deepEqual(
          page.Contents?.map((c) => c.Key),
          ['b', 'c/4'],
        );
        assert.equal(page.IsTruncated, true);
      });
    });

    describe('copy', () => {
      test('between every pair of SSE modes, re-encrypted, byte-identical', async () => {
        const data = randomBytes(150_000);
        const c1 = ssec();
        const c2 = ssec();
        const modes = {
          s3: { put: { ServerSideEncryption: 'AES256' as const }, src: {}, get: {} },
          kms: { put: { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: 'tenant-a' }, src: {}, get: {} },
          c1: { put: c1.put, src: c1.copySource, get: c1.put },
          c2: { put: c2.put, src: c2.copySource, get: c2.put },
        };
        for (const [from, f] of Object.entries(modes)) {
          await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: `copy-src-${from}`, Body: data, ...f.put }));
          for (const [to, t] of Object.entries(modes)) {
            const key = `copy-${from}-to-${to}`;
            await st.s3tls.send(new CopyObjectCommand({ Bucket: B, Key: key, CopySource: `${B}/copy-src-${from}`, ...f.src, ...t.put }));
            assert.ok((await getBytes(st.s3tls, { Bucket: B, Key: key, ...t.get })).equals(data), `${from} → ${to}`);
            const stat = await st.gw.svc.store.getObject(B, key);
            const src = await st.gw.svc.store.getObject(B, `copy-src-${from}`);
            assert.notEqual(stat!.sse.sealedKey, src!.sse.sealedKey, 'a copy gets its own sealed object key');
          }
        }
      });

      test('SSE-C key rotation: copy onto itself with old and new key changes metadata only', async () => {
        const oldK = ssec();
        const newK = ssec();
        const data = randomBytes(90_000);
        await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'rekey', Body: data, ...oldK.put }));
        const before = await st.gw.svc.store.getObject(B, 'rekey');
        const wrong = ssec();
        const denied = await s3Error(
          st.s3tls.send(new CopyObjectCommand({ Bucket: B, Key: 'rekey', CopySource: `${B}/rekey`, ...wrong.copySource, ...newK.put })),
        );
        assert.deepEqual([denied.code, denied.status], ['AccessDenied', 403]);
        assert.equal((await st.gw.svc.store.getObject(B, 'rekey'))!.revision, before!.revision, 'a wrong old key changes nothing');
        await st.s3tls.send(new CopyObjectCommand({ Bucket: B, Key: 'rekey', CopySource: `${B}/rekey`, ...oldK.copySource, ...newK.put }));
        const after = await st.gw.svc.store.getObject(B, 'rekey');
        assert.deepEqual(
          after!.parts.map((p) => p.dataId),
          before!.parts.map((p) => p.dataId),
          'object data is not rewritten',
        );
        assert.equal(after!.sse.iv, before!.sse.iv);
        assert.ok((await getBytes(st.s3tls, { Bucket: B, Key: 'rekey', ...newK.put })).equals(data));
        const old = await s3Error(st.s3tls.send(new GetObjectCommand({ Bucket: B, Key: 'rekey', ...oldK.put })));
        assert.deepEqual([old.code, old.status], ['AccessDenied', 403]);
      });

      test('copy onto itself without changes is refused', async () => {
        await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'self', Body: 'x' }));
        const r = await s3Error(st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'self', CopySource: `${B}/self` })));
        assert.deepEqual([r.code, r.status], ['InvalidRequest', 400]);
      });
    });

    describe('bucket default encryption', () => {
      test('PutBucketEncryption aws:kms with a key applies to uploads without SSE headers', async () => {
        const EB = 'enc-default-bucket';
        await st.s3.send(new CreateBucketCommand({ Bucket: EB }));
        const none = await s3Error(st.s3.send(new GetBucketEncryptionCommand({ Bucket: EB })));
        assert.deepEqual([none.code, none.status], ['ServerSideEncryptionConfigurationNotFoundError', 404]);
        await st.s3.send(
          new PutBucketEncryptionCommand({
            Bucket: EB,
            ServerSideEncryptionConfiguration: {
              Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'tenant-a' } }],
            },
          }),
        );
        const cfg = await st.s3.send(new GetBucketEncryptionCommand({ Bucket: EB }));
        assert.equal(cfg.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID, 'tenant-a');
        const put = await st.s3.send(new PutObjectCommand({ Bucket: EB, Key: 'k', Body: 'by default' }));
        assert.equal(put.ServerSideEncryption, 'aws:kms');
        assert.equal(put.SSEKMSKeyId, 'tenant-a');
      });
    });
  });
