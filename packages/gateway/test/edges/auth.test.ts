// Requests a real gateway must refuse before it stores anything: bad and unknown credentials, stale
// clocks, expired presigned URLs, a replayed request carrying another payload, no signature at all.
// Each is sent by hand (raw HTTP, signed with @smithy/signature-v4) and must get AWS's status and
// error code; a snapshot of the whole store before and after proves nothing was written and that
// the gateway still answers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { getBytes } from '../helpers/s3.js';
import { errorCode, md5Base64, RawClient, sha256Hex, type RawResponse } from './raw.js';
import { snapshot } from './state.js';

const B = 'edges-auth';
const existing = randomBytes(1000);
let st: Stack;
let raw: RawClient;

before(async () => {
  st = await startStack();
  raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'existing', Body: existing }));
});
after(async () => st?.close());

function refused(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.body);
  assert.equal(errorCode(res.body), code, res.body);
}

/** Runs `attempt`, then checks that the store is exactly as before and the old object unchanged. */
async function nothingStored(attempt: () => Promise<void>): Promise<void> {
  const before = await snapshot(st.s3, st.dataDir);
  await attempt();
  assert.deepEqual(await snapshot(st.s3, st.dataDir), before, 'a refused request must leave the store as it was');
  assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'existing' })).equals(existing));
}

const body = Buffer.from('a body that must not be stored');
const put = (key: string) => ({ method: 'PUT', path: `/${B}/${key}`, body, headers: { 'content-md5': md5Base64(body) } });

describe('authentication edges against a running gateway', () => {
  test('a well-signed raw PUT is accepted (the baseline for the refusals below)', async () => {
    const res = await raw.signedSend(put('baseline'));
    assert.equal(res.status, 200, res.body);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'baseline' })).equals(body));
  });

  test('a signature that does not match → 403 SignatureDoesNotMatch, for a new key and an overwrite', async () => {
    await nothingStored(async () => {
      const headers = await raw.sign(put('forged'));
      const flipped = headers.authorization!.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
      refused(await raw.send({ ...put('forged'), headers: { ...headers, authorization: flipped } }), 403, 'SignatureDoesNotMatch');
      refused(await raw.signedSend(put('existing'), { secretKey: 'not-the-secret-key' }), 403, 'SignatureDoesNotMatch');
      // Signed for one key, sent to another.
      const moved = await raw.send({ ...put('elsewhere'), headers: await raw.sign(put('forged')) });
      refused(moved, 403, 'SignatureDoesNotMatch');
      assert.match(moved.body, /<StringToSign>AWS4-HMAC-SHA256\n/, 'the error says what the server signed');
    });
  });

  test('an unknown access key → 403 InvalidAccessKeyId naming the key', async () => {
    await nothingStored(async () => {
      const res = await raw.signedSend(put('existing'), { accessKey: 'AKIANOBODYHOME', secretKey: SECRET_KEY });
      refused(res, 403, 'InvalidAccessKeyId');
      assert.match(res.body, /<AWSAccessKeyId>AKIANOBODYHOME<\/AWSAccessKeyId>/);
    });
  });

  test('a clock more than 15 minutes off, either way → 403 RequestTimeTooSkewed', async () => {
    await nothingStored(async () => {
      for (const offset of [-16, 16, -24 * 60]) {
        const res = await raw.signedSend(put('skewed'), { date: new Date(Date.now() + offset * 60_000) });
        refused(res, 403, 'RequestTimeTooSkewed');
        assert.match(res.body, /<ServerTime>/);
      }
      // 14 minutes is within the allowance.
      const ok = await raw.signedSend({ method: 'GET', path: `/${B}/existing` }, { date: new Date(Date.now() - 14 * 60_000) });
      assert.equal(ok.status, 200, ok.body);
    });
  });

  test('an expired presigned URL → 403 AccessDenied, for GET and PUT; a fresh one works', async () => {
    const signingDate = new Date(Date.now() - 10 * 60_000);
    const getUrl = await getSignedUrl(st.s3, new GetObjectCommand({ Bucket: B, Key: 'existing' }), { expiresIn: 60, signingDate });
    const putUrl = await getSignedUrl(st.s3, new PutObjectCommand({ Bucket: B, Key: 'presigned' }), { expiresIn: 60, signingDate });
    await nothingStored(async () => {
      for (const [url, method] of [
        [getUrl, 'GET'],
        [putUrl, 'PUT'],
      ] as const) {
        const res = await fetch(url, { method, ...(method === 'PUT' ? { body } : {}) });
        const text = await res.text();
        assert.equal(res.status, 403, text);
        assert.equal(errorCode(text), 'AccessDenied');
        assert.match(text, /Request has expired/);
      }
    });
    const fresh = await fetch(await getSignedUrl(st.s3, new GetObjectCommand({ Bucket: B, Key: 'existing' }), { expiresIn: 60 }));
    assert.equal(fresh.status, 200);
    assert.ok(Buffer.from(await fresh.arrayBuffer()).equals(existing));
  });

  test('a replayed signed PUT carrying another payload → 400 XAmzContentSHA256Mismatch or 403 SignatureDoesNotMatch', async () => {
    const original = Buffer.from('the payload that was signed, 42 bytes long');
    const request = { method: 'PUT', path: `/${B}/replayed`, body: original };
    const headers = await raw.sign(request);
    assert.equal((await raw.send({ ...request, headers })).status, 200);
    const other = Buffer.alloc(original.length, 'x');
    await nothingStored(async () => {
      // The same signed headers, another body of the same length: the signed payload hash catches it.
      refused(await raw.send({ ...request, headers, body: other }), 400, 'XAmzContentSHA256Mismatch');
      // ...and rewriting the payload hash to match breaks the signature.
      refused(
        await raw.send({ ...request, headers: { ...headers, 'x-amz-content-sha256': sha256Hex(other) }, body: other }),
        403,
        'SignatureDoesNotMatch',
      );
      // A changed Content-Length with the old body cut short is no way around it either.
      const short = original.subarray(0, 10);
      const res = await raw.send({ ...request, headers: { ...headers, 'content-length': String(short.length) }, body: short });
      assert.ok(res.status === 400 || res.status === 403, res.body);
      assert.ok(['XAmzContentSHA256Mismatch', 'SignatureDoesNotMatch'].includes(errorCode(res.body) ?? ''), res.body);
    });
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'replayed' })).equals(original), 'the object still holds what was signed');
  });

  test('a request without any signature → 403 AccessDenied (PUT, GET, list, create bucket)', async () => {
    await nothingStored(async () => {
      refused(await raw.send({ method: 'PUT', path: `/${B}/anonymous`, body }), 403, 'AccessDenied');
      refused(await raw.send({ method: 'GET', path: `/${B}/existing` }), 403, 'AccessDenied');
      refused(await raw.send({ method: 'GET', path: `/${B}`, query: { 'list-type': '2' } }), 403, 'AccessDenied');
      refused(await raw.send({ method: 'PUT', path: '/anonymous-bucket' }), 403, 'AccessDenied');
      refused(await raw.send({ method: 'DELETE', path: `/${B}/existing` }), 403, 'AccessDenied');
    });
  });
});
