// SigV2 against AWS's published examples ("Signing and authenticating REST requests", S3 developer
// guide). Every expected signature below is AWS's, written here by hand — none is produced by this
// code. The examples were computed for the bucket "johnsmith" (later editions renamed the bucket in the
// text but not in the signatures; the one edition that recomputed a signature is checked too).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalAmzHeaders, canonicalResource, signV2, SigV2Verifier, stringToSignV2 } from '../../src/s3/auth/sigv2.js';
import type { SigV4Request } from '../../src/s3/auth/sigv4.js';
import { S3Error } from '../../src/s3/errors.js';

const ACCESS = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

function verifier(now: Date, domains = ['s3.amazonaws.com']): SigV2Verifier {
  return new SigV2Verifier({ lookup: (k) => (k === ACCESS ? SECRET : undefined), domains, now: () => now });
}

/** A request as Node hands it over: lowercase names, repeated headers kept apart. */
function request(method: string, url: string, headers: [string, string][]): SigV4Request {
  const out: Record<string, string[]> = {};
  for (const [name, value] of headers) (out[name.toLowerCase()] ??= []).push(value);
  return { method, url, headers: out };
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

const at = (date: string): Date => new Date(Date.parse(date));

describe('SigV2 authentication examples (S3 developer guide)', () => {
  it('Object GET, virtual-host-style: the bucket of the Host header is in the resource', () => {
    const date = 'Tue, 27 Mar 2007 19:36:42 +0000';
    assert.equal(signV2(SECRET, `GET\n\n\n${date}\n/johnsmith/photos/puppy.jpg`), 'bWq2s1WEIj+Ydj0vQ697zp+IXMU=');
    const req = request('GET', '/photos/puppy.jpg', [
      ['Host', 'johnsmith.s3.amazonaws.com'],
      ['Date', date],
      ['Authorization', `AWS ${ACCESS}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=`],
    ]);
    const auth = verifier(at(date)).verify(req);
    assert.equal(auth.accessKey, ACCESS);
    assert.equal(auth.method, 'header');
    assert.equal(auth.payloadMode, 'unsigned');
  });

  it('Object GET, the edition with the bucket renamed and the signature recomputed', () => {
    const date = 'Tue, 27 Mar 2007 19:36:42 +0000';
    const req = request('GET', '/photos/puppy.jpg', [
      ['Host', 'awsexamplebucket1.us-west-1.s3.amazonaws.com'],
      ['Date', date],
      ['Authorization', `AWS ${ACCESS}:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=`],
    ]);
    assert.equal(verifier(at(date), ['us-west-1.s3.amazonaws.com']).verify(req).accessKey, ACCESS);
  });

  it('Object PUT: Content-Type is signed, the absent Content-MD5 is an empty line', () => {
    const date = 'Tue, 27 Mar 2007 21:15:45 +0000';
    const req = request('PUT', '/photos/puppy.jpg', [
      ['Content-Type', 'image/jpeg'],
      ['Content-Length', '94328'],
      ['Host', 'johnsmith.s3.amazonaws.com'],
      ['Date', date],
      ['Authorization', `AWS ${ACCESS}:MyyxeRY7whkBe+bq8fHCL/2kKUg=`],
    ]);
    assert.equal(verifier(at(date)).verify(req).accessKey, ACCESS);
  });

  it('List: the query (prefix, max-keys, marker) is not part of the resource; the trailing slash is', () => {
    const date = 'Tue, 27 Mar 2007 19:42:41 +0000';
    assert.equal(canonicalResource('/', 'prefix=photos&max-keys=50&marker=puppy', 'johnsmith'), '/johnsmith/');
    const req = request('GET', '/?prefix=photos&max-keys=50&marker=puppy', [
      ['User-Agent', 'Mozilla/5.0'],
      ['Host', 'johnsmith.s3.amazonaws.com'],
      ['Date', date],
      ['Authorization', `AWS ${ACCESS}:htDYFYduRNen8P9ZfE/s9SuKy0U=`],
    ]);
    assert.equal(verifier(at(date)).verify(req).accessKey, ACCESS);
  });

  it('Fetch ?acl: the sub-resource is part of the resource', () => {
    const date = 'Tue, 27 Mar 2007 19:44:46 +0000';
    const req = request('GET', '/?acl', [
      ['Host', 'johnsmith.s3.amazonaws.com'],
      ['Date', date],
      ['Authorization', `AWS ${ACCESS}:c2WLPFtWHVgbEmeEG93a4cG37dM=`],
    ]);
    assert.equal(verifier(at(date)).verify(req).accessKey, ACCESS);
  });

  it('Delete, path-style, with x-amz-date overriding Date', () => {
    const req = request('DELETE', '/johnsmith/photos/puppy.jpg', [
      ['User-Agent', 'dotnet'],
      ['Host', 's3.amazonaws.com'],
      ['Date', 'Tue, 27 Mar 2007 21:20:27 +0000'],
      ['x-amz-date', 'Tue, 27 Mar 2007 21:20:26 +0000'],
      ['Authorization', `AWS ${ACCESS}:lx3byBScXR6KzyMaifNkardMwNk=`],
    ]);
    // The request time is x-amz-date's: 15 minutes after it, the request is already skewed.
    assert.equal(verifier(at('Tue, 27 Mar 2007 21:35:26 +0000')).verify(req).accessKey, ACCESS);
    expectS3Error(() => verifier(at('Tue, 27 Mar 2007 21:35:27 +0000')).verify(req), 'RequestTimeTooSkewed');
  });

  it('Upload with metadata to a CNAME bucket: x-amz-* headers lowercased, sorted, repeats joined', () => {
    const headers = request('PUT', '/db-backup.dat.gz', [
      ['x-amz-acl', 'public-read'],
      ['X-Amz-Meta-ReviewedBy', 'joe@johnsmith.net'],
      ['X-Amz-Meta-ReviewedBy', 'jane@johnsmith.net'],
      ['X-Amz-Meta-FileChecksum', '0x02661779'],
      ['X-Amz-Meta-ChecksumAlgorithm', 'crc32'],
    ]).headers;
    const amz = canonicalAmzHeaders(headers);
    assert.equal(
      amz,
      'x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\nx-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n',
    );
    const text = stringToSignV2({
      method: 'PUT',
      contentMd5: '4gJE4saaMU4BqNR0kLY+lw==',
      contentType: 'application/x-download',
      date: 'Tue, 27 Mar 2007 21:06:08 +0000',
      amzHeaders: amz,
      resource: canonicalResource('/db-backup.dat.gz', '', 'static.johnsmith.net'),
    });
    assert.equal(signV2(SECRET, text), 'ilyl83RwaSoYIEdixDQcA4OnAnc=');
  });

  it('List all my buckets: the resource is "/"', () => {
    const date = 'Wed, 28 Mar 2007 01:29:59 +0000';
    const req = request('GET', '/', [
      ['Host', 's3.amazonaws.com'],
      ['Date', date],
      ['Authorization', `AWS ${ACCESS}:qGdzdERIC03wnaRNKh6OqZehG9s=`],
    ]);
    assert.equal(verifier(at(date)).verify(req).accessKey, ACCESS);
  });

  it('Unicode keys: the path is signed exactly as sent, escapes and their case included', () => {
    const date = 'Wed, 28 Mar 2007 01:49:49 +0000';
    const req = request('GET', '/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re', [
      ['Host', 's3.amazonaws.com'],
      ['Date', date],
      ['Authorization', `AWS ${ACCESS}:DNEZGsoieTZ92F3bUfSPQcbGmlM=`],
    ]);
    assert.equal(verifier(at(date)).verify(req).accessKey, ACCESS);
  });

  it('Query string authentication: Expires replaces Date; valid until then, "Request has expired" after', () => {
    const url = `/photos/puppy.jpg?AWSAccessKeyId=${ACCESS}&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620`;
    const req = request('GET', url, [['Host', 'johnsmith.s3.amazonaws.com']]);
    const auth = verifier(new Date(1175139620 * 1000 - 60_000)).verify(req);
    assert.equal(auth.method, 'presigned');
    assert.equal(auth.expiresAt?.getTime(), 1175139620 * 1000);
    const expired = expectS3Error(() => verifier(new Date(1175139621 * 1000)).verify(req), 'AccessDenied');
    assert.equal(expired.message, 'Request has expired');
    // An unencoded `+` in the signature (read as a space by form decoding) still verifies.
    const plus = request('GET', url.replace('%2B', '+'), [['Host', 'johnsmith.s3.amazonaws.com']]);
    assert.equal(verifier(new Date(1175139620 * 1000 - 60_000)).verify(plus).accessKey, ACCESS);
  });
});

describe('SigV2 canonical resource and refusals', () => {
  it('signs exactly the sub-resources AWS lists, sorted, values decoded, bare names without "="', () => {
    assert.equal(canonicalResource('/b/k', 'uploads'), '/b/k?uploads');
    assert.equal(canonicalResource('/b/k', 'uploadId=a%2Fb&partNumber=2&x-id=UploadPart'), '/b/k?partNumber=2&uploadId=a/b');
    assert.equal(canonicalResource('/b/k', 'versionId=3&acl&tagging'), '/b/k?acl&tagging&versionId=3');
    assert.equal(
      canonicalResource('/b/k', 'response-content-type=text%2Fplain&response-content-disposition=attachment%3B%20filename%3Da.txt'),
      '/b/k?response-content-disposition=attachment; filename=a.txt&response-content-type=text/plain',
    );
    assert.equal(canonicalResource('/b', 'delete='), '/b?delete');
    // Not signed: listing parameters, and sub-resources AWS leaves out of V2 (encryption, restore, ...).
    assert.equal(canonicalResource('/b', 'list-type=2&prefix=a&encryption&restore'), '/b');
    assert.equal(canonicalResource('', ''), '/');
  });

  it('a path-style request for a bucket verifies signed as "/bucket" or "/bucket/" (botocore signs the latter)', () => {
    const date = 'Tue, 27 Mar 2007 19:42:41 +0000';
    for (const signedAs of ['/johnsmith', '/johnsmith/']) {
      const signature = signV2(SECRET, `GET\n\n\n${date}\n${signedAs}`);
      for (const sent of ['/johnsmith?prefix=a', '/johnsmith/?prefix=a']) {
        const req = request('GET', sent, [
          ['Host', 's3.amazonaws.com'],
          ['Date', date],
          ['Authorization', `AWS ${ACCESS}:${signature}`],
        ]);
        assert.equal(verifier(at(date)).verify(req).accessKey, ACCESS, `${sent} signed as ${signedAs}`);
      }
    }
  });

  const date = 'Tue, 27 Mar 2007 19:36:42 +0000';
  const get = (authorization: string, extra: [string, string][] = []): SigV4Request =>
    request('GET', '/photos/puppy.jpg', [
      ['Host', 'johnsmith.s3.amazonaws.com'],
      ['Date', date],
      ['Authorization', authorization],
      ...extra,
    ]);

  it('a wrong signature → SignatureDoesNotMatch with the string to sign, never a signature or an SSE-C key', () => {
    const ssecKey = Buffer.alloc(32, 7).toString('base64');
    const err = expectS3Error(
      () =>
        verifier(at(date)).verify(
          get(`AWS ${ACCESS}:bWq2s1WEIj+Ydj0vQ697zp+IXMV=`, [['x-amz-server-side-encryption-customer-key', ssecKey]]),
        ),
      'SignatureDoesNotMatch',
    );
    assert.equal(err.status, 403);
    assert.match(
      err.extra!.StringToSign!,
      /^GET\n\n\nTue, 27 Mar 2007 19:36:42 \+0000\nx-amz-server-side-encryption-customer-key:<redacted>\n\/johnsmith\/photos\/puppy.jpg$/,
    );
    assert.doesNotMatch(JSON.stringify(err.extra), new RegExp(`${ssecKey.slice(0, 20)}|bWq2s1WEIj`));
  });

  it('an unknown key → InvalidAccessKeyId; a malformed header → InvalidArgument; no date → AccessDenied', () => {
    const unknown = expectS3Error(
      () => verifier(at(date)).verify(get('AWS AKIANOBODY:bWq2s1WEIj+Ydj0vQ697zp+IXMU=')),
      'InvalidAccessKeyId',
    );
    assert.equal(unknown.extra?.AWSAccessKeyId, 'AKIANOBODY');
    expectS3Error(() => verifier(at(date)).verify(get(`AWS ${ACCESS}`)), 'InvalidArgument');
    const undated = request('GET', '/photos/puppy.jpg', [
      ['Host', 'johnsmith.s3.amazonaws.com'],
      ['Authorization', `AWS ${ACCESS}:x`],
    ]);
    expectS3Error(() => verifier(at(date)).verify(undated), 'AccessDenied');
  });

  it('a Date more than 15 minutes off, either way → RequestTimeTooSkewed', () => {
    const req = get(`AWS ${ACCESS}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=`);
    for (const minutes of [-16, 16]) {
      const err = expectS3Error(() => verifier(new Date(Date.parse(date) + minutes * 60_000)).verify(req), 'RequestTimeTooSkewed');
      assert.equal(err.status, 403);
    }
    assert.equal(verifier(new Date(Date.parse(date) + 14 * 60_000)).verify(req).accessKey, ACCESS);
  });

  it('a query missing a parameter, a session token, or an aws-chunked payload is refused', () => {
    const missing = request('GET', `/photos/puppy.jpg?AWSAccessKeyId=${ACCESS}&Signature=x`, [['Host', 'johnsmith.s3.amazonaws.com']]);
    expectS3Error(() => verifier(at(date)).verify(missing), 'AccessDenied');
    expectS3Error(() => verifier(at(date)).verify(get(`AWS ${ACCESS}:x`, [['x-amz-security-token', 't']])), 'InvalidToken');
    const text = `PUT\n\n\n${date}\nx-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD\n/k`;
    const streaming = request('PUT', '/k', [
      ['Host', 's3.amazonaws.com'],
      ['Date', date],
      ['x-amz-content-sha256', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'],
      ['Authorization', `AWS ${ACCESS}:${signV2(SECRET, text)}`],
    ]);
    expectS3Error(() => verifier(at(date)).verify(streaming), 'InvalidRequest');
  });
});
