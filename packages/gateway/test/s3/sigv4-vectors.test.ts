// SigV4 against AWS's published examples. Every expected value below is AWS's (the SigV4 test
// suite and the S3 API reference pages), written here by hand — none is produced by this code.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  canonicalHeaders,
  canonicalQueryString,
  canonicalRequest,
  canonicalUriCandidates,
  credentialScope,
  deriveSigningKey,
  EMPTY_SHA256,
  sha256Hex,
  signatureHex,
  stringToSign,
  uriEncode,
} from '../../src/s3/auth/canonical.js';
import { SigV4Verifier, type SigV4Request } from '../../src/s3/auth/sigv4.js';
import { AwsChunkedDecoder } from '../../src/s3/auth/chunked.js';
import { S3Error } from '../../src/s3/errors.js';

// ---- the generic SigV4 test suite (aws-sig-v4-test-suite, service "service") ----
const SUITE_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SUITE_DATE = '20150830T123600Z';

function suiteSignature(method: string, rawUrl: string): { canonical: string; signature: string } {
  const q = rawUrl.indexOf('?');
  const path = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const query = q >= 0 ? rawUrl.slice(q + 1) : '';
  const headers = { host: ['example.amazonaws.com'], 'x-amz-date': [SUITE_DATE] };
  const signed = ['host', 'x-amz-date'];
  const canonical = canonicalRequest({
    method,
    canonicalUri: canonicalUriCandidates(path)[0]!,
    canonicalQuery: canonicalQueryString(query),
    canonicalHeaders: canonicalHeaders(headers, signed),
    signedHeaders: signed,
    payloadHash: EMPTY_SHA256,
  });
  const scope = credentialScope('20150830', 'us-east-1', 'service');
  const key = deriveSigningKey(SUITE_SECRET, '20150830', 'us-east-1', 'service');
  return { canonical, signature: signatureHex(key, stringToSign(SUITE_DATE, scope, canonical)) };
}

describe('SigV4 test suite (service "service", 20150830T123600Z)', () => {
  it('get-vanilla: canonical request, string to sign and signature', () => {
    const { canonical, signature } = suiteSignature('GET', '/');
    assert.equal(canonical, 'GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n' + EMPTY_SHA256);
    assert.equal(
      stringToSign(SUITE_DATE, '20150830/us-east-1/service/aws4_request', canonical),
      'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63',
    );
    assert.equal(signature, '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  });

  it('get-vanilla-query-order-key-case: the query is sorted', () => {
    assert.equal(
      suiteSignature('GET', '/?Param2=value2&Param1=value1').signature,
      'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    );
  });

  it('get-utf8: a percent-encoded UTF-8 path is signed as sent', () => {
    assert.equal(suiteSignature('GET', '/%E1%88%B4').signature, '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85');
  });

  it('post-vanilla', () => {
    assert.equal(suiteSignature('POST', '/').signature, '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b');
  });
});

describe('URI encoding and the canonical query', () => {
  it('keeps only RFC 3986 unreserved characters', () => {
    assert.equal(uriEncode("a b+c=d&e/f~g!h'i(j)k*l"), 'a%20b%2Bc%3Dd%26e%2Ff~g%21h%27i%28j%29k%2Al');
    assert.equal(uriEncode('a/b', false), 'a/b');
    assert.equal(uriEncode('ключ'), '%D0%BA%D0%BB%D1%8E%D1%87');
  });

  it('sorts by name then value, gives bare names an empty value, re-encodes each component', () => {
    assert.equal(canonicalQueryString('uploads'), 'uploads=');
    assert.equal(canonicalQueryString('b=2&a=2&a=1&A=0'), 'A=0&a=1&a=2&b=2');
    assert.equal(canonicalQueryString('prefix=a%2Fb&delimiter=/'), 'delimiter=%2F&prefix=a%2Fb');
    assert.equal(canonicalQueryString('prefix=%4a'), 'prefix=J');
    assert.equal(canonicalQueryString('prefix=a+b'), 'prefix=a%20b');
    assert.equal(
      canonicalQueryString('prefix=a+b', () => false, false),
      'prefix=a%2Bb',
    );
  });

  it('offers the raw path first and the fully encoded path second, only when they differ', () => {
    assert.deepEqual(canonicalUriCandidates('/b/a%20b'), ['/b/a%20b']);
    assert.deepEqual(canonicalUriCandidates('/test$file.text'), ['/test$file.text', '/test%24file.text']);
    assert.deepEqual(canonicalUriCandidates('/b/a%2fb'), ['/b/a%2fb', '/b/a%2Fb']);
    assert.deepEqual(canonicalUriCandidates('/b//x'), ['/b//x']);
  });
});

// ---- S3's own examples ("Signature Calculations for the Authorization Header", query auth, chunked) ----
const S3_ACCESS = 'AKIAIOSFODNN7EXAMPLE';
const S3_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const S3_TIME = new Date('2013-05-24T00:00:00Z');

function docVerifier(now = S3_TIME): SigV4Verifier {
  return new SigV4Verifier({ lookup: (k) => (k === S3_ACCESS ? S3_SECRET : undefined), region: 'us-east-1', now: () => now });
}

function request(method: string, url: string, headers: Record<string, string>): SigV4Request {
  return { method, url, headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [v]])) };
}

function authorization(signedHeaders: string, signature: string): string {
  return `AWS4-HMAC-SHA256 Credential=${S3_ACCESS}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signedHeaders},Signature=${signature}`;
}

function expectS3Error(fn: () => unknown, code: string): S3Error {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof S3Error, `expected an S3Error, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

const getObject = (signature = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41'): SigV4Request =>
  request('GET', '/test.txt', {
    host: 'examplebucket.s3.amazonaws.com',
    range: 'bytes=0-9',
    'x-amz-content-sha256': EMPTY_SHA256,
    'x-amz-date': '20130524T000000Z',
    authorization: authorization('host;range;x-amz-content-sha256;x-amz-date', signature),
  });

describe('S3 documentation examples', () => {
  it('GET Object with Range verifies, and yields the signing context', () => {
    const result = docVerifier().verify(getObject());
    assert.equal(result.accessKey, S3_ACCESS);
    assert.equal(result.payloadMode, 'signed');
    assert.equal(result.declaredSha256, EMPTY_SHA256);
    assert.equal(result.scope, '20130524/us-east-1/s3/aws4_request');
    assert.equal(result.seedSignature, 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
    assert.equal(JSON.stringify(result).includes('signingKey'), false, 'the signing key is not enumerable');
  });

  it('a wrong signature reports the documented canonical request and string to sign', () => {
    const err = expectS3Error(() => docVerifier().verify(getObject('0'.repeat(64))), 'SignatureDoesNotMatch');
    assert.equal(err.status, 403);
    assert.equal(
      err.extra?.CanonicalRequest,
      `GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:${EMPTY_SHA256}\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n${EMPTY_SHA256}`,
    );
    assert.equal(
      err.extra?.StringToSign,
      'AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972',
    );
  });

  it('PUT Object: "$" in the key, sent raw or encoded', () => {
    const body = 'Welcome to Amazon S3.';
    assert.equal(sha256Hex(body), '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
    for (const path of ['/test$file.text', '/test%24file.text']) {
      const result = docVerifier().verify(
        request('PUT', path, {
          host: 'examplebucket.s3.amazonaws.com',
          date: 'Fri, 24 May 2013 00:00:00 GMT',
          'x-amz-date': '20130524T000000Z',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY',
          'x-amz-content-sha256': sha256Hex(body),
          authorization: authorization(
            'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
            '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
          ),
        }),
      );
      assert.equal(result.declaredSha256, sha256Hex(body));
    }
  });

  it('GET Bucket lifecycle and GET Bucket (list objects) with a query', () => {
    const base = { host: 'examplebucket.s3.amazonaws.com', 'x-amz-date': '20130524T000000Z', 'x-amz-content-sha256': EMPTY_SHA256 };
    const signed = 'host;x-amz-content-sha256;x-amz-date';
    docVerifier().verify(
      request('GET', '/?lifecycle', {
        ...base,
        authorization: authorization(signed, 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543'),
      }),
    );
    const list = authorization(signed, '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
    docVerifier().verify(request('GET', '/?max-keys=2&prefix=J', { ...base, authorization: list }));
    docVerifier().verify(request('GET', '/?prefix=J&max-keys=2', { ...base, authorization: list }));
    expectS3Error(
      () => docVerifier().verify(request('GET', '/?max-keys=3&prefix=J', { ...base, authorization: list })),
      'SignatureDoesNotMatch',
    );
  });

  const presignedUrl =
    '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
  const presigned = request('GET', presignedUrl, { host: 'examplebucket.s3.amazonaws.com' });

  it('presigned GET verifies until it expires, 86400 s later', () => {
    const result = docVerifier().verify(presigned);
    assert.equal(result.method, 'presigned');
    assert.equal(result.payloadMode, 'unsigned');
    assert.equal(result.expiresAt?.toISOString(), '2013-05-25T00:00:00.000Z');
    docVerifier(new Date('2013-05-25T00:00:00Z')).verify(presigned);
    const err = expectS3Error(() => docVerifier(new Date('2013-05-25T00:00:01Z')).verify(presigned), 'AccessDenied');
    assert.equal(err.message, 'Request has expired');
  });

  it('presigned URL: a changed parameter or an expiry beyond a week is refused', () => {
    expectS3Error(
      () =>
        docVerifier().verify(
          request('GET', presignedUrl.replace('X-Amz-Expires=86400', 'X-Amz-Expires=86401'), { host: 'examplebucket.s3.amazonaws.com' }),
        ),
      'SignatureDoesNotMatch',
    );
    expectS3Error(
      () =>
        docVerifier().verify(
          request('GET', presignedUrl.replace('X-Amz-Expires=86400', 'X-Amz-Expires=604801'), { host: 'examplebucket.s3.amazonaws.com' }),
        ),
      'AuthorizationQueryParametersError',
    );
    expectS3Error(
      () =>
        docVerifier().verify(
          request('GET', presignedUrl.replace('&X-Amz-SignedHeaders=host', ''), { host: 'examplebucket.s3.amazonaws.com' }),
        ),
      'AuthorizationQueryParametersError',
    );
  });
});

// ---- aws-chunked: "Transferring Payload in Multiple Chunks" (and its trailer variant) ----
const CHUNK_SIGS = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];
const TRAILER_CHUNK_SIGS = [
  'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
  '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
  '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
];
const TRAILERS =
  'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n';

function chunkedBody(sigs: string[], trailers: string): Buffer {
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`),
    Buffer.alloc(65536, 'a'),
    Buffer.from(`\r\n400;chunk-signature=${sigs[1]}\r\n`),
    Buffer.alloc(1024, 'a'),
    Buffer.from(`\r\n0;chunk-signature=${sigs[2]}\r\n${trailers}\r\n`),
  ]);
}

function seedRequest(trailer: boolean): SigV4Request {
  const headers: Record<string, string> = {
    host: 's3.amazonaws.com',
    'content-encoding': 'aws-chunked',
    'x-amz-date': '20130524T000000Z',
    'x-amz-decoded-content-length': '66560',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
  };
  if (trailer) {
    headers['x-amz-content-sha256'] = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
    headers['x-amz-trailer'] = 'x-amz-checksum-crc32c';
    headers.authorization = authorization(
      'content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer',
      '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e',
    );
  } else {
    headers['x-amz-content-sha256'] = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
    headers['content-length'] = '66824';
    headers.authorization = authorization(
      'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class',
      '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    );
  }
  return request('PUT', '/examplebucket/chunkObject.txt', headers);
}

/** Feeds `body` in uneven pieces (so frames straddle reads) and collects the decoded bytes. */
async function decode(decoder: AwsChunkedDecoder, body: Buffer, piece = 997): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += piece) pieces.push(body.subarray(i, i + piece));
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), decoder, async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) out.push(c as Buffer);
  });
  return Buffer.concat(out);
}

async function expectRejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof S3Error && err.code === code);
}

describe('aws-chunked documentation example', () => {
  it('the seed request verifies and the 66560-byte body decodes with all three chunk signatures', async () => {
    const auth = docVerifier().verify(seedRequest(false));
    assert.equal(auth.payloadMode, 'streaming-signed');
    assert.equal(auth.seedSignature, '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9');
    const body = chunkedBody(CHUNK_SIGS, '');
    assert.equal(body.length, 66824, 'the documented Content-Length');
    for (const piece of [1, 997, 70000]) {
      const decoder = new AwsChunkedDecoder({ mode: 'streaming-signed', signing: auth, decodedLength: 66560 });
      const out = await decode(decoder, body, piece);
      assert.ok(out.equals(Buffer.alloc(66560, 'a')), `decoded with ${piece}-byte reads`);
    }
  });

  it('a flipped data byte, a wrong chunk signature, a truncation or a wrong length are refused', async () => {
    const auth = docVerifier().verify(seedRequest(false));
    const body = chunkedBody(CHUNK_SIGS, '');
    const make = (decodedLength = 66560): AwsChunkedDecoder =>
      new AwsChunkedDecoder({ mode: 'streaming-signed', signing: auth, decodedLength });
    for (const at of [1000, 66000]) {
      const flipped = Buffer.from(body);
      flipped[at] = 'b'.charCodeAt(0); // inside the first, then the second chunk's data
      await expectRejects(decode(make(), flipped), 'SignatureDoesNotMatch');
    }
    for (let i = 0; i < 3; i++) {
      const sigs = [...CHUNK_SIGS];
      sigs[i] = CHUNK_SIGS[(i + 1) % 3]!;
      await expectRejects(decode(make(), chunkedBody(sigs, '')), 'SignatureDoesNotMatch');
    }
    await expectRejects(decode(make(), body.subarray(0, 66000)), 'IncompleteBody');
    await expectRejects(decode(make(66559), body), 'InvalidRequest');
    await expectRejects(decode(make(70000), body), 'IncompleteBody');
    const badFrame = Buffer.from(body);
    badFrame.write('XX', 65536 + 87); // where the CRLF after the first chunk's data belongs
    await expectRejects(decode(make(), badFrame), 'InvalidRequest');
  });

  it('the trailer variant: chunk signatures, the CRC32C trailer and its signature', async () => {
    const auth = docVerifier().verify(seedRequest(true));
    assert.equal(auth.payloadMode, 'streaming-signed-trailer');
    const decoder = new AwsChunkedDecoder({
      mode: 'streaming-signed-trailer',
      signing: auth,
      decodedLength: 66560,
      expectedTrailers: ['x-amz-checksum-crc32c'],
    });
    const out = await decode(decoder, chunkedBody(TRAILER_CHUNK_SIGS, TRAILERS));
    assert.equal(out.length, 66560);
    assert.deepEqual(decoder.trailers, { 'x-amz-checksum-crc32c': 'sOO8/Q==' });

    const tampered = new AwsChunkedDecoder({
      mode: 'streaming-signed-trailer',
      signing: auth,
      decodedLength: 66560,
      expectedTrailers: ['x-amz-checksum-crc32c'],
    });
    await expectRejects(
      decode(tampered, chunkedBody(TRAILER_CHUNK_SIGS, TRAILERS.replace('sOO8/Q==', 'AAAAAA=='))),
      'SignatureDoesNotMatch',
    );
    const unannounced = new AwsChunkedDecoder({
      mode: 'streaming-signed-trailer',
      signing: auth,
      decodedLength: 66560,
      expectedTrailers: [],
    });
    await expectRejects(decode(unannounced, chunkedBody(TRAILER_CHUNK_SIGS, TRAILERS)), 'MalformedTrailerError');
  });
});
