// Small S3 conformance points, sent by hand to a real gateway so that the bytes on the wire are exactly
// the ones under test: user metadata bytes ≥ 0x80 come back as sent; digests that do not match are
// BadDigest (malformed ones InvalidDigest / InvalidRequest as AWS names them) on PUT, UploadPart and
// trailers with nothing written; an empty continuation-token; which listing fields encoding-type=url
// encodes; and the validators a 304 carries.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { CreateBucketCommand, CreateMultipartUploadCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { getBytes } from '../helpers/s3.js';
import { errorCode, md5Base64, RawClient, type RawResponse } from './raw.js';
import { snapshot } from './state.js';

const B = 'conformance';
let st: Stack;
let raw: RawClient;

before(async () => {
  st = await startStack();
  raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(async () => st?.close());

const crc32 = (data: Buffer): string => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(zlib.crc32(data) >>> 0);
  return out.toString('base64');
};
/** A header value as Node's http client sends it from a string: one byte per char (latin1). */
const bytesAsHeader = (b: Buffer): string => b.toString('latin1');
const headerBytes = (res: RawResponse, name: string): Buffer => Buffer.from(String(res.headers[name] ?? ''), 'latin1');

function refused(res: RawResponse, status: number, code: string, what: string): void {
  assert.equal(res.status, status, `${what}: ${res.body}`);
  assert.equal(errorCode(res.body), code, `${what}: ${res.body}`);
}

describe('user metadata bytes', () => {
  test('a value with bytes ≥ 0x80 (latin1 and UTF-8) comes back byte for byte on GET and HEAD', async () => {
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x80, 0xff]);
    const utf8 = Buffer.from('naïve café €', 'utf8');
    // A Buffer body: Node then writes the header block as latin1, so each char is one byte on the wire.
    const put = await raw.signedSend({
      method: 'PUT',
      path: `/${B}/meta-bytes`,
      body: Buffer.from('x'),
      headers: { 'x-amz-meta-l': bytesAsHeader(latin1), 'x-amz-meta-u': bytesAsHeader(utf8) },
    });
    assert.equal(put.status, 200, put.body);
    for (const method of ['GET', 'HEAD']) {
      const res = await raw.signedSend({ method, path: `/${B}/meta-bytes` });
      assert.equal(res.status, 200, method);
      assert.deepEqual(headerBytes(res, 'x-amz-meta-l'), latin1, `${method}: the latin1 bytes`);
      assert.deepEqual(headerBytes(res, 'x-amz-meta-u'), utf8, `${method}: the UTF-8 bytes`);
    }
  });

  test('the 2 KiB limit counts the bytes sent: 2048 bytes of UTF-8 metadata fit, 2049 do not', async () => {
    // name "x" (1 byte) + 1023 × "é" (2 bytes each) + "a" = 2048 bytes as received.
    const value = Buffer.concat([Buffer.from('é'.repeat(1023), 'utf8'), Buffer.from('a')]);
    const fits = await raw.signedSend({
      method: 'PUT',
      path: `/${B}/meta-2k`,
      body: Buffer.from('x'),
      headers: { 'x-amz-meta-x': bytesAsHeader(value) },
    });
    assert.equal(fits.status, 200, fits.body);
    const head = await raw.signedSend({ method: 'HEAD', path: `/${B}/meta-2k` });
    assert.deepEqual(headerBytes(head, 'x-amz-meta-x'), value);
    const over = Buffer.concat([value, Buffer.from('b')]);
    const before = await snapshot(st.s3, st.dataDir);
    refused(
      await raw.signedSend({
        method: 'PUT',
        path: `/${B}/meta-2k-over`,
        body: Buffer.from('x'),
        headers: { 'x-amz-meta-x': bytesAsHeader(over) },
      }),
      400,
      'MetadataTooLarge',
      '2049 bytes',
    );
    assert.deepEqual(await snapshot(st.s3, st.dataDir), before);
  });
});

describe('digests: wrong → 400 BadDigest, malformed → 400 InvalidDigest (Content-MD5) / InvalidRequest (x-amz-checksum-*), nothing written', () => {
  const body = Buffer.from('the bytes whose digests are checked');
  const other = Buffer.from('some other bytes');
  let uploadId: string;
  before(async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'digest-existing', Body: 'old' }));
    uploadId = (await st.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'digest-mp' }))).UploadId!;
  });

  const targets = (): { what: string; path: string; query?: Record<string, string> }[] => [
    { what: 'PUT new', path: `/${B}/digest-new` },
    { what: 'PUT over', path: `/${B}/digest-existing` },
    { what: 'UploadPart', path: `/${B}/digest-mp`, query: { partNumber: '1', uploadId } },
  ];
  const cases: [string, Record<string, string>, string][] = [
    ['wrong Content-MD5', { 'content-md5': md5Base64(other) }, 'BadDigest'],
    ['wrong x-amz-checksum-crc32', { 'x-amz-checksum-crc32': crc32(other) }, 'BadDigest'],
    ['wrong x-amz-checksum-sha256', { 'x-amz-checksum-sha256': createHash('sha256').update(other).digest('base64') }, 'BadDigest'],
    ['Content-MD5 not base64', { 'content-md5': 'not*base64' }, 'InvalidDigest'],
    ['Content-MD5 of 11 bytes', { 'content-md5': Buffer.from('abracadabra').toString('base64') }, 'InvalidDigest'],
    // AWS: "Value for x-amz-checksum-crc32 header is invalid." (InvalidRequest) for a malformed checksum header.
    ['x-amz-checksum-crc32 of 3 bytes', { 'x-amz-checksum-crc32': 'AAAA' }, 'InvalidRequest'],
  ];

  test('in headers, on PUT (new key and overwrite) and UploadPart', async () => {
    const before = await snapshot(st.s3, st.dataDir);
    for (const t of targets()) {
      for (const [what, headers, code] of cases) {
        refused(
          await raw.signedSend({ method: 'PUT', path: t.path, ...(t.query ? { query: t.query } : {}), body, headers }),
          400,
          code,
          `${t.what}, ${what}`,
        );
      }
    }
    assert.deepEqual(await snapshot(st.s3, st.dataDir), before, 'nothing stored: no object, no part, no data file');
    assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'digest-existing' })).toString(), 'old');
  });

  test('in an aws-chunked trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER), on PUT and UploadPart', async () => {
    const chunked = (crc: string): Buffer =>
      Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${crc}\r\n\r\n`)]);
    const headersFor = (wire: Buffer): Record<string, string> => ({
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(body.length),
      'x-amz-trailer': 'x-amz-checksum-crc32',
      'content-length': String(wire.length),
    });
    const before = await snapshot(st.s3, st.dataDir);
    for (const t of targets()) {
      const wire = chunked(crc32(other));
      const res = await raw.signedSend(
        { method: 'PUT', path: t.path, ...(t.query ? { query: t.query } : {}), body: wire, headers: headersFor(wire) },
        { payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' },
      );
      refused(res, 400, 'BadDigest', `${t.what}, wrong trailer`);
    }
    assert.deepEqual(await snapshot(st.s3, st.dataDir), before, 'nothing stored');
    // The same body with the right trailer is stored: the refusals above were about the digest alone.
    const wire = chunked(crc32(body));
    const ok = await raw.signedSend(
      { method: 'PUT', path: `/${B}/digest-new`, body: wire, headers: headersFor(wire) },
      { payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' },
    );
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(await getBytes(st.s3, { Bucket: B, Key: 'digest-new' }), body);
  });
});

describe('listing parameters', () => {
  before(async () => {
    for (const Key of ['enc/a b', 'enc/a+b', 'enc/100%', 'enc/é', 'enc/line\nbreak', 'enc/sub/x'])
      await st.s3.send(new PutObjectCommand({ Bucket: B, Key, Body: 'x' }));
  });

  test('ListObjectsV2 with an empty continuation-token lists from the start', async () => {
    const res = await raw.signedSend({
      method: 'GET',
      path: `/${B}`,
      query: { 'list-type': '2', 'continuation-token': '', prefix: 'enc/', 'max-keys': '2' },
    });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(
      [...res.body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]),
      ['enc/100%', 'enc/a b'],
    );
    assert.doesNotMatch(res.body, /<ContinuationToken>/);
  });

  const field = (body: string, name: string): string[] =>
    [...body.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]!);

  test('encoding-type=url: V1 encodes Delimiter, Marker, NextMarker, keys and common prefixes, not its Prefix', async () => {
    const res = await raw.signedSend({
      method: 'GET',
      path: `/${B}`,
      query: { prefix: 'enc/', delimiter: '/', marker: 'enc/a b', 'max-keys': '2', 'encoding-type': 'url' },
    });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(field(res.body, 'Key'), ['enc/a%2Bb', 'enc/line%0Abreak']);
    assert.deepEqual(
      [field(res.body, 'Marker'), field(res.body, 'NextMarker'), field(res.body, 'Delimiter')],
      [['enc/a+b'], ['enc/line%0Abreak'], ['/']],
    );
    assert.deepEqual(field(res.body, 'EncodingType'), ['url']);
    // The next page, from the decoded NextMarker: a common prefix and a non-ASCII key.
    const next = await raw.signedSend({
      method: 'GET',
      path: `/${B}`,
      query: { prefix: 'enc/', delimiter: '/', marker: 'enc/line\nbreak', 'encoding-type': 'url' },
    });
    assert.deepEqual(field(next.body, 'Key'), ['enc/%C3%A9']);
    assert.deepEqual(field(next.body, 'Prefix'), ['enc/', 'enc/sub/']);
    const newline = await raw.signedSend({ method: 'GET', path: `/${B}`, query: { prefix: '\n', 'encoding-type': 'url' } });
    assert.deepEqual(field(newline.body, 'Prefix'), ['\n'], 'V1 answers its Prefix as given');
  });

  test('encoding-type=url: V2 encodes Prefix, StartAfter, Delimiter and keys; space is +, + is %2B, % is %25', async () => {
    const res = await raw.signedSend({
      method: 'GET',
      path: `/${B}`,
      query: { 'list-type': '2', prefix: 'enc/a ', 'start-after': 'enc/a', 'encoding-type': 'url' },
    });
    assert.equal(res.status, 200, res.body);
    assert.deepEqual(field(res.body, 'Prefix'), ['enc/a+']);
    assert.deepEqual(field(res.body, 'StartAfter'), ['enc/a']);
    assert.deepEqual(field(res.body, 'Key'), ['enc/a+b']);
    const all = await raw.signedSend({
      method: 'GET',
      path: `/${B}`,
      query: { 'list-type': '2', prefix: 'enc/1', 'encoding-type': 'url' },
    });
    assert.deepEqual(field(all.body, 'Key'), ['enc/100%25']);
    refused(
      await raw.signedSend({ method: 'GET', path: `/${B}`, query: { 'list-type': '2', 'encoding-type': 'base64' } }),
      400,
      'InvalidArgument',
      'encoding-type=base64',
    );
  });
});

describe('304 Not Modified', () => {
  test('carries the ETag and Last-Modified of the object it did not send, and no body (GET and HEAD)', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'cached', Body: 'cached body' }));
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'cached' }));
    const lastModified = head.LastModified!.toUTCString();
    for (const method of ['GET', 'HEAD']) {
      const conditions: Record<string, string>[] = [{ 'if-none-match': head.ETag! }, { 'if-modified-since': lastModified }];
      for (const headers of conditions) {
        const res = await raw.signedSend({ method, path: `/${B}/cached`, headers });
        assert.equal(res.status, 304, `${method} ${JSON.stringify(headers)}`);
        assert.equal(res.headers.etag, head.ETag);
        assert.equal(res.headers['last-modified'], lastModified);
        assert.equal(res.body, '');
      }
    }
  });
});
