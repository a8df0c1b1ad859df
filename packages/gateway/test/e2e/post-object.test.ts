// POST Object (browser form uploads) against a real gateway and kes: forms made by the SDK v3's
// @aws-sdk/s3-presigned-post and posted with Node's fetch/FormData (https.request where a CA or a Host
// header is needed), plus a hand-signed SigV2 form. What is stored is read back through the SDK and
// checked at rest: the plaintext is in no file of the data directory, the SSE mode is the one asked for.
// Every refusal: AWS's status and code, and a snapshot of the store shows nothing was written.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutBucketEncryptionCommand, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost, type PresignedPostOptions } from '@aws-sdk/s3-presigned-post';
import type { StoredSSE } from '../../src/sse/types.js';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { exists, getBytes, ssec } from '../helpers/s3.js';
import { errorCode } from '../edges/raw.js';
import { snapshot } from '../edges/state.js';

const B = 'post-forms';
const KMS_KEY = 'tenant-post';
const DOMAIN = 's3.kesgate.test';
let st: Stack;

before(async () => {
  st = await startStack({ keys: [KMS_KEY], gateway: { domains: [DOMAIN] } });
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(async () => st?.close());

/** Distinctive plaintext: any 64-byte window of it found on disk is a leak. */
function plaintext(bytes: number): Buffer {
  const marker = `POST-PLAINTEXT-${randomBytes(8).toString('hex')}-`;
  return Buffer.from(marker.repeat(Math.ceil(bytes / marker.length)).slice(0, bytes));
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** Reads the object back through the SDK and checks how it is stored: encrypted as asked, no plaintext on disk. */
async function storedEncrypted(
  key: string,
  plain: Buffer,
  sse: StoredSSE['sse'],
  kmsKey?: string,
  client: S3Client = st.s3,
  read: object = {},
): Promise<void> {
  assert.ok((await getBytes(client, { Bucket: B, Key: key, ...read })).equals(plain), `${key} reads back as posted`);
  const record = await st.gw.svc.store.getObject(B, key);
  const stored = record!.sse;
  assert.equal(stored.sse, sse);
  if (kmsKey !== undefined) assert.equal(stored.kmsKey, kmsKey);
  for (const f of files(st.dataDir)) {
    const bytes = readFileSync(f);
    for (let i = 0; i + 64 <= plain.length; i += 61)
      assert.equal(bytes.indexOf(plain.subarray(i, i + 64)), -1, `plaintext of ${key} found in ${f}`);
  }
}

interface Reply {
  status: number;
  headers: Headers;
  body: string;
}

function form(fields: Record<string, string>, file?: { data: Buffer; name?: string }, after: Record<string, string> = {}): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  if (file) {
    const blob = new Blob([new Uint8Array(file.data)]);
    if (file.name === undefined) fd.append('file', blob);
    else fd.append('file', blob, file.name);
  }
  for (const [k, v] of Object.entries(after)) fd.append(k, v);
  return fd;
}

async function post(url: string, fd: FormData): Promise<Reply> {
  const res = await fetch(url, { method: 'POST', body: fd, redirect: 'manual' });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** The form as bytes, sent with https.request/http.request: for a CA of our own or a Host header of our choosing. */
async function postRaw(o: { tls?: boolean; host?: string; path: string }, fd: FormData): Promise<Reply> {
  const encoded = new Request('http://form.invalid/', { method: 'POST', body: fd });
  const body = Buffer.from(await encoded.arrayBuffer());
  const port = o.tls ? st.gw.httpsPort! : st.gw.httpPort;
  const headers = {
    'content-type': encoded.headers.get('content-type')!,
    'content-length': String(body.length),
    host: o.host ?? `127.0.0.1:${port}`,
  };
  const lib = o.tls ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      { host: '127.0.0.1', port, method: 'POST', path: o.path, headers, agent: false, ...(o.tls ? { ca: st.caPem } : {}) },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(parts).toString('utf8') });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function presigned(options: Partial<PresignedPostOptions> & { Key: string }, client: S3Client = st.s3) {
  return createPresignedPost(client, { Bucket: B, ...options });
}

function refused(r: Reply, status: number, code: string, message?: RegExp): void {
  assert.equal(r.status, status, r.body);
  assert.equal(errorCode(r.body), code, r.body);
  // Matched against the text of the XML: entities (&quot; &apos; &amp; &lt; &gt;) decoded.
  const text = r.body.replace(/&(quot|apos|amp|lt|gt);/g, (_, e: string) => ({ quot: '"', apos: "'", amp: '&', lt: '<', gt: '>' })[e]!);
  if (message) assert.match(text, message);
}

async function nothingStored(attempt: () => Promise<void>): Promise<void> {
  const before = await snapshot(st.s3, st.dataDir);
  await attempt();
  assert.deepEqual(await snapshot(st.s3, st.dataDir), before, 'a refused upload must leave the store as it was');
}

describe('POST Object: forms made by @aws-sdk/s3-presigned-post', () => {
  test('SSE-S3 by default, ${filename} in the key, 204 with ETag and Location; encrypted at rest', async () => {
    const plain = plaintext(150_000);
    const { url, fields } = await presigned({ Key: 'uploads/${filename}', Conditions: [['content-length-range', 1, 1_000_000]] });
    const r = await post(url, form(fields, { data: plain, name: 'C:\\photos\\holiday.jpg' }));
    assert.equal(r.status, 204, r.body);
    assert.equal(r.headers.get('etag'), `"${createHash('md5').update(plain).digest('hex')}"`);
    assert.equal(r.headers.get('location'), `${st.gw.url}/${B}/uploads/holiday.jpg`);
    assert.equal(r.headers.get('x-amz-server-side-encryption'), 'AES256');
    await storedEncrypted('uploads/holiday.jpg', plain, 'SSE-S3');
  });

  test('SSE-KMS with a named key, metadata, Content-Type, Cache-Control; success_action_status 201 → PostResponse', async () => {
    const plain = plaintext(70_000);
    const { url, fields } = await presigned({
      Key: 'kms/report.txt',
      Fields: {
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': KMS_KEY,
        'x-amz-meta-owner': 'Zoë',
        'Content-Type': 'text/plain',
        'Cache-Control': 'max-age=60',
        success_action_status: '201',
      },
    });
    const r = await post(url, form(fields, { data: plain, name: 'report.txt' }));
    assert.equal(r.status, 201, r.body);
    assert.match(
      r.body,
      new RegExp(
        `^<\\?xml version="1.0" encoding="UTF-8"\\?>\\n<PostResponse><Location>${st.gw.url}/${B}/kms/report.txt</Location><Bucket>${B}</Bucket><Key>kms/report.txt</Key><ETag>&quot;[0-9a-f]{32}&quot;</ETag></PostResponse>$`,
      ),
    );
    assert.equal(r.headers.get('x-amz-server-side-encryption'), 'aws:kms');
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'kms/report.txt' }));
    assert.deepEqual(
      [head.ServerSideEncryption, head.SSEKMSKeyId, head.ContentType, head.CacheControl, head.Metadata?.owner],
      ['aws:kms', KMS_KEY, 'text/plain', 'max-age=60', Buffer.from('Zoë', 'utf8').toString('latin1')],
    );
    await storedEncrypted('kms/report.txt', plain, 'SSE-KMS', KMS_KEY);
  });

  test('a bucket-key field: the object is written under a bucket key and says so; a bad value is refused', async () => {
    const plain = plaintext(20_000);
    const { url, fields } = await presigned({
      Key: 'bk/one',
      Fields: { 'x-amz-server-side-encryption': 'AES256', 'x-amz-server-side-encryption-bucket-key-enabled': 'true' },
    });
    const r = await post(url, form(fields, { data: plain, name: 'one' }));
    assert.equal(r.status, 204, r.body);
    assert.equal(r.headers.get('x-amz-server-side-encryption-bucket-key-enabled'), 'true');
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'bk/one' }));
    assert.deepEqual([head.ServerSideEncryption, head.BucketKeyEnabled], ['AES256', true]);
    assert.ok(((await st.gw.svc.store.getObject(B, 'bk/one'))!.sse as { bucketKey?: unknown }).bucketKey);
    const bad = await presigned({ Key: 'bk/bad', Fields: { 'x-amz-server-side-encryption-bucket-key-enabled': 'maybe' } });
    const refused = await post(bad.url, form(bad.fields, { data: plain, name: 'bad' }));
    assert.equal(refused.status, 400, refused.body);
    assert.match(refused.body, /<Code>InvalidArgument<\/Code>/);
    assert.equal(await st.gw.svc.store.getObject(B, 'bk/bad'), undefined);
  });

  test("without SSE fields the bucket's default encryption applies; success_action_status 200 → empty 200", async () => {
    const bucket = 'post-default-kms';
    await st.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await st.s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KMS_KEY } }],
        },
      }),
    );
    const plain = plaintext(5000);
    const { url, fields } = await createPresignedPost(st.s3, { Bucket: bucket, Key: 'd.bin', Fields: { success_action_status: '200' } });
    const r = await post(url, form(fields, { data: plain, name: 'd.bin' }));
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, '');
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'd.bin' }));
    assert.deepEqual([head.ServerSideEncryption, head.SSEKMSKeyId], ['aws:kms', KMS_KEY]);
    assert.equal((await st.gw.svc.store.getObject(bucket, 'd.bin'))!.sse.kmsKey, KMS_KEY);
  });

  test('success_action_redirect → 303 to that URL with bucket, key and etag', async () => {
    const plain = plaintext(1000);
    const { url, fields } = await presigned({
      Key: 'redirected',
      Fields: { success_action_redirect: 'https://app.example/done?from=form' },
    });
    const r = await post(url, form(fields, { data: plain, name: 'x' }));
    assert.equal(r.status, 303, r.body);
    const to = new URL(r.headers.get('location')!);
    assert.equal(`${to.origin}${to.pathname}`, 'https://app.example/done');
    assert.deepEqual(Object.fromEntries(to.searchParams), {
      from: 'form',
      bucket: B,
      key: 'redirected',
      etag: `"${createHash('md5').update(plain).digest('hex')}"`,
    });
    await storedEncrypted('redirected', plain, 'SSE-S3');
  });

  test('virtual-host-style: POST / to <bucket>.<domain>', async () => {
    const plain = plaintext(3000);
    const { fields } = await presigned({ Key: 'vhost.bin' });
    const r = await postRaw({ path: '/', host: `${B}.${DOMAIN}:${st.gw.httpPort}` }, form(fields, { data: plain, name: 'v' }));
    assert.equal(r.status, 204, r.body);
    assert.equal(r.headers.get('location'), `http://${B}.${DOMAIN}:${st.gw.httpPort}/vhost.bin`);
    await storedEncrypted('vhost.bin', plain, 'SSE-S3');
  });

  test('SSE-C fields: stored under the customer key over HTTPS; over plain HTTP → 400 InvalidRequest', async () => {
    const k = ssec();
    const ssecFields = {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key': k.put.SSECustomerKey,
      'x-amz-server-side-encryption-customer-key-MD5': k.put.SSECustomerKeyMD5,
    };
    const plain = plaintext(20_000);
    const tls = await presigned({ Key: 'ssec.bin', Fields: ssecFields }, st.s3tls);
    const r = await postRaw({ tls: true, path: `/${B}` }, form(tls.fields, { data: plain, name: 's' }));
    assert.equal(r.status, 204, r.body);
    assert.equal(r.headers.get('x-amz-server-side-encryption-customer-algorithm'), 'AES256');
    await storedEncrypted('ssec.bin', plain, 'SSE-C', undefined, st.s3tls, k.put);

    const plainHttp = await presigned({ Key: 'ssec-http.bin', Fields: ssecFields });
    await nothingStored(async () => {
      refused(await post(plainHttp.url, form(plainHttp.fields, { data: plain, name: 's' })), 400, 'InvalidRequest', /secure connection/);
    });
  });

  test('a hand-signed SigV2 form (AWSAccessKeyId, signature over the policy)', async () => {
    const plain = plaintext(4000);
    const policy = Buffer.from(
      JSON.stringify({
        expiration: new Date(Date.now() + 600_000).toISOString(),
        conditions: [{ bucket: B }, ['starts-with', '$key', 'v2/'], ['content-length-range', 0, 10_000]],
      }),
    ).toString('base64');
    const fields = {
      key: 'v2/${filename}',
      AWSAccessKeyId: ACCESS_KEY,
      policy,
      signature: createHmac('sha1', SECRET_KEY).update(policy).digest('base64'),
    };
    const r = await post(`${st.gw.url}/${B}`, form(fields, { data: plain, name: 'two.bin' }, { submit: 'Upload' }));
    assert.equal(r.status, 204, r.body);
    await storedEncrypted('v2/two.bin', plain, 'SSE-S3');
    await nothingStored(async () => {
      const forged = { ...fields, key: 'v2/forged', signature: createHmac('sha1', 'not-the-secret').update(policy).digest('base64') };
      refused(await post(`${st.gw.url}/${B}`, form(forged, { data: plain, name: 'f' })), 403, 'SignatureDoesNotMatch');
    });
  });

  test('a text-area "file" (no file name) is stored too; fields after the file are ignored', async () => {
    const { url, fields } = await presigned({ Key: 'note.txt' });
    const fd = form(fields);
    fd.append('file', 'Your blog post goes here.');
    fd.append('x-amz-meta-after', 'ignored');
    const r = await post(url, fd);
    assert.equal(r.status, 204, r.body);
    assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'note.txt' })).toString(), 'Your blog post goes here.');
    assert.equal((await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'note.txt' }))).Metadata?.after, undefined);
  });
});

describe('POST Object refusals: AWS status and code, nothing written', () => {
  const data = Buffer.from('bytes that must not be stored');

  test('content-length-range: larger → 400 EntityTooLarge, smaller → 400 EntityTooSmall', async () => {
    const { url, fields } = await presigned({ Key: 'sized', Conditions: [['content-length-range', 10, 1000]] });
    await nothingStored(async () => {
      refused(
        await post(url, form(fields, { data: randomBytes(1001), name: 'big' })),
        400,
        'EntityTooLarge',
        /<MaxSizeAllowed>1000<\/MaxSizeAllowed>/,
      );
      refused(
        await post(url, form(fields, { data: randomBytes(9), name: 'small' })),
        400,
        'EntityTooSmall',
        /<MinSizeAllowed>10<\/MinSizeAllowed>/,
      );
    });
    assert.equal(await exists(st.s3, B, 'sized'), false);
  });

  test('an expired policy → 403 AccessDenied "Policy expired."', async () => {
    const { url, fields } = await presigned({ Key: 'late', Expires: -60 });
    await nothingStored(async () => {
      refused(await post(url, form(fields, { data, name: 'late' })), 403, 'AccessDenied', /Invalid according to Policy: Policy expired\./);
    });
  });

  test('a tampered policy → 403 SignatureDoesNotMatch', async () => {
    const { url, fields } = await presigned({ Key: 'limited', Conditions: [['content-length-range', 0, 10]] });
    const policy = JSON.parse(Buffer.from(fields.Policy!, 'base64').toString()) as { conditions: unknown[] };
    policy.conditions = policy.conditions.map((c) =>
      Array.isArray(c) && c[0] === 'content-length-range' ? ['content-length-range', 0, 1_000_000] : c,
    );
    const tampered = { ...fields, Policy: Buffer.from(JSON.stringify(policy)).toString('base64') };
    await nothingStored(async () => {
      refused(await post(url, form(tampered, { data, name: 'x' })), 403, 'SignatureDoesNotMatch');
    });
  });

  test('a field that fails its condition, or a field no condition names → 403 AccessDenied', async () => {
    const { url, fields } = await presigned({ Key: 'inbox/${filename}', Fields: { 'x-amz-meta-team': 'blue' } });
    await nothingStored(async () => {
      refused(
        await post(url, form({ ...fields, key: 'elsewhere/x' }, { data, name: 'x' })),
        403,
        'AccessDenied',
        /Policy Condition failed: \["starts-with", "\$key", "inbox\/"\]/,
      );
      refused(
        await post(url, form({ ...fields, 'x-amz-meta-team': 'red' }, { data, name: 'x' })),
        403,
        'AccessDenied',
        /Policy Condition failed/,
      );
      refused(
        await post(url, form({ ...fields, 'x-amz-server-side-encryption': 'AES256' }, { data, name: 'x' })),
        403,
        'AccessDenied',
        /Extra input fields: x-amz-server-side-encryption/,
      );
    });
  });

  test('an unknown access key → 403 InvalidAccessKeyId; a form for another bucket → 403 AccessDenied', async () => {
    const stranger = new S3Client({
      endpoint: st.gw.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIANOBODYHOME', secretAccessKey: SECRET_KEY },
    });
    const { url, fields } = await presigned({ Key: 'stranger' }, stranger);
    stranger.destroy();
    const other = await createPresignedPost(st.s3, { Bucket: 'post-default-kms', Key: 'moved' });
    await nothingStored(async () => {
      refused(await post(url, form(fields, { data, name: 'x' })), 403, 'InvalidAccessKeyId');
      refused(
        await post(`${st.gw.url}/${B}`, form(other.fields, { data, name: 'x' })),
        403,
        'AccessDenied',
        /\["eq", "\$bucket", "post-default-kms"\]/,
      );
    });
  });

  test('missing key, file or policy; a malformed body; a form POST to an object; a missing bucket', async () => {
    const { url, fields } = await presigned({ Key: 'incomplete' });
    const withoutKey = Object.fromEntries(Object.entries(fields).filter(([k]) => k !== 'key'));
    const withoutPolicy = Object.fromEntries(Object.entries(fields).filter(([k]) => k !== 'Policy' && !k.startsWith('X-Amz-')));
    await nothingStored(async () => {
      refused(await post(url, form(withoutKey, { data, name: 'x' })), 400, 'InvalidArgument', /must contain a field named 'key'/);
      refused(await post(url, form(fields)), 400, 'IncorrectNumberOfFilesInPostRequest');
      refused(await post(url, form(withoutPolicy, { data, name: 'x' })), 403, 'AccessDenied');
      // A valid form cut off inside the file: the part of the file that came must not be stored.
      const whole = new Request(url, { method: 'POST', body: form(fields, { data: randomBytes(5000), name: 'x' }) });
      const bytes = Buffer.from(await whole.arrayBuffer());
      const truncated = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': whole.headers.get('content-type')! },
        body: bytes.subarray(0, bytes.length - 100),
      });
      refused({ status: truncated.status, headers: truncated.headers, body: await truncated.text() }, 400, 'MalformedPOSTRequest');
      // Only POST /bucket is a form upload: to an object path it needs a signature like any request.
      refused(await post(`${url}/some-key`, form(fields, { data, name: 'x' })), 403, 'AccessDenied');
      // Unsigned and not multipart/form-data: not a form upload either.
      const urlencoded = await fetch(url, { method: 'POST', body: new URLSearchParams({ key: 'x' }) });
      refused({ status: urlencoded.status, headers: urlencoded.headers, body: await urlencoded.text() }, 403, 'AccessDenied');
      const missing = await createPresignedPost(st.s3, { Bucket: 'no-such-bucket-here', Key: 'k' });
      refused(await post(missing.url, form(missing.fields, { data, name: 'x' })), 404, 'NoSuchBucket');
    });
  });
});
