// Bucket CORS through real clients against a real gateway and kes: Put/Get/DeleteBucketCors with the AWS
// SDK v3, preflights (unsigned OPTIONS) and actual requests carrying Origin with fetch and hand-signed
// requests, a presigned PUT URL used the way a browser upload uses it, virtual-host addressing, and the
// gateway's own paths left alone. Every refusal checks the status and code the client received and that
// nothing changed (objects, data files, the bucket's CORS rules).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCorsCommand,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
  PutObjectCommand,
  type CORSRule,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { getBytes, s3Error } from '../helpers/s3.js';
import { tamperInlineRow } from '../helpers/inline-rows.js';
import { errorCode, md5Base64, RawClient, type RawResponse } from '../edges/raw.js';
import { snapshot } from '../edges/state.js';

const B = 'cors-bucket';
/** A bucket without any CORS configuration. */
const PLAIN = 'cors-plain';
/** A bucket whose one rule allows only GET from the app. */
const STRICT = 'cors-strict';
const DOMAIN = 's3.cors.test';
const APP = 'https://app.example';
const VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method';
const NOT_ALLOWED =
  "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

/** The rules of B: uploads from the app, reads from anywhere. */
const RULES: CORSRule[] = [
  {
    ID: 'app-uploads',
    AllowedOrigins: [APP, 'https://*.app.example'],
    AllowedMethods: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'],
    AllowedHeaders: ['Content-Type', 'x-amz-*'],
    ExposeHeaders: ['ETag', 'x-amz-request-id'],
    MaxAgeSeconds: 3000,
  },
  { AllowedOrigins: ['*'], AllowedMethods: ['GET', 'HEAD'] },
];

const existing = randomBytes(2000);
let st: Stack;
let raw: RawClient;

before(async () => {
  st = await startStack({ gateway: { domains: [DOMAIN] } });
  raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
  for (const Bucket of [B, PLAIN, STRICT]) {
    await st.s3.send(new CreateBucketCommand({ Bucket }));
    await st.s3.send(new PutObjectCommand({ Bucket, Key: 'existing', Body: existing }));
  }
  await st.s3.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: RULES } }));
  await st.s3.send(
    new PutBucketCorsCommand({ Bucket: STRICT, CORSConfiguration: { CORSRules: [{ AllowedOrigins: [APP], AllowedMethods: ['GET'] }] } }),
  );
});
after(async () => st?.close());

async function corsOf(Bucket: string): Promise<CORSRule[] | 'none'> {
  try {
    return (await st.s3.send(new GetBucketCorsCommand({ Bucket }))).CORSRules!;
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchCORSConfiguration') return 'none';
    throw e;
  }
}

/** Runs `attempt`; then the objects, data files and both buckets' CORS rules must be as before. */
async function nothingChanged(attempt: () => Promise<void>): Promise<void> {
  const before = { store: await snapshot(st.s3, st.dataDir), cors: await corsOf(B), plain: await corsOf(PLAIN) };
  await attempt();
  assert.deepEqual(
    { store: await snapshot(st.s3, st.dataDir), cors: await corsOf(B), plain: await corsOf(PLAIN) },
    before,
    'a refused request must change nothing',
  );
}

const url = (path: string): string => `${st.gw.url}${path}`;

function preflight(path: string, headers: Record<string, string>): Promise<Response> {
  return fetch(url(path), { method: 'OPTIONS', headers });
}

/** The Access-Control-* and Vary headers of a response, by lowercase name. */
function corsHeaders(h: Headers | http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const entries: [string, unknown][] = h instanceof Headers ? [...h.entries()] : Object.entries(h);
  for (const [name, value] of entries) if (/^(access-control-|vary$)/i.test(name)) out[name.toLowerCase()] = String(value);
  return out;
}

/** What B's first rule answers to an actual request from the app. */
const APP_ACTUAL = {
  'access-control-allow-origin': APP,
  'access-control-allow-methods': 'GET, PUT, POST, DELETE, HEAD',
  'access-control-expose-headers': 'ETag, x-amz-request-id',
  'access-control-max-age': '3000',
  'access-control-allow-credentials': 'true',
  vary: VARY,
};

async function refusedPreflight(res: Response, status: number, code: string, message: string): Promise<string> {
  const body = await res.text();
  assert.equal(res.status, status, body);
  assert.equal(errorCode(body), code, body);
  assert.ok(body.includes(`<Message>${message.replace(/'/g, '&apos;')}</Message>`) || body.includes(`<Message>${message}</Message>`), body);
  assert.deepEqual(corsHeaders(res.headers), {}, 'a refused preflight carries no CORS headers');
  return body;
}

describe('Put/Get/DeleteBucketCors (SDK v3)', () => {
  test('round trip: the rules come back as put; a new PUT replaces them; delete → 204, then NoSuchCORSConfiguration', async () => {
    const Bucket = 'cors-roundtrip';
    await st.s3.send(new CreateBucketCommand({ Bucket }));
    const none = await s3Error(st.s3.send(new GetBucketCorsCommand({ Bucket })));
    assert.deepEqual([none.status, none.code, none.message], [404, 'NoSuchCORSConfiguration', 'The CORS configuration does not exist']);

    const put = await st.s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: RULES } }));
    assert.equal(put.$metadata.httpStatusCode, 200);
    assert.deepEqual((await st.s3.send(new GetBucketCorsCommand({ Bucket }))).CORSRules, RULES);

    const replacement: CORSRule[] = [{ AllowedOrigins: ['http://localhost:5173'], AllowedMethods: ['PUT'], AllowedHeaders: ['*'] }];
    await st.s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: replacement } }));
    assert.deepEqual((await st.s3.send(new GetBucketCorsCommand({ Bucket }))).CORSRules, replacement);

    const del = await st.s3.send(new DeleteBucketCorsCommand({ Bucket }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    const gone = await s3Error(st.s3.send(new GetBucketCorsCommand({ Bucket })));
    assert.deepEqual([gone.status, gone.code], [404, 'NoSuchCORSConfiguration']);
    // Deleting what is not there is fine, as on AWS.
    assert.equal((await st.s3.send(new DeleteBucketCorsCommand({ Bucket }))).$metadata.httpStatusCode, 204);
  });

  test('invalid rules → 400 InvalidRequest / MalformedXML, the rules in place unchanged', async () => {
    const cases: [string, CORSRule[], string, RegExp][] = [
      [
        'an unsupported method',
        [{ AllowedOrigins: [APP], AllowedMethods: ['GET', 'PATCH'] }],
        'InvalidRequest',
        /^Found unsupported HTTP method in CORS config\. Unsupported method is PATCH$/,
      ],
      ['OPTIONS as a method', [{ AllowedOrigins: [APP], AllowedMethods: ['OPTIONS'] }], 'InvalidRequest', /Unsupported method is OPTIONS$/],
      [
        'two wildcards in an origin',
        [{ AllowedOrigins: ['https://*.example.*'], AllowedMethods: ['GET'] }],
        'InvalidRequest',
        /^AllowedOrigin "https:\/\/\*\.example\.\*" can not have more than one wildcard\.$/,
      ],
      [
        'two wildcards in a header',
        [{ AllowedOrigins: [APP], AllowedMethods: ['GET'], AllowedHeaders: ['x-*-*'] }],
        'InvalidRequest',
        /^AllowedHeader "x-\*-\*" can not have more than one wildcard\.$/,
      ],
      ['no rule', [], 'MalformedXML', /CORSRule/],
      [
        '101 rules',
        Array.from({ length: 101 }, () => ({ AllowedOrigins: [APP], AllowedMethods: ['GET'] })),
        'MalformedXML',
        /between 1 and 100/,
      ],
      ['a rule without origins', [{ AllowedOrigins: [], AllowedMethods: ['GET'] }], 'MalformedXML', /AllowedOrigin/],
      [
        'a negative MaxAgeSeconds',
        [{ AllowedOrigins: [APP], AllowedMethods: ['GET'], MaxAgeSeconds: -1 }],
        'MalformedXML',
        /MaxAgeSeconds/,
      ],
    ];
    await nothingChanged(async () => {
      for (const [what, CORSRules, code, message] of cases) {
        const r = await s3Error(st.s3.send(new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules } })));
        assert.deepEqual([r.status, r.code], [400, code], what);
        assert.match(r.message, message, what);
      }
    });
  });

  test('on a missing bucket → 404 NoSuchBucket for all three, and no bucket appears', async () => {
    await nothingChanged(async () => {
      for (const cmd of [
        new PutBucketCorsCommand({ Bucket: 'cors-missing', CORSConfiguration: { CORSRules: RULES } }),
        new GetBucketCorsCommand({ Bucket: 'cors-missing' }),
        new DeleteBucketCorsCommand({ Bucket: 'cors-missing' }),
      ]) {
        const r = await s3Error(st.s3.send(cmd as PutBucketCorsCommand));
        assert.deepEqual([r.status, r.code], [404, 'NoSuchBucket'], cmd.constructor.name);
      }
    });
  });

  test('a hand-made body: needs Content-MD5 or a checksum (InvalidRequest), is XML (MalformedXML), with Content-MD5 it is stored', async () => {
    const xml = `<CORSConfiguration><CORSRule><AllowedOrigin>${APP}</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`;
    const Bucket = 'cors-raw';
    await st.s3.send(new CreateBucketCommand({ Bucket }));
    const send = (body: string, headers: Record<string, string> = {}): Promise<RawResponse> =>
      raw.signedSend({ method: 'PUT', path: `/${Bucket}`, query: { cors: '' }, body, headers });
    await nothingChanged(async () => {
      const noDigest = await send(xml);
      assert.deepEqual([noDigest.status, errorCode(noDigest.body)], [400, 'InvalidRequest'], noDigest.body);
      assert.match(noDigest.body, /Content-MD5/);
      const notXml = await send('{"CORSRules": []}', { 'content-md5': md5Base64('{"CORSRules": []}') });
      assert.deepEqual([notXml.status, errorCode(notXml.body)], [400, 'MalformedXML'], notXml.body);
      const badDigest = await send(xml, { 'content-md5': md5Base64('something else') });
      assert.deepEqual([badDigest.status, errorCode(badDigest.body)], [400, 'BadDigest'], badDigest.body);
    });
    assert.equal(await corsOf(Bucket), 'none');
    const ok = await send(xml, { 'content-md5': md5Base64(xml) });
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(await corsOf(Bucket), [{ AllowedOrigins: [APP], AllowedMethods: ['GET'] }]);
    // GetBucketCors answers the document as AWS writes it.
    const get = await raw.signedSend({ method: 'GET', path: `/${Bucket}`, query: { cors: '' } });
    assert.equal(
      get.body,
      '<?xml version="1.0" encoding="UTF-8"?>\n<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        `<CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>${APP}</AllowedOrigin></CORSRule></CORSConfiguration>`,
    );
  });

  test('without a signature → 403, the rules unchanged (only preflights are unsigned)', async () => {
    await nothingChanged(async () => {
      for (const method of ['PUT', 'DELETE', 'GET']) {
        const res = await fetch(url(`/${B}?cors`), { method, ...(method === 'PUT' ? { body: '<CORSConfiguration/>' } : {}) });
        const body = await res.text();
        assert.equal(res.status, 403, body);
        assert.equal(errorCode(body), 'AccessDenied', body);
      }
    });
  });
});

describe('preflight (OPTIONS, unsigned)', () => {
  test('allowed: the first matching rule answers origin, its methods, the requested headers, expose, max age, credentials, Vary', async () => {
    const res = await preflight(`/${B}/uploads/photo.jpg`, {
      Origin: APP,
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'content-type,x-amz-date,X-Amz-Content-Sha256',
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(await res.text(), '');
    assert.deepEqual(corsHeaders(res.headers), {
      ...APP_ACTUAL,
      'access-control-allow-headers': 'content-type, x-amz-date, x-amz-content-sha256',
    });
    assert.ok(res.headers.get('x-amz-request-id'));
  });

  test('on the bucket itself, and from a subdomain matched by a wildcard origin', async () => {
    const res = await preflight(`/${B}`, { Origin: 'https://eu.app.example', 'Access-Control-Request-Method': 'POST' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://eu.app.example');
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  });

  test('wildcard origin (*): Allow-Origin *, no credentials, no max age', async () => {
    const res = await preflight(`/${B}/existing`, { Origin: 'https://anyone.example', 'Access-Control-Request-Method': 'GET' });
    assert.equal(res.status, 200);
    assert.deepEqual(corsHeaders(res.headers), {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET, HEAD',
      vary: VARY,
    });
  });

  test('wildcard header (x-amz-*) allows any x-amz- header; AllowedHeader * allows any header', async () => {
    const ok = await preflight(`/${B}/k`, {
      Origin: APP,
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'x-amz-meta-owner,x-amz-checksum-crc32',
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-headers'), 'x-amz-meta-owner, x-amz-checksum-crc32');
    await st.s3.send(new CreateBucketCommand({ Bucket: 'cors-star' }));
    await st.s3.send(
      new PutBucketCorsCommand({
        Bucket: 'cors-star',
        CORSConfiguration: { CORSRules: [{ AllowedOrigins: ['*'], AllowedMethods: ['PUT'], AllowedHeaders: ['*'], MaxAgeSeconds: 0 }] },
      }),
    );
    const any = await preflight('/cors-star/k', {
      Origin: 'null',
      'Access-Control-Request-Method': 'PUT',
      'Access-Control-Request-Headers': 'authorization,anything-at-all',
    });
    assert.equal(any.status, 200);
    assert.equal(any.headers.get('access-control-allow-headers'), 'authorization, anything-at-all');
    assert.equal(any.headers.get('access-control-max-age'), '0');
  });

  test('refusals: 400 without Origin or method, 403 for a wrong origin, method or header, no config, no bucket', async () => {
    await nothingChanged(async () => {
      await refusedPreflight(
        await preflight(`/${B}/k`, { 'Access-Control-Request-Method': 'PUT' }),
        400,
        'BadRequest',
        'Insufficient information. Origin request header needed.',
      );
      await refusedPreflight(await preflight(`/${B}/k`, {}), 400, 'BadRequest', 'Insufficient information. Origin request header needed.');
      await refusedPreflight(await preflight(`/${B}/k`, { Origin: APP }), 400, 'BadRequest', 'Invalid Access-Control-Request-Method: null');
      await refusedPreflight(
        await preflight(`/${B}/k`, { Origin: APP, 'Access-Control-Request-Method': 'PATCH' }),
        400,
        'BadRequest',
        'Invalid Access-Control-Request-Method: PATCH',
      );

      const wrongOrigin = await refusedPreflight(
        await preflight(`/${B}/k`, { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'PUT' }),
        403,
        'AccessForbidden',
        NOT_ALLOWED,
      );
      assert.match(wrongOrigin, /<Method>PUT<\/Method><ResourceType>OBJECT<\/ResourceType>/);
      // The scheme and the port are part of the origin.
      await refusedPreflight(
        await preflight(`/${B}/k`, { Origin: 'http://app.example', 'Access-Control-Request-Method': 'PUT' }),
        403,
        'AccessForbidden',
        NOT_ALLOWED,
      );
      await refusedPreflight(
        await preflight(`/${B}/k`, { Origin: 'https://app.example:8443', 'Access-Control-Request-Method': 'PUT' }),
        403,
        'AccessForbidden',
        NOT_ALLOWED,
      );
      // DELETE from anyone but the app: the * rule allows only GET and HEAD.
      await refusedPreflight(
        await preflight(`/${B}/k`, { Origin: 'https://anyone.example', 'Access-Control-Request-Method': 'DELETE' }),
        403,
        'AccessForbidden',
        NOT_ALLOWED,
      );
      // A header the rule does not list.
      await refusedPreflight(
        await preflight(`/${B}/k`, {
          Origin: APP,
          'Access-Control-Request-Method': 'PUT',
          'Access-Control-Request-Headers': 'content-type,x-custom-header',
        }),
        403,
        'AccessForbidden',
        NOT_ALLOWED,
      );
      // Any header from an origin only the * rule allows (it lists none).
      await refusedPreflight(
        await preflight(`/${B}/k`, {
          Origin: 'https://anyone.example',
          'Access-Control-Request-Method': 'GET',
          'Access-Control-Request-Headers': 'range',
        }),
        403,
        'AccessForbidden',
        NOT_ALLOWED,
      );

      const noConfig = await refusedPreflight(
        await preflight(`/${PLAIN}/existing`, { Origin: APP, 'Access-Control-Request-Method': 'GET' }),
        403,
        'AccessForbidden',
        'CORSResponse: CORS is not enabled for this bucket.',
      );
      assert.match(noConfig, /<Method>GET<\/Method><ResourceType>BUCKET<\/ResourceType>/);
      await refusedPreflight(
        await preflight('/cors-no-such-bucket/k', { Origin: APP, 'Access-Control-Request-Method': 'GET' }),
        403,
        'AccessForbidden',
        'CORSResponse: Bucket not found',
      );
      await refusedPreflight(
        await preflight('/', { Origin: APP, 'Access-Control-Request-Method': 'GET' }),
        403,
        'AccessForbidden',
        'CORSResponse: Bucket not found',
      );
    });
    // The gateway still answers preflights after the refusals.
    assert.equal((await preflight(`/${B}/k`, { Origin: APP, 'Access-Control-Request-Method': 'PUT' })).status, 200);
  });

  test('a deleted configuration stops answering preflights; putting it back restores them', async () => {
    const Bucket = 'cors-toggle';
    await st.s3.send(new CreateBucketCommand({ Bucket }));
    await st.s3.send(new PutBucketCorsCommand({ Bucket, CORSConfiguration: { CORSRules: RULES } }));
    const ask = () => preflight(`/${Bucket}/k`, { Origin: APP, 'Access-Control-Request-Method': 'PUT' });
    assert.equal((await ask()).status, 200);
    await st.s3.send(new DeleteBucketCorsCommand({ Bucket }));
    await refusedPreflight(await ask(), 403, 'AccessForbidden', 'CORSResponse: CORS is not enabled for this bucket.');
  });
});

describe('actual requests carrying Origin', () => {
  test('GET and PUT from an allowed origin answer with the CORS headers; the PUT is stored', async () => {
    const get = await raw.signedSend({ method: 'GET', path: `/${B}/existing`, headers: { origin: APP } });
    assert.equal(get.status, 200);
    assert.deepEqual(corsHeaders(get.headers), APP_ACTUAL);

    const body = randomBytes(500);
    const put = await raw.signedSend({ method: 'PUT', path: `/${B}/from-app`, headers: { origin: APP }, body });
    assert.equal(put.status, 200, put.body);
    assert.deepEqual(corsHeaders(put.headers), APP_ACTUAL);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'from-app' })).equals(body));
  });

  test('errors carry them too: 404 NoSuchKey, 403 SignatureDoesNotMatch, 403 unsigned', async () => {
    await nothingChanged(async () => {
      const missing = await raw.signedSend({ method: 'GET', path: `/${B}/no-such-key`, headers: { origin: APP } });
      assert.deepEqual([missing.status, errorCode(missing.body)], [404, 'NoSuchKey'], missing.body);
      assert.deepEqual(corsHeaders(missing.headers), APP_ACTUAL);

      const badSig = await raw.signedSend(
        { method: 'PUT', path: `/${B}/bad-sig`, headers: { origin: APP }, body: 'x' },
        { secretKey: 'not-the-secret' },
      );
      assert.deepEqual([badSig.status, errorCode(badSig.body)], [403, 'SignatureDoesNotMatch'], badSig.body);
      assert.deepEqual(corsHeaders(badSig.headers), APP_ACTUAL);

      const unsigned = await fetch(url(`/${B}/existing`), { headers: { Origin: 'https://anyone.example' } });
      assert.deepEqual([unsigned.status, errorCode(await unsigned.text())], [403, 'AccessDenied']);
      assert.deepEqual(corsHeaders(unsigned.headers), {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'GET, HEAD',
        vary: VARY,
      });
    });
  });

  test('without Origin, or not allowed by any rule: served as usual, without CORS headers', async () => {
    const none = (res: RawResponse, status: number, what: string): void => {
      assert.equal(res.status, status, `${what}: ${res.body}`);
      assert.deepEqual(corsHeaders(res.headers), {}, what);
    };
    none(await raw.signedSend({ method: 'GET', path: `/${B}/existing` }), 200, 'no Origin');
    none(
      await raw.signedSend({ method: 'GET', path: `/${STRICT}/existing`, headers: { origin: 'https://evil.example' } }),
      200,
      'an origin no rule allows',
    );
    // A stray Access-Control-Request-Method stands in for the method, as on S3.
    none(
      await raw.signedSend({
        method: 'GET',
        path: `/${STRICT}/existing`,
        headers: { origin: APP, 'access-control-request-method': 'PUT' },
      }),
      200,
      'ACRM PUT',
    );
    const missing = await raw.signedSend({ method: 'GET', path: `/${STRICT}/no-such-key`, headers: { origin: 'https://evil.example' } });
    none(missing, 404, 'an error for an origin no rule allows');
    assert.equal(errorCode(missing.body), 'NoSuchKey');

    // PUT where the rule allows only GET: S3 stores it and adds nothing.
    const body = randomBytes(100);
    none(
      await raw.signedSend({ method: 'PUT', path: `/${STRICT}/from-app`, headers: { origin: APP }, body }),
      200,
      'a method no rule allows',
    );
    assert.ok((await getBytes(st.s3, { Bucket: STRICT, Key: 'from-app' })).equals(body));

    none(await raw.signedSend({ method: 'GET', path: `/${PLAIN}/existing`, headers: { origin: APP } }), 200, 'no configuration');
    const plainMissing = await raw.signedSend({ method: 'GET', path: `/${PLAIN}/no-such-key`, headers: { origin: APP } });
    none(plainMissing, 404, 'an error without configuration');
    assert.equal(errorCode(plainMissing.body), 'NoSuchKey');
    const noBucket = await raw.signedSend({ method: 'GET', path: '/cors-no-such-bucket/k', headers: { origin: APP } });
    none(noBucket, 404, 'no bucket');
    assert.equal(errorCode(noBucket.body), 'NoSuchBucket');
  });

  test('a GET whose object fails authentication (500) keeps its CORS headers, in a data file or inline', async () => {
    // 10,000 bytes store 10,032, above the default inline threshold: this object has a data file to damage.
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'tampered', Body: Buffer.alloc(10_000, 7) }));
    const part = (await st.gw.svc.store.getObject(B, 'tampered'))!.parts[0]!;
    assert.equal(part.inline, undefined);
    const file = join(st.dataDir, 'data', part.dataId.slice(0, 2), part.dataId);
    const bytes = readFileSync(file);
    bytes[100]! ^= 1;
    writeFileSync(file, bytes);
    // A small object is inline: its bytes are damaged in its metadata row.
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'tampered-inline', Body: Buffer.alloc(1000, 7) }));
    await tamperInlineRow(st.gw.svc.store, B, 'tampered-inline', (stored) => {
      stored[100]! ^= 1;
      return stored;
    });
    for (const Key of ['tampered', 'tampered-inline']) {
      const res = await raw.signedSend({ method: 'GET', path: `/${B}/${Key}`, headers: { origin: APP } });
      assert.deepEqual([res.status, errorCode(res.body)], [500, 'InternalError'], res.body);
      assert.deepEqual(corsHeaders(res.headers), APP_ACTUAL);
      assert.equal(res.headers.etag, undefined, "the object's own headers are gone from the error");
    }
  });

  test('a presigned PUT URL used with Origin, as a browser upload does: preflight, PUT, CORS headers on both', async () => {
    const body = randomBytes(3000);
    const signed = await getSignedUrl(st.s3, new PutObjectCommand({ Bucket: B, Key: 'presigned-upload', ContentType: 'image/jpeg' }), {
      expiresIn: 300,
    });
    const pre = await fetch(signed, {
      method: 'OPTIONS',
      headers: { Origin: APP, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type');
    const put = await fetch(signed, { method: 'PUT', body, headers: { Origin: APP, 'Content-Type': 'image/jpeg' } });
    assert.equal(put.status, 200, await put.clone().text());
    assert.deepEqual(corsHeaders(put.headers), APP_ACTUAL);
    assert.ok(put.headers.get('etag'));
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'presigned-upload' })).equals(body));

    // A tampered presigned URL: refused, and the browser can read why.
    await nothingChanged(async () => {
      const bad = signed.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000');
      const res = await fetch(bad, { method: 'PUT', body: 'other', headers: { Origin: APP, 'Content-Type': 'image/jpeg' } });
      assert.deepEqual([res.status, errorCode(await res.text())], [403, 'SignatureDoesNotMatch']);
      assert.deepEqual(corsHeaders(res.headers), APP_ACTUAL);
    });
  });
});

describe('addressing', () => {
  /** A request to the gateway with a Host header of our choosing (virtual-host style). */
  function viaHost(host: string, method: string, path: string, headers: Record<string, string>): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: st.gw.httpPort, method, path, headers: { ...headers, host }, agent: false },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  test('virtual-host style: the bucket comes from the Host header, for preflights and actual requests', async () => {
    const host = `${B}.${DOMAIN}:${st.gw.httpPort}`;
    const pre = await viaHost(host, 'OPTIONS', '/uploads/a.jpg', { origin: APP, 'access-control-request-method': 'PUT' });
    assert.equal(pre.status, 200, pre.body);
    assert.equal(pre.headers['access-control-allow-origin'], APP);
    const plain = await viaHost(`${PLAIN}.${DOMAIN}`, 'OPTIONS', '/a.jpg', { origin: APP, 'access-control-request-method': 'PUT' });
    assert.deepEqual([plain.status, errorCode(plain.body)], [403, 'AccessForbidden']);
    // An unsigned GET is refused, with the bucket's CORS headers so the page can read the refusal.
    const get = await viaHost(host, 'GET', '/existing', { origin: APP });
    assert.deepEqual([get.status, errorCode(get.body)], [403, 'AccessDenied']);
    assert.deepEqual(corsHeaders(get.headers), APP_ACTUAL);
  });

  test("the gateway's own paths (/kesgate/...) are not buckets: no preflight answer, no CORS headers", async () => {
    const health = await fetch(url('/kesgate/health'), { headers: { Origin: APP } });
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
    assert.deepEqual(corsHeaders(health.headers), {});
    const options = await preflight('/kesgate/admin/v1/status', { Origin: APP, 'Access-Control-Request-Method': 'GET' });
    const body = await options.text();
    assert.equal(options.status, 403, body);
    assert.equal(errorCode(body), 'AccessDenied', 'refused by authentication, as before CORS existed');
    assert.deepEqual(corsHeaders(options.headers), {});
  });
});
