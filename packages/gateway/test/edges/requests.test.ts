// Well-signed requests a real gateway must still refuse, sent by hand so that each is exactly the
// malformed thing: a wrong Content-MD5, broken XML bodies, invalid bucket names, over-long keys,
// part numbers out of range, unsatisfiable ranges, oversized header sections and metadata,
// garbage max-keys. Each checks AWS's status and error code, that a snapshot of the whole store is
// unchanged, and that the gateway still answers; a boundary case that must be accepted goes with each.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketEncryptionCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { getBytes } from '../helpers/s3.js';
import { errorCode, md5Base64, RawClient, type RawRequest, type RawResponse } from './raw.js';
import { snapshot } from './state.js';

const B = 'edges-requests';
const ENC_BUCKET = 'edges-encryption';
const existing = randomBytes(1000);
let st: Stack;
let raw: RawClient;

before(async () => {
  st = await startStack();
  raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'existing', Body: existing }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'other', Body: 'other' }));
  await st.s3.send(new CreateBucketCommand({ Bucket: ENC_BUCKET }));
  await st.s3.send(
    new PutBucketEncryptionCommand({
      Bucket: ENC_BUCKET,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] },
    }),
  );
});
after(async () => st?.close());

function refused(res: RawResponse, status: number, code: string, what = ''): void {
  assert.equal(res.status, status, `${what}: ${res.body}`);
  assert.equal(errorCode(res.body), code, `${what}: ${res.body}`);
}

/** Runs `attempt`, then checks that the store is exactly as before and the gateway still answers. */
async function nothingStored(attempt: () => Promise<void>): Promise<void> {
  const before = await snapshot(st.s3, st.dataDir);
  await attempt();
  assert.deepEqual(await snapshot(st.s3, st.dataDir), before, 'a refused request must leave the store as it was');
  assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'existing' })).equals(existing));
}

const signedSend = (r: RawRequest): Promise<RawResponse> => raw.signedSend(r);

describe('request edges against a running gateway', () => {
  test('a wrong Content-MD5 → 400 BadDigest (new key and overwrite); a malformed one → 400 InvalidDigest', async () => {
    const body = Buffer.from('content whose MD5 is not the one declared');
    await nothingStored(async () => {
      for (const key of ['digest-new', 'existing']) {
        const res = await signedSend({
          method: 'PUT',
          path: `/${B}/${key}`,
          body,
          headers: { 'content-md5': md5Base64('something else') },
        });
        refused(res, 400, 'BadDigest', key);
      }
      // The same with a body large enough to be written to disk before the digest is known.
      const big = randomBytes(3 * 1024 * 1024);
      refused(
        await signedSend({ method: 'PUT', path: `/${B}/digest-big`, body: big, headers: { 'content-md5': md5Base64(big.subarray(1)) } }),
        400,
        'BadDigest',
      );
      refused(
        await signedSend({ method: 'PUT', path: `/${B}/digest-new`, body, headers: { 'content-md5': 'not-base64-md5' } }),
        400,
        'InvalidDigest',
      );
    });
  });

  test('malformed XML in CompleteMultipartUpload → 400 MalformedXML; the upload stays completable', async () => {
    const { UploadId } = await st.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp-xml' }));
    const part = await st.s3.send(new UploadPartCommand({ Bucket: B, Key: 'mp-xml', UploadId, PartNumber: 1, Body: 'the only part' }));
    const bodies = [
      `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${part.ETag}</ETag></Part>`,
      'this is not XML at all',
      `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`,
      `<SomethingElse><Part><PartNumber>1</PartNumber><ETag>${part.ETag}</ETag></Part></SomethingElse>`,
      '<CompleteMultipartUpload></CompleteMultipartUpload>',
    ];
    await nothingStored(async () => {
      for (const body of bodies) {
        const res = await signedSend({
          method: 'POST',
          path: `/${B}/mp-xml`,
          query: { uploadId: UploadId! },
          body,
          headers: { 'content-type': 'application/xml' },
        });
        refused(res, 400, 'MalformedXML', body);
      }
    });
    await st.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: 'mp-xml',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'mp-xml' })).toString(), 'the only part');
    await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'mp-xml' }));
  });

  test('malformed XML in DeleteObjects → 400 MalformedXML; nothing is deleted', async () => {
    const bodies = [
      '<Delete><Object><Key>existing</Key></Object>',
      '<Delete><Object><Key>existing</Key></Object><Object><Key>other</Key></Object',
      '<Delete></Delete>',
      '<Delete><Object><Key></Key></Object></Delete>',
      '{"Delete": ["existing"]}',
    ];
    await nothingStored(async () => {
      for (const body of bodies) {
        const res = await signedSend({
          method: 'POST',
          path: `/${B}`,
          query: { delete: '' },
          body,
          headers: { 'content-md5': md5Base64(body) },
        });
        refused(res, 400, 'MalformedXML', body);
      }
    });
    assert.equal((await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'other' }))).ContentLength, 5);
  });

  test('malformed XML in PutBucketEncryption → 400 MalformedXML; the old configuration stays', async () => {
    const bodies = [
      '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>',
      '<ServerSideEncryptionConfiguration/>',
      '<ServerSideEncryptionConfiguration><Rule></Rule></ServerSideEncryptionConfiguration>',
      '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>' +
        '<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>',
      '<!DOCTYPE x [<!ENTITY a "AES256">]><ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>&a;</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>',
    ];
    await nothingStored(async () => {
      for (const body of bodies) {
        const res = await signedSend({
          method: 'PUT',
          path: `/${ENC_BUCKET}`,
          query: { encryption: '' },
          body,
          headers: { 'content-md5': md5Base64(body) },
        });
        refused(res, 400, 'MalformedXML', body);
      }
    });
    const cfg = await st.s3.send(new GetBucketEncryptionCommand({ Bucket: ENC_BUCKET }));
    assert.equal(cfg.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'aws:kms');
  });

  test('invalid bucket names → 400 InvalidBucketName; no bucket is created', async () => {
    const names = [
      'ab',
      'a'.repeat(64),
      'UpperCase',
      'under_score',
      '-leading',
      'trailing-',
      'two..dots',
      'dot.-hyphen',
      '192.168.5.4',
      'xn--punycode',
      'name-s3alias',
      'kesgate',
    ];
    await nothingStored(async () => {
      for (const name of names) {
        const res = await signedSend({ method: 'PUT', path: `/${name}` });
        refused(res, 400, 'InvalidBucketName', name);
      }
    });
    // The limits themselves are fine: 3 and 63 characters.
    for (const name of ['abc', 'a'.repeat(63)]) {
      assert.equal((await signedSend({ method: 'PUT', path: `/${name}` })).status, 200, name);
      assert.equal((await signedSend({ method: 'DELETE', path: `/${name}` })).status, 204, name);
    }
  });

  test('a key longer than 1024 bytes of UTF-8 → 400 KeyTooLongError (PUT, multipart, copy); 1024 bytes is fine', async () => {
    const ascii = 'k'.repeat(1025);
    const euro = '€'.repeat(342); // 342 characters, 1026 bytes
    await nothingStored(async () => {
      for (const key of [ascii, euro]) {
        const path = `/${B}/${encodeURIComponent(key)}`;
        refused(await signedSend({ method: 'PUT', path, body: 'x' }), 400, 'KeyTooLongError', `PUT ${key.length} chars`);
        refused(await signedSend({ method: 'POST', path, query: { uploads: '' } }), 400, 'KeyTooLongError', 'CreateMultipartUpload');
        refused(
          await signedSend({ method: 'PUT', path, headers: { 'x-amz-copy-source': `/${B}/existing` } }),
          400,
          'KeyTooLongError',
          'CopyObject',
        );
      }
    });
    const longest = `${'€'.repeat(341)}k`; // 1024 bytes
    assert.equal((await signedSend({ method: 'PUT', path: `/${B}/${encodeURIComponent(longest)}`, body: 'x' })).status, 200);
    assert.equal((await getBytes(st.s3, { Bucket: B, Key: longest })).toString(), 'x');
    await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: longest }));
  });

  test('part number 10001 (and 0, -1, garbage) → 400 InvalidArgument for UploadPart and UploadPartCopy; 10000 is fine', async () => {
    const { UploadId } = await st.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp-parts' }));
    await nothingStored(async () => {
      for (const partNumber of ['10001', '0', '-1', 'one', '1.5', '99999999999999999999']) {
        const query = { partNumber, uploadId: UploadId! };
        refused(
          await signedSend({ method: 'PUT', path: `/${B}/mp-parts`, query, body: 'part' }),
          400,
          'InvalidArgument',
          `UploadPart ${partNumber}`,
        );
        const copy = await signedSend({ method: 'PUT', path: `/${B}/mp-parts`, query, headers: { 'x-amz-copy-source': `/${B}/existing` } });
        refused(copy, 400, 'InvalidArgument', `UploadPartCopy ${partNumber}`);
      }
    });
    const last = await signedSend({
      method: 'PUT',
      path: `/${B}/mp-parts`,
      query: { partNumber: '10000', uploadId: UploadId! },
      body: 'part',
    });
    assert.equal(last.status, 200, last.body);
    await st.s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'mp-parts', UploadId }));
  });

  test('ranges: a start at or beyond the size → 416 InvalidRange with Content-Range bytes */size; malformed ranges → 200 and the whole object', async () => {
    await nothingStored(async () => {
      for (const range of ['bytes=1000-', 'bytes=1000-1000', 'bytes=5000-6000', 'bytes=-0']) {
        const res = await signedSend({ method: 'GET', path: `/${B}/existing`, headers: { range } });
        refused(res, 416, 'InvalidRange', range);
        assert.match(res.body, /<RangeRequested>[^<]+<\/RangeRequested><ActualObjectSize>1000<\/ActualObjectSize>/, range);
        assert.ok(res.body.includes(`<RangeRequested>${range}</RangeRequested>`), range);
        assert.equal(res.headers['content-range'], 'bytes */1000', range);
        const head = await signedSend({ method: 'HEAD', path: `/${B}/existing`, headers: { range } });
        assert.equal(head.status, 416, `HEAD ${range}`);
        assert.equal(head.headers['content-range'], 'bytes */1000', `HEAD ${range}`);
      }
      // As S3 does (RFC 9110): a Range it cannot parse is ignored.
      for (const range of ['bytes=abc', 'bytes=5-3', 'items=0-5', 'bytes=', 'bytes=-', 'bytes 0-5', 'bytes=0x10-0x20']) {
        const res = await raw.signedSend({ method: 'GET', path: `/${B}/existing`, headers: { range } });
        assert.equal(res.status, 200, `${range}: ${res.body.slice(0, 200)}`);
        assert.equal(res.headers['content-range'], undefined, range);
        assert.equal(Number(res.headers['content-length']), existing.length, range);
      }
      // A satisfiable range that runs past the end is cut to the object.
      const tail = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'existing', Range: 'bytes=990-5000' }));
      assert.deepEqual([tail.ContentLength, tail.ContentRange], [10, 'bytes 990-999/1000']);
    });
    const whole = await raw.signedSend({ method: 'GET', path: `/${B}/existing`, headers: { range: 'bytes=5-3' } });
    assert.equal(whole.body, existing.toString('utf8'), 'the whole object is served');
  });

  test("oversized header sections: > 8 KiB and > 16 KiB (the HTTP parser's limit) → 400 RequestHeaderSectionTooLarge; the gateway stays up", async () => {
    const pad = (kib: number): Record<string, string> =>
      Object.fromEntries(Array.from({ length: kib }, (_, i) => [`x-pad-${i}`, 'p'.repeat(1000)]));
    const body = Buffer.from('never stored');
    await nothingStored(async () => {
      // Unsigned padding added after signing: the size check must come first anyway.
      const mid = await raw.signedSend({ method: 'PUT', path: `/${B}/huge-headers`, body }, { after: pad(10) });
      refused(mid, 400, 'RequestHeaderSectionTooLarge');
      // Beyond the HTTP parser's own limit the request is never parsed: the same S3 error, then the connection closes.
      const huge = await raw.signedSend({ method: 'PUT', path: `/${B}/huge-headers`, body }, { after: pad(20) });
      refused(huge, 400, 'RequestHeaderSectionTooLarge');
      assert.equal(huge.headers.connection, 'close');
      assert.match(String(huge.headers['x-amz-request-id']), /^[0-9A-F]{16}$/);
      // Even signed, every header covered.
      const signedHuge = await raw.signedSend({ method: 'PUT', path: `/${B}/huge-headers`, body, headers: pad(20) });
      refused(signedHuge, 400, 'RequestHeaderSectionTooLarge');
      const signedMid = await raw.signedSend({ method: 'PUT', path: `/${B}/huge-headers`, body, headers: pad(10) });
      refused(signedMid, 400, 'RequestHeaderSectionTooLarge');
    });
  });

  test('a negative or garbage max-keys → 400 InvalidArgument (ListObjectsV2, ListObjects); 0 and 5000 are fine', async () => {
    await nothingStored(async () => {
      for (const maxKeys of ['-1', 'abc', '1.5', '1e3', '0x10', ' 5']) {
        const queries: Record<string, string>[] = [{ 'list-type': '2', 'max-keys': maxKeys }, { 'max-keys': maxKeys }];
        for (const query of queries) {
          const res = await signedSend({ method: 'GET', path: `/${B}`, query });
          refused(res, 400, 'InvalidArgument', JSON.stringify(query));
          assert.match(res.body, /<ArgumentName>max-keys<\/ArgumentName>/);
        }
      }
    });
    const none = await signedSend({ method: 'GET', path: `/${B}`, query: { 'list-type': '2', 'max-keys': '0' } });
    assert.equal(none.status, 200);
    assert.match(none.body, /<KeyCount>0<\/KeyCount>/);
    const many = await signedSend({ method: 'GET', path: `/${B}`, query: { 'list-type': '2', 'max-keys': '5000' } });
    assert.equal(many.status, 200);
    assert.match(many.body, /<MaxKeys>1000<\/MaxKeys>/);
    assert.match(many.body, /<Key>existing<\/Key>/);
  });

  test('user metadata over 2 KiB → 400 MetadataTooLarge (PUT, multipart, copy); exactly 2 KiB is fine', async () => {
    const one = { 'x-amz-meta-a': 'v'.repeat(2048) }; // 1 + 2048 bytes
    const many = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`x-amz-meta-field${i}`, 'v'.repeat(405)])); // 5 × (6 + 405)
    await nothingStored(async () => {
      for (const headers of [one, many]) {
        refused(await signedSend({ method: 'PUT', path: `/${B}/meta`, body: 'x', headers }), 400, 'MetadataTooLarge', 'PUT');
        refused(await signedSend({ method: 'PUT', path: `/${B}/existing`, body: 'x', headers }), 400, 'MetadataTooLarge', 'overwrite');
        refused(
          await signedSend({ method: 'POST', path: `/${B}/meta`, query: { uploads: '' }, headers }),
          400,
          'MetadataTooLarge',
          'CreateMultipartUpload',
        );
        const copy = await signedSend({
          method: 'PUT',
          path: `/${B}/meta`,
          headers: { ...headers, 'x-amz-copy-source': `/${B}/existing`, 'x-amz-metadata-directive': 'REPLACE' },
        });
        refused(copy, 400, 'MetadataTooLarge', 'CopyObject');
      }
    });
    const exact = { 'x-amz-meta-a': 'v'.repeat(2047) };
    assert.equal((await signedSend({ method: 'PUT', path: `/${B}/meta`, body: 'x', headers: exact })).status, 200);
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'meta' }));
    assert.equal(head.Metadata?.a?.length, 2047);
    await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'meta' }));
  });
});
