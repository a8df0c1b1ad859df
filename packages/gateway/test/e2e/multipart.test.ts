// Multipart uploads through the SDK: per-part keys, re-uploaded parts, UploadPartCopy with ranges, partNumber reads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Stack } from '../helpers/stack.js';
import { stackLayouts } from '../helpers/stack-layouts.js';
import { exists, getBytes, s3Error, ssec } from '../helpers/s3.js';

const MiB = 1024 * 1024;
let st: Stack;
const B = 'multipart-bucket';

for (const layout of stackLayouts)
  describe(layout.name, { skip: layout.skip }, () => {
    before(async () => {
      st = await layout.start({ keys: ['tenant-b'] });
      await st.s3.send(new CreateBucketCommand({ Bucket: B }));
    });
    after(async () => st?.close());

    test('unequal parts, a re-uploaded part, UploadPartCopy with a range; ranges and partNumber across part boundaries', async () => {
      const p1 = randomBytes(5 * MiB + 3);
      const p2old = randomBytes(5 * MiB);
      const p2 = randomBytes(5 * MiB);
      const source = randomBytes(200_000);
      await st.s3.send(
        new PutObjectCommand({ Bucket: B, Key: 'copy-source', Body: source, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'tenant-b' }),
      );
      const { UploadId } = await st.s3.send(
        new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'tenant-b' }),
      );
      const u1 = await st.s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp', UploadId, PartNumber: 1, Body: p1 }));
      assert.equal(u1.ServerSideEncryption, 'aws:kms');
      await st.s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp', UploadId, PartNumber: 2, Body: p2old }));
      const first = (await st.s3.send(new ListPartsCommand({ Bucket: B, Key: 'mp', UploadId }))).Parts!.find((p) => p.PartNumber === 2)!;
      const u2 = await st.s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp', UploadId, PartNumber: 2, Body: p2 }));
      // The range copied is 70000 bytes starting at 1000 of the source.
      const u3 = await st.s3.send(
        new UploadPartCopyCommand({
          Bucket: B,
          Key: 'mp',
          UploadId,
          PartNumber: 3,
          CopySource: `${B}/copy-source`,
          CopySourceRange: 'bytes=1000-70999',
        }),
      );
      const listed = await st.s3.send(new ListPartsCommand({ Bucket: B, Key: 'mp', UploadId }));
      assert.deepEqual(
        listed.Parts?.map((p) => [p.PartNumber, p.Size]),
        [
          [1, p1.length],
          [2, p2.length],
          [3, 70000],
        ],
        'sizes are plaintext sizes',
      );
      assert.notEqual(first.ETag, u2.ETag);
      const uploads = await st.s3.send(new ListMultipartUploadsCommand({ Bucket: B }));
      assert.ok(uploads.Uploads?.some((u) => u.UploadId === UploadId));

      // The re-uploaded part got a fresh nonce: its stored header differs from the first upload's.
      const done = await st.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: 'mp',
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: u1.ETag },
              { PartNumber: 2, ETag: u2.ETag },
              { PartNumber: 3, ETag: u3.CopyPartResult!.ETag },
            ],
          },
        }),
      );
      assert.match(done.ETag ?? '', /^"[0-9a-f]{32}-3"$/);
      const whole = Buffer.concat([p1, p2, source.subarray(1000, 71000)]);
      assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'mp' })).equals(whole));
      const b1 = p1.length;
      const b2 = p1.length + p2.length;
      for (const [a, b] of [
        [b1 - 1, b1],
        [b1 - 70000, b1 + 70000],
        [b2 - 1, b2 + 1],
        [0, whole.length - 1],
        [b1, b1],
        [b2 + 65535, b2 + 65536],
        [whole.length - 5, whole.length - 1],
      ] as const) {
        const got = await getBytes(st.s3, { Bucket: B, Key: 'mp', Range: `bytes=${a}-${b}` });
        assert.ok(got.equals(whole.subarray(a, b + 1)), `bytes=${a}-${b}`);
      }
      for (const [n, part] of [
        [1, p1],
        [2, p2],
        [3, source.subarray(1000, 71000)],
      ] as const) {
        const r = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'mp', PartNumber: n }));
        assert.equal(r.PartsCount, 3);
        assert.ok(Buffer.from(await r.Body!.transformToByteArray()).equals(part), `partNumber=${n}`);
      }
      const bad = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'mp', PartNumber: 4 })));
      assert.deepEqual([bad.code, bad.status], ['InvalidPartNumber', 416]);
      const attrs = await st.s3.send(
        new GetObjectAttributesCommand({ Bucket: B, Key: 'mp', ObjectAttributes: ['ObjectParts', 'ObjectSize'] }),
      );
      assert.equal(attrs.ObjectParts?.TotalPartsCount, 3);
      assert.equal(attrs.ObjectSize, whole.length);
    });

    test('every part is sealed under its own part key with its own nonce', async () => {
      const rec = await st.gw.svc.store.getObject(B, 'mp');
      assert.ok(rec);
      const nonces = new Set<string>();
      for (const part of rec.parts) {
        const head = await st.gw.svc.store.openPartRange(part.dataId, 0, 16);
        const chunks: Buffer[] = [];
        for await (const c of head) chunks.push(c as Buffer);
        const header = Buffer.concat(chunks);
        assert.equal(header[0], 0x20, 'DARE 2.0 version byte');
        nonces.add(header.subarray(5, 16).toString('hex'));
      }
      assert.equal(nonces.size, rec.parts.length, 'no two parts share a base nonce');
    });

    test('SSE-C multipart: the key on every part; a part without it is refused and stores nothing', async () => {
      const k = ssec();
      const { UploadId } = await st.s3tls.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp-c', ...k.put }));
      const part = randomBytes(5 * MiB);
      const noKey = await s3Error(st.s3tls.send(new UploadPartCommand({ Bucket: B, Key: 'mp-c', UploadId, PartNumber: 1, Body: part })));
      assert.deepEqual([noKey.code, noKey.status], ['InvalidRequest', 400]);
      const other = ssec();
      const wrong = await s3Error(
        st.s3tls.send(new UploadPartCommand({ Bucket: B, Key: 'mp-c', UploadId, PartNumber: 1, Body: part, ...other.put })),
      );
      assert.equal(wrong.status, 400);
      assert.equal(
        (await st.s3tls.send(new ListPartsCommand({ Bucket: B, Key: 'mp-c', UploadId }))).Parts?.length ?? 0,
        0,
        'refused parts store nothing',
      );
      const u1 = await st.s3tls.send(new UploadPartCommand({ Bucket: B, Key: 'mp-c', UploadId, PartNumber: 1, Body: part, ...k.put }));
      const u2 = await st.s3tls.send(
        new UploadPartCommand({ Bucket: B, Key: 'mp-c', UploadId, PartNumber: 2, Body: Buffer.from('tail'), ...k.put }),
      );
      await st.s3tls.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: 'mp-c',
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: u1.ETag },
              { PartNumber: 2, ETag: u2.ETag },
            ],
          },
        }),
      );
      const got = await getBytes(st.s3tls, { Bucket: B, Key: 'mp-c', ...k.put });
      assert.ok(got.equals(Buffer.concat([part, Buffer.from('tail')])));
      const head = await s3Error(st.s3tls.send(new HeadObjectCommand({ Bucket: B, Key: 'mp-c' })));
      assert.equal(head.status, 400);
    });

    test('EntityTooSmall, InvalidPart, InvalidPartOrder, NoSuchUpload, part number 10001: refused, nothing completed', async () => {
      const { UploadId } = await st.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp-bad' }));
      const a = await st.s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp-bad', UploadId, PartNumber: 1, Body: Buffer.alloc(1000) }));
      const b = await st.s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp-bad', UploadId, PartNumber: 2, Body: Buffer.alloc(1000) }));
      const complete = (Parts: { PartNumber: number; ETag?: string }[]) =>
        s3Error(st.s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: 'mp-bad', UploadId, MultipartUpload: { Parts } })));
      const small = await complete([
        { PartNumber: 1, ETag: a.ETag },
        { PartNumber: 2, ETag: b.ETag },
      ]);
      assert.deepEqual([small.code, small.status], ['EntityTooSmall', 400]);
      const missing = await complete([
        { PartNumber: 1, ETag: a.ETag },
        { PartNumber: 3, ETag: b.ETag },
      ]);
      assert.deepEqual([missing.code, missing.status], ['InvalidPart', 400]);
      const etag = await complete([{ PartNumber: 2, ETag: '"00000000000000000000000000000000"' }]);
      assert.deepEqual([etag.code, etag.status], ['InvalidPart', 400]);
      const order = await complete([
        { PartNumber: 2, ETag: b.ETag },
        { PartNumber: 1, ETag: a.ETag },
      ]);
      assert.equal(order.status, 400);
      assert.match(order.code, /InvalidPartOrder|MalformedXML/);
      const big = await s3Error(
        st.s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp-bad', UploadId, PartNumber: 10001, Body: Buffer.alloc(10) })),
      );
      assert.deepEqual([big.code, big.status], ['InvalidArgument', 400]);
      assert.equal(await exists(st.s3, B, 'mp-bad'), false, 'no failed complete created the object');
      await st.s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'mp-bad', UploadId }));
      const gone = await s3Error(
        st.s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp-bad', UploadId, PartNumber: 1, Body: Buffer.alloc(10) })),
      );
      assert.deepEqual([gone.code, gone.status], ['NoSuchUpload', 404]);
    });

    test('Complete honours If-None-Match: * and If-Match: a failed condition is 412, the object and the upload stay', async () => {
      const Key = 'mp-cond';
      const old = randomBytes(1000);
      const put = await st.s3.send(new PutObjectCommand({ Bucket: B, Key, Body: old }));
      const { UploadId } = await st.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key }));
      const body = randomBytes(2000);
      const { ETag } = await st.s3.send(new UploadPartCommand({ Bucket: B, Key, UploadId, PartNumber: 1, Body: body }));
      const complete = (conditions: { IfNoneMatch?: string; IfMatch?: string }) =>
        st.s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: B,
            Key,
            UploadId,
            ...conditions,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] },
          }),
        );
      for (const conditions of [{ IfNoneMatch: '*' }, { IfMatch: '"0123456789abcdef0123456789abcdef"' }]) {
        const refused = await s3Error(complete(conditions));
        assert.deepEqual([refused.status, refused.code], [412, 'PreconditionFailed'], JSON.stringify(conditions));
        assert.ok((await getBytes(st.s3, { Bucket: B, Key })).equals(old), 'the object is unchanged');
        const parts = await st.s3.send(new ListPartsCommand({ Bucket: B, Key, UploadId }));
        assert.deepEqual(
          parts.Parts?.map((p) => p.ETag),
          [ETag],
          'the upload and its part are still there',
        );
      }
      await complete({ IfMatch: put.ETag! });
      assert.ok((await getBytes(st.s3, { Bucket: B, Key })).equals(body));
    });

    test('lib-storage Upload (the SDK default: aws-chunked parts with CRC32 trailers) of 17 MiB', async () => {
      const data = randomBytes(17 * MiB);
      const { Readable } = await import('node:stream');
      const up = new Upload({
        client: st.s3,
        params: { Bucket: B, Key: 'lib-storage', Body: Readable.from([data.subarray(0, 9 * MiB), data.subarray(9 * MiB)]) },
        partSize: 5 * MiB,
      });
      await up.done();
      assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'lib-storage' })).equals(data));
    });
  });
