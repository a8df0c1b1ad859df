// Signature Version 2 against a running gateway, signed by hand here (HMAC-SHA1 over the string to sign
// as AWS's developer guide defines it, written independently of the gateway's verifier): header and
// query-string authentication, path- and virtual-host-style; refusals (wrong signature, unknown key,
// expired URL, skewed clock, a sub-resource left out of the signed resource, a wrong Content-MD5)
// get AWS's status and code, and a snapshot of the store shows nothing was written.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { getBytes } from '../helpers/s3.js';
import { errorCode, type RawResponse } from './raw.js';
import { snapshot } from './state.js';

const B = 'edges-sigv2';
const DOMAIN = 's3.kesgate.test';
const KMS_KEY = 'tenant-v2';
const existing = randomBytes(2000);
let st: Stack;

before(async () => {
  st = await startStack({ keys: [KMS_KEY], gateway: { domains: [DOMAIN] } });
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'existing', Body: existing, ContentType: 'application/x-existing' }));
});
after(async () => st?.close());

interface V2Request {
  method: string;
  /** Path and query as sent, percent-encoded. */
  target: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** The bucket when it is in the Host header (virtual-host-style). */
  hostBucket?: string;
}

interface SignOptions {
  accessKey?: string;
  secretKey?: string;
  date?: Date;
  /** The resource as signed; by default the one AWS's rules give. */
  resource?: string;
}

const SUBRESOURCES = [
  'acl',
  'delete',
  'lifecycle',
  'location',
  'logging',
  'notification',
  'partNumber',
  'policy',
  'requestPayment',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
  'cors',
  'tagging',
];

/** CanonicalizedResource per the developer guide. */
function resourceOf(r: V2Request): string {
  const [path, query = ''] = r.target.split('?', 2) as [string, string?];
  const signed = query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => p.split('=', 2) as [string, string?])
    .filter(([n]) => SUBRESOURCES.includes(n) || n.startsWith('response-'))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([n, v]) => (v ? `${n}=${decodeURIComponent(v)}` : n));
  return `${r.hostBucket ? `/${r.hostBucket}` : ''}${path}${signed.length ? `?${signed.join('&')}` : ''}`;
}

function stringToSign(r: V2Request, dateOrExpires: string, resource: string): string {
  const h = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  const amz = Object.keys(h)
    .filter((k) => k.startsWith('x-amz-'))
    .sort()
    .map((k) => `${k}:${h[k]}\n`)
    .join('');
  return `${r.method}\n${h['content-md5'] ?? ''}\n${h['content-type'] ?? ''}\n${dateOrExpires}\n${amz}${resource}`;
}

const hmacSha1 = (secret: string, text: string): string => createHmac('sha1', secret).update(text, 'utf8').digest('base64');
const md5Base64 = (b: Buffer): string => createHash('md5').update(b).digest('base64');

/** The request's headers with Date and `Authorization: AWS AKID:signature` added. */
function signHeader(r: V2Request, o: SignOptions = {}): Record<string, string> {
  const date = (o.date ?? new Date()).toUTCString();
  const headers = { ...r.headers, date };
  const signature = hmacSha1(o.secretKey ?? SECRET_KEY, stringToSign({ ...r, headers }, date, o.resource ?? resourceOf(r)));
  return { ...headers, authorization: `AWS ${o.accessKey ?? ACCESS_KEY}:${signature}` };
}

/** The target with AWSAccessKeyId, Expires and Signature appended (query-string authentication). */
function presign(r: V2Request, expiresAt: Date, o: SignOptions = {}): string {
  const expires = String(Math.floor(expiresAt.getTime() / 1000));
  const signature = hmacSha1(o.secretKey ?? SECRET_KEY, stringToSign(r, expires, o.resource ?? resourceOf(r)));
  const auth = `AWSAccessKeyId=${encodeURIComponent(o.accessKey ?? ACCESS_KEY)}&Expires=${expires}&Signature=${encodeURIComponent(signature)}`;
  return `${r.target}${r.target.includes('?') ? '&' : '?'}${auth}`;
}

function send(r: {
  method: string;
  target: string;
  headers?: Record<string, string>;
  body?: Buffer;
  hostBucket?: string;
}): Promise<RawResponse> {
  const port = st.gw.httpPort;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      host: r.hostBucket ? `${r.hostBucket}.${DOMAIN}:${port}` : `127.0.0.1:${port}`,
      ...r.headers,
    };
    if (r.body) headers['content-length'] = String(r.body.length);
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.target, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('latin1') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(r.body);
  });
}

function refused(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body);
  assert.equal(errorCode(res.body), code, res.body);
}

async function nothingStored(attempt: () => Promise<void>): Promise<void> {
  const before = await snapshot(st.s3, st.dataDir);
  await attempt();
  assert.deepEqual(await snapshot(st.s3, st.dataDir), before, 'a refused request must leave the store as it was');
  assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'existing' })).equals(existing));
}

describe('SigV2 header authentication', () => {
  test('PUT with Content-MD5, Content-Type and metadata, then GET and DELETE, path-style and virtual-host-style', async () => {
    const body = randomBytes(5000);
    const put: V2Request = {
      method: 'PUT',
      target: `/${B}/v2%20put`,
      body,
      headers: {
        'content-md5': md5Base64(body),
        'content-type': 'image/png',
        'x-amz-meta-colour': 'blue',
        'x-amz-server-side-encryption': 'AES256',
      },
    };
    const res = await send({ ...put, headers: signHeader(put) });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['x-amz-server-side-encryption'], 'AES256');
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'v2 put' }));
    assert.deepEqual([head.ContentType, head.Metadata?.colour, head.ServerSideEncryption], ['image/png', 'blue', 'AES256']);

    const get: V2Request = { method: 'GET', target: `/${B}/v2%20put` };
    const got = await send({ ...get, headers: signHeader(get) });
    assert.equal(got.status, 200, got.body);
    assert.ok(Buffer.from(got.body, 'latin1').equals(body));

    // Virtual-host-style: the bucket is in the Host header and in the signed resource.
    const vget: V2Request = { method: 'GET', target: '/v2%20put', hostBucket: B };
    const vgot = await send({ ...vget, headers: signHeader(vget) });
    assert.equal(vgot.status, 200, vgot.body);
    assert.ok(Buffer.from(vgot.body, 'latin1').equals(body));
    const vlist: V2Request = { method: 'GET', target: '/?list-type=2&prefix=v2', hostBucket: B };
    const listed = await send({ ...vlist, headers: signHeader(vlist) });
    assert.equal(listed.status, 200, listed.body);
    assert.match(listed.body, /<Key>v2 put<\/Key>/);

    const del: V2Request = { method: 'DELETE', target: `/${B}/v2%20put` };
    assert.equal((await send({ ...del, headers: signHeader(del) })).status, 204);
    const gone = await send({ ...get, headers: signHeader(get) });
    refused(gone, 404, 'NoSuchKey');
  });

  test('x-amz-date overrides Date: the request time is x-amz-date, and it is signed', async () => {
    const get: V2Request = { method: 'GET', target: `/${B}/existing`, headers: { 'x-amz-date': new Date().toUTCString() } };
    // As AWS defines it: with x-amz-date the Date line is empty, and a stale Date header does not matter.
    const signature = hmacSha1(SECRET_KEY, stringToSign(get, '', resourceOf(get)));
    const stale = new Date(Date.now() - 3600_000).toUTCString();
    const ok = await send({ ...get, headers: { ...get.headers, date: stale, authorization: `AWS ${ACCESS_KEY}:${signature}` } });
    assert.equal(ok.status, 200, ok.body);
    // As botocore signs when it sends both: Date's value on the Date line.
    const both = await send({ ...get, headers: signHeader(get) });
    assert.equal(both.status, 200, both.body);
    const skewed: V2Request = { ...get, headers: { 'x-amz-date': new Date(Date.now() - 20 * 60_000).toUTCString() } };
    refused(await send({ ...skewed, headers: signHeader(skewed) }), 403, 'RequestTimeTooSkewed');
  });

  test('sub-resources are part of the signed resource: ?uploads, ?tagging, response-content-type', async () => {
    // CreateMultipartUpload signed with ?uploads in the resource works; without it the signature fails.
    const create: V2Request = { method: 'POST', target: `/${B}/mp?uploads` };
    const created = await send({ ...create, headers: signHeader(create) });
    assert.equal(created.status, 200, created.body);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body)![1]!;
    const abort: V2Request = { method: 'DELETE', target: `/${B}/mp?uploadId=${encodeURIComponent(uploadId)}` };
    assert.equal((await send({ ...abort, headers: signHeader(abort) })).status, 204);

    await nothingStored(async () => {
      refused(await send({ ...create, headers: signHeader(create, { resource: `/${B}/mp` }) }), 403, 'SignatureDoesNotMatch');
      const tagging: V2Request = { method: 'GET', target: `/${B}/existing?tagging` };
      refused(await send({ ...tagging, headers: signHeader(tagging, { resource: `/${B}/existing` }) }), 403, 'SignatureDoesNotMatch');
      // Signed with ?tagging, the request gets past authentication to the operation itself.
      const past = await send({ ...tagging, headers: signHeader(tagging) });
      assert.notEqual(past.status, 403, past.body);
      assert.notEqual(errorCode(past.body), 'SignatureDoesNotMatch');
    });

    const overridden: V2Request = { method: 'GET', target: `/${B}/existing?response-content-type=text%2Fx-v2` };
    const res = await send({ ...overridden, headers: signHeader(overridden) });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['content-type'], 'text/x-v2');
    refused(await send({ ...overridden, headers: signHeader(overridden, { resource: `/${B}/existing` }) }), 403, 'SignatureDoesNotMatch');
  });

  test('refusals: wrong signature, unknown key, skewed clock, wrong Content-MD5 — nothing stored', async () => {
    const body = Buffer.from('a body that must not be stored');
    const put = (key: string): V2Request => ({ method: 'PUT', target: `/${B}/${key}`, body, headers: { 'content-md5': md5Base64(body) } });
    await nothingStored(async () => {
      const forged = await send({ ...put('existing'), headers: signHeader(put('existing'), { secretKey: 'not-the-secret' }) });
      refused(forged, 403, 'SignatureDoesNotMatch');
      assert.match(forged.body, /<StringToSign>PUT\n/);
      // Signed for one key, sent to another.
      refused(await send({ ...put('elsewhere'), headers: signHeader(put('forged')) }), 403, 'SignatureDoesNotMatch');
      const unknown = await send({ ...put('existing'), headers: signHeader(put('existing'), { accessKey: 'AKIANOBODYHOME' }) });
      refused(unknown, 403, 'InvalidAccessKeyId');
      assert.match(unknown.body, /<AWSAccessKeyId>AKIANOBODYHOME<\/AWSAccessKeyId>/);
      for (const minutes of [-16, 16]) {
        refused(
          await send({ ...put('skewed'), headers: signHeader(put('skewed'), { date: new Date(Date.now() + minutes * 60_000) }) }),
          403,
          'RequestTimeTooSkewed',
        );
      }
      // The payload is not signed in V2, but a Content-MD5 that does not match it is still caught.
      const other: V2Request = { ...put('md5'), headers: { 'content-md5': md5Base64(Buffer.from('something else')) } };
      refused(await send({ ...other, headers: signHeader(other) }), 400, 'BadDigest');
    });
  });
});

describe('SigV2 query-string authentication', () => {
  test('presigned GET and PUT work until they expire; then 403 AccessDenied "Request has expired"', async () => {
    const get: V2Request = { method: 'GET', target: `/${B}/existing` };
    const fresh = await send({ method: 'GET', target: presign(get, new Date(Date.now() + 60_000)) });
    assert.equal(fresh.status, 200, fresh.body);
    assert.ok(Buffer.from(fresh.body, 'latin1').equals(existing));

    const body = randomBytes(3000);
    const put: V2Request = { method: 'PUT', target: `/${B}/presigned-v2` };
    const stored = await send({ method: 'PUT', target: presign(put, new Date(Date.now() + 60_000)), body });
    assert.equal(stored.status, 200, stored.body);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'presigned-v2' })).equals(body));

    await nothingStored(async () => {
      for (const [r, withBody] of [
        [get, false],
        [{ method: 'PUT', target: `/${B}/late` }, true],
      ] as const) {
        const res = await send({ method: r.method, target: presign(r, new Date(Date.now() - 1000)), ...(withBody ? { body } : {}) });
        refused(res, 403, 'AccessDenied');
        assert.match(res.body, /Request has expired/);
      }
      const forged = presign({ method: 'PUT', target: `/${B}/forged` }, new Date(Date.now() + 60_000), { secretKey: 'not-the-secret' });
      refused(await send({ method: 'PUT', target: forged, body }), 403, 'SignatureDoesNotMatch');
      // A URL signed for GET does not allow a PUT.
      refused(await send({ method: 'PUT', target: presign(get, new Date(Date.now() + 60_000)), body }), 403, 'SignatureDoesNotMatch');
    });
  });

  test('signed headers in the query (as botocore puts them) apply: SSE-KMS with a key, Content-Type, metadata', async () => {
    const inQuery: Record<string, string> = {
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY,
      'x-amz-meta-origin': 'query',
      'content-type': 'text/x-query',
    };
    const query = Object.entries(inQuery)
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join('&');
    // Signed as the headers they stand for.
    const put: V2Request = { method: 'PUT', target: `/${B}/query-headers?${query}`, headers: inQuery };
    const url = presign(put, new Date(Date.now() + 60_000));
    const body = randomBytes(4000);
    const stored = await send({ method: 'PUT', target: url, body });
    assert.equal(stored.status, 200, stored.body);
    assert.equal(stored.headers['x-amz-server-side-encryption'], 'aws:kms');
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'query-headers' }));
    assert.deepEqual(
      [head.ServerSideEncryption, head.SSEKMSKeyId, head.ContentType, head.Metadata?.origin],
      ['aws:kms', KMS_KEY, 'text/x-query', 'query'],
    );
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'query-headers' })).equals(body));
    await nothingStored(async () => {
      // They are signed: another key id in the same URL breaks the signature.
      const swapped = url.replace(`kms-key-id=${KMS_KEY}`, 'kms-key-id=kesgate-default').replace('query-headers', 'swapped');
      refused(await send({ method: 'PUT', target: swapped, body }), 403, 'SignatureDoesNotMatch');
    });
  });
});
