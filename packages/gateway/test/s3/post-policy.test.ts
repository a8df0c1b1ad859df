// The policy and signature of a browser form upload (POST Object). The SigV4 signature is checked
// against AWS's worked example ("Example: Browser-Based Upload using HTTP POST (Using AWS Signature
// Version 4)"): its policy, base64 and signature are AWS's, written here by hand.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { signPolicyV4, verifyPostSignature } from '../../src/s3/auth/post-signature.js';
import { S3Error } from '../../src/s3/errors.js';
import { checkPostPolicy, parsePostPolicy } from '../../src/s3/post-policy.js';

const ACCESS = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const lookup = (k: string): string | undefined => (k === ACCESS ? SECRET : undefined);

// AWS's example policy, exactly as its base64 encodes it (CRLF line ends included).
const EXAMPLE_POLICY = [
  '{ "expiration": "2015-12-30T12:00:00.000Z",',
  '  "conditions": [',
  '    {"bucket": "sigv4examplebucket"},',
  '    ["starts-with", "$key", "user/user1/"],',
  '    {"acl": "public-read"},',
  '    {"success_action_redirect": "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},',
  '    ["starts-with", "$Content-Type", "image/"],',
  '    {"x-amz-meta-uuid": "14365123651274"},',
  '    {"x-amz-server-side-encryption": "AES256"},',
  '    ["starts-with", "$x-amz-meta-tag", ""],',
  '',
  '    {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},',
  '    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},',
  '    {"x-amz-date": "20151229T000000Z" }',
  '  ]',
  '}',
].join('\r\n');
const EXAMPLE_BASE64 =
  'eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9';
const EXAMPLE_SIGNATURE = '8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e';

/** The example's form fields, by lowercase name, with `${filename}` already expanded. */
function exampleFields(overrides: Record<string, string | undefined> = {}): Map<string, string> {
  const fields: Record<string, string | undefined> = {
    key: 'user/user1/MyPhoto.jpg',
    acl: 'public-read',
    success_action_redirect: 'http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html',
    'content-type': 'image/jpeg',
    'x-amz-meta-uuid': '14365123651274',
    'x-amz-server-side-encryption': 'AES256',
    'x-amz-credential': `${ACCESS}/20151229/us-east-1/s3/aws4_request`,
    'x-amz-algorithm': 'AWS4-HMAC-SHA256',
    'x-amz-date': '20151229T000000Z',
    'x-amz-meta-tag': '',
    policy: EXAMPLE_BASE64,
    'x-amz-signature': EXAMPLE_SIGNATURE,
    ...overrides,
  };
  return new Map(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined));
}

function expectS3Error(fn: () => unknown, code: string, message?: RegExp): S3Error {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof S3Error, `expected an S3Error, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

const BEFORE_EXPIRY = new Date('2015-12-30T11:59:59Z');

describe("AWS's SigV4 POST example", () => {
  it("the base64 policy and its signature are AWS's", () => {
    assert.equal(Buffer.from(EXAMPLE_POLICY, 'utf8').toString('base64'), EXAMPLE_BASE64);
    assert.equal(signPolicyV4(SECRET, '20151229', 'us-east-1', EXAMPLE_BASE64), EXAMPLE_SIGNATURE);
  });

  it('the example form verifies and meets its policy', () => {
    const fields = exampleFields();
    assert.equal(verifyPostSignature(fields, { lookup, region: 'us-east-1' }), ACCESS);
    checkPostPolicy(parsePostPolicy(EXAMPLE_BASE64), fields, 'sigv4examplebucket', BEFORE_EXPIRY);
  });

  it('a changed policy, signature, key or region is refused', () => {
    const options = { lookup, region: 'us-east-1' };
    const tampered = Buffer.from(EXAMPLE_POLICY.replace('user/user1/', 'user/')).toString('base64');
    expectS3Error(() => verifyPostSignature(exampleFields({ policy: tampered }), options), 'SignatureDoesNotMatch');
    expectS3Error(
      () => verifyPostSignature(exampleFields({ 'x-amz-signature': EXAMPLE_SIGNATURE.replace(/^8/, '9') }), options),
      'SignatureDoesNotMatch',
    );
    const unknown = expectS3Error(
      () => verifyPostSignature(exampleFields({ 'x-amz-credential': 'AKIANOBODY/20151229/us-east-1/s3/aws4_request' }), options),
      'InvalidAccessKeyId',
    );
    assert.equal(unknown.status, 403);
    expectS3Error(() => verifyPostSignature(exampleFields(), { lookup, region: 'eu-west-1' }), 'InvalidArgument', /region/);
    expectS3Error(() => verifyPostSignature(exampleFields({ 'x-amz-date': '20151230T000000Z' }), options), 'InvalidArgument', /date/);
    expectS3Error(
      () => verifyPostSignature(exampleFields({ 'x-amz-signature': undefined }), options),
      'InvalidArgument',
      /x-amz-signature/,
    );
    expectS3Error(() => verifyPostSignature(exampleFields({ 'x-amz-algorithm': 'AWS4-ECDSA-P256-SHA256' }), options), 'InvalidArgument');
    expectS3Error(() => verifyPostSignature(exampleFields({ 'x-amz-security-token': 't' }), options), 'InvalidToken');
    expectS3Error(() => verifyPostSignature(exampleFields({ policy: undefined }), options), 'AccessDenied');
  });
});

describe('SigV2 form signature', () => {
  const policy = Buffer.from(JSON.stringify({ expiration: '2030-01-01T00:00:00Z', conditions: [{ key: 'k' }] })).toString('base64');
  const signature = createHmac('sha1', SECRET).update(policy).digest('base64');
  const options = { lookup, region: 'us-east-1' };

  it('AWSAccessKeyId and signature (base64 HMAC-SHA1 of the policy) verify', () => {
    assert.equal(
      verifyPostSignature(
        new Map([
          ['policy', policy],
          ['awsaccesskeyid', ACCESS],
          ['signature', signature],
        ]),
        options,
      ),
      ACCESS,
    );
  });

  it('a wrong signature, an unknown key or a missing field is refused', () => {
    expectS3Error(
      () =>
        verifyPostSignature(
          new Map([
            ['policy', policy],
            ['awsaccesskeyid', ACCESS],
            ['signature', 'AAAA' + signature.slice(4)],
          ]),
          options,
        ),
      'SignatureDoesNotMatch',
    );
    expectS3Error(
      () =>
        verifyPostSignature(
          new Map([
            ['policy', policy],
            ['awsaccesskeyid', 'AKIANOBODY'],
            ['signature', signature],
          ]),
          options,
        ),
      'InvalidAccessKeyId',
    );
    expectS3Error(
      () =>
        verifyPostSignature(
          new Map([
            ['policy', policy],
            ['awsaccesskeyid', ACCESS],
          ]),
          options,
        ),
      'InvalidArgument',
      /Signature/,
    );
    expectS3Error(
      () =>
        verifyPostSignature(
          new Map([
            ['policy', policy],
            ['signature', signature],
          ]),
          options,
        ),
      'InvalidArgument',
      /AWSAccessKeyId/,
    );
  });
});

describe('policy conditions', () => {
  const encode = (doc: unknown): string => Buffer.from(JSON.stringify(doc)).toString('base64');
  const now = new Date('2030-01-01T00:00:00Z');
  const policy = (conditions: unknown[], expiration = '2030-01-02T00:00:00.000Z') => parsePostPolicy(encode({ expiration, conditions }));
  const fields = (o: Record<string, string>) => new Map(Object.entries(o));

  it('exact matches, eq, starts-with (empty prefix = anything); field names are case-insensitive', () => {
    const p = policy([
      { key: 'a/b' },
      ['eq', '$Content-Type', 'text/plain'],
      ['starts-with', '$x-amz-meta-tag', ''],
      ['starts-with', '$Cache-Control', 'max-age='],
    ]);
    checkPostPolicy(
      p,
      fields({ key: 'a/b', 'content-type': 'text/plain', 'x-amz-meta-tag': 'anything', 'cache-control': 'max-age=60' }),
      'b',
      now,
    );
    expectS3Error(
      () =>
        checkPostPolicy(
          p,
          fields({ key: 'a/c', 'content-type': 'text/plain', 'x-amz-meta-tag': '', 'cache-control': 'max-age=1' }),
          'b',
          now,
        ),
      'AccessDenied',
      /^Invalid according to Policy: Policy Condition failed: \["eq", "\$key", "a\/b"\]$/,
    );
    expectS3Error(
      () =>
        checkPostPolicy(
          p,
          fields({ key: 'a/b', 'content-type': 'text/plain', 'x-amz-meta-tag': '', 'cache-control': 'no-cache' }),
          'b',
          now,
        ),
      'AccessDenied',
      /Policy Condition failed: \["starts-with", "\$Cache-Control", "max-age="\]/,
    );
  });

  it('a failed condition on an SSE-C key is quoted without the key', () => {
    const key = Buffer.alloc(32, 9).toString('base64');
    const p = policy([{ 'x-amz-server-side-encryption-customer-key': key }]);
    const err = expectS3Error(
      () => checkPostPolicy(p, fields({ 'x-amz-server-side-encryption-customer-key': 'other' }), 'b', now),
      'AccessDenied',
    );
    assert.match(err.message, /\["eq", "\$x-amz-server-side-encryption-customer-key", "<redacted>"\]/);
    assert.ok(!err.message.includes(key));
  });

  it('a Content-Type list must start with the prefix in each of its types', () => {
    const p = policy([['starts-with', '$Content-Type', 'image/']]);
    checkPostPolicy(p, fields({ 'content-type': 'image/jpeg, image/png' }), 'b', now);
    expectS3Error(() => checkPostPolicy(p, fields({ 'content-type': 'image/jpeg,text/html' }), 'b', now), 'AccessDenied');
  });

  it('the bucket condition is about the bucket the request addresses', () => {
    const p = policy([{ bucket: 'mine' }]);
    checkPostPolicy(p, fields({}), 'mine', now);
    expectS3Error(() => checkPostPolicy(p, fields({}), 'theirs', now), 'AccessDenied', /\["eq", "\$bucket", "mine"\]/);
  });

  it('every field but the exempt ones must be named by a condition', () => {
    const p = policy([{ key: 'k' }]);
    checkPostPolicy(
      p,
      fields({ key: 'k', policy: 'x', 'x-amz-signature': 's', awsaccesskeyid: 'a', signature: 's', file: 'f', 'x-ignore-extra': '1' }),
      'b',
      now,
    );
    expectS3Error(
      () => checkPostPolicy(p, fields({ key: 'k', 'x-amz-meta-sneaky': '1' }), 'b', now),
      'AccessDenied',
      /Extra input fields: x-amz-meta-sneaky$/,
    );
  });

  it('expired → AccessDenied "Policy expired."', () => {
    const p = policy([], '2029-12-31T23:59:59.000Z');
    expectS3Error(() => checkPostPolicy(p, fields({}), 'b', now), 'AccessDenied', /^Invalid according to Policy: Policy expired\.$/);
  });

  it('content-length-range: bounds as numbers or numeric strings; several ranges intersect', () => {
    assert.deepEqual([policy([['content-length-range', 1, 100]]).minSize, policy([['content-length-range', 1, 100]]).maxSize], [1, 100]);
    const both = policy([
      ['content-length-range', '10', '1000'],
      ['content-length-range', 5, 500],
    ]);
    assert.deepEqual([both.minSize, both.maxSize], [10, 500]);
    assert.equal(policy([]).maxSize, undefined);
    expectS3Error(() => policy([['content-length-range', -1, 10]]), 'InvalidPolicyDocument');
    expectS3Error(() => policy([['content-length-range', 1]]), 'InvalidPolicyDocument');
  });

  it('malformed documents → 400 InvalidPolicyDocument', () => {
    for (const bad of [
      'not base64!',
      Buffer.from('{not json').toString('base64'),
      encode({ conditions: [] }),
      encode({ expiration: 'soon', conditions: [] }),
      encode({ expiration: '2030-01-01T00:00:00Z' }),
      encode({ expiration: '2030-01-01T00:00:00Z', conditions: [['in', '$key', 'a']] }),
      encode({ expiration: '2030-01-01T00:00:00Z', conditions: [['eq', 'key', 'a']] }),
      encode({ expiration: '2030-01-01T00:00:00Z', conditions: [{}] }),
      encode({ expiration: '2030-01-01T00:00:00Z', conditions: [{ key: ['a'] }] }),
    ]) {
      assert.equal(expectS3Error(() => parsePostPolicy(bad), 'InvalidPolicyDocument').status, 400);
    }
  });
});
