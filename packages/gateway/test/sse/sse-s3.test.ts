// SSE-S3 on its own: the ETag is the data's MD5 (as AWS), its objects rotate, an SSE-C key on its parts or reads
// is refused, its responses, and its request header rules. None of these asks kes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSSES3Request, sseS3 } from '../../src/sse/sse-s3.js';
import type { StoredSSE } from '../../src/sse/types.js';
import { customerKey, digests, headersOf, noKes, refusesCustomerKey, s3ErrorOf } from './helpers.js';

const mode = sseS3(noKes);
const path = { bucket: 'b', key: 'k' };
const record: StoredSSE = {
  sse: 'SSE-S3',
  iv: 'aXY=',
  sealAlgorithm: 'x',
  sealedKey: 'c2s=',
  kmsKey: 'default-key',
  kmsCiphertext: 'Y3Q=',
  kmsKeyVersion: 'v1',
};

describe('SSE-S3', () => {
  test('the ETag is the MD5 of the plaintext, which must therefore be computed', () => {
    assert.equal(mode.etagIsMD5, true);
    assert.equal(mode.etag(digests), digests.md5Hex);
  });

  test('objects rotate: the master key is the record’s, from a data key or a bucket key; without one, none', async () => {
    assert.equal(mode.canRotate, true);
    assert.deepEqual(mode.masterKey(record), { key: 'default-key', version: 'v1' });
    const { kmsCiphertext: _c, kmsKeyVersion: _v, ...underBucketKey } = record;
    assert.deepEqual(mode.masterKey({ ...underBucketKey, bucketKey: { id: 'i', kmsCiphertext: 'Yms=' } }), { key: 'default-key' });
    assert.equal(mode.masterKey(underBucketKey), undefined, 'no ciphertext: nothing to rotate');
  });

  test('an SSE-C key is refused on a part, on a metadata read and on a read, before kes is asked', async () => {
    await refusesCustomerKey(mode, record, path);
  });

  test('a key change is a real copy, never in place', () => {
    assert.equal(mode.rekeyInPlace(record, path, undefined, { kind: 'SSE-S3' }), undefined);
    assert.equal(mode.rekeyInPlace(record, path, undefined, { kind: 'SSE-C', ...customerKey() }), undefined);
  });

  test('responses say AES256, and bucket-key-enabled only for an object under a bucket key', () => {
    assert.deepEqual(mode.responseHeaders(record), { 'x-amz-server-side-encryption': 'AES256' });
    assert.deepEqual(mode.responseHeaders({ ...record, bucketKey: { id: 'i', kmsCiphertext: 'Yms=' } }), {
      'x-amz-server-side-encryption': 'AES256',
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
    });
  });

  test('AES256 takes no KMS key id or context (InvalidArgument), and keeps the bucket-key header', async () => {
    assert.deepEqual(parseSSES3Request(headersOf({}), undefined), { kind: 'SSE-S3' });
    assert.deepEqual(parseSSES3Request(headersOf({}), false), { kind: 'SSE-S3', bucketKey: false });
    const id = 'x-amz-server-side-encryption-aws-kms-key-id';
    await s3ErrorOf(() => parseSSES3Request(headersOf({ [id]: 'k' }), undefined), 'InvalidArgument', id);
    await s3ErrorOf(
      () => parseSSES3Request(headersOf({ 'x-amz-server-side-encryption-context': 'e30=' }), undefined),
      'InvalidArgument',
      id,
    );
  });
});
