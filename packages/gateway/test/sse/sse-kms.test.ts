// SSE-KMS on its own: a random ETag (as AWS), its objects rotate, an SSE-C key on its parts or reads is refused,
// its responses name the key, and its request headers (key id, ARN forms, context) are checked. None asks kes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSSEKMSRequest, sseKMS } from '../../src/sse/sse-kms.js';
import type { StoredSSE } from '../../src/sse/types.js';
import { digests, headersOf, noKes, refusesCustomerKey, s3ErrorOf } from './helpers.js';

const mode = sseKMS(noKes);
const path = { bucket: 'b', key: 'k' };
const record: StoredSSE = {
  sse: 'SSE-KMS',
  iv: 'aXY=',
  sealAlgorithm: 'x',
  sealedKey: 'c2s=',
  kmsKey: 'tenant-a',
  kmsCiphertext: 'Y3Q=',
  kmsKeyVersion: 'v3',
};
const ID = 'x-amz-server-side-encryption-aws-kms-key-id';
const CTX = 'x-amz-server-side-encryption-context';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');

describe('SSE-KMS', () => {
  test('the ETag is random, never the MD5 of the data, and no MD5 is needed', () => {
    assert.equal(mode.etagIsMD5, false);
    const a = mode.etag(digests);
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.notEqual(a, digests.md5Hex);
    assert.notEqual(mode.etag(digests), a);
  });

  test('objects rotate: the master key and version are the record’s; a record without a key reference has none', () => {
    assert.equal(mode.canRotate, true);
    assert.deepEqual(mode.masterKey(record), { key: 'tenant-a', version: 'v3' });
    const { kmsKey: _k, ...noKey } = record;
    assert.equal(mode.masterKey(noKey), undefined);
  });

  test('an SSE-C key is refused on a part, on a metadata read and on a read, before kes is asked', async () => {
    await refusesCustomerKey(mode, record, path);
  });

  test('a key change is a real copy, never in place', () => {
    assert.equal(mode.rekeyInPlace(record, path, undefined, { kind: 'SSE-KMS', keyId: 'tenant-b' }), undefined);
  });

  test('responses say aws:kms and name the key; bucket-key-enabled only under a bucket key', () => {
    assert.deepEqual(mode.responseHeaders(record), { 'x-amz-server-side-encryption': 'aws:kms', [ID]: 'tenant-a' });
    assert.deepEqual(mode.responseHeaders({ ...record, bucketKey: { id: 'i', kmsCiphertext: 'Yms=' } }), {
      'x-amz-server-side-encryption': 'aws:kms',
      [ID]: 'tenant-a',
      'x-amz-server-side-encryption-bucket-key-enabled': 'true',
    });
  });

  test('the key id (plain, key ARN or alias) and the context are parsed; the bucket-key header is kept', () => {
    assert.deepEqual(parseSSEKMSRequest(headersOf({}), undefined), { kind: 'SSE-KMS' });
    assert.deepEqual(parseSSEKMSRequest(headersOf({ [ID]: 'tenant-a' }), true), { kind: 'SSE-KMS', bucketKey: true, keyId: 'tenant-a' });
    for (const id of ['arn:aws:kms:us-east-1:123456789012:key/tenant-a', 'arn:aws:kms:eu-west-1:1:alias/tenant-a', 'alias/tenant-a'])
      assert.deepEqual(parseSSEKMSRequest(headersOf({ [ID]: id }), undefined), { kind: 'SSE-KMS', keyId: 'tenant-a' }, id);
    assert.deepEqual(parseSSEKMSRequest(headersOf({ [ID]: 'alias/tenant-a', [CTX]: b64({ app: 'x' }) }), undefined), {
      kind: 'SSE-KMS',
      keyId: 'tenant-a',
      context: { app: 'x' },
    });
  });

  test('an empty key id, a context that is not base64 JSON, or not of string values: InvalidArgument naming the header', async () => {
    await s3ErrorOf(() => parseSSEKMSRequest(headersOf({ [ID]: '' }), undefined), 'InvalidArgument', ID);
    await s3ErrorOf(
      () => parseSSEKMSRequest(headersOf({ [CTX]: Buffer.from('{not json').toString('base64') }), undefined),
      'InvalidArgument',
      CTX,
    );
    await s3ErrorOf(() => parseSSEKMSRequest(headersOf({ [CTX]: b64({ n: 1 }) }), undefined), 'InvalidArgument', CTX);
    await s3ErrorOf(() => parseSSEKMSRequest(headersOf({ [CTX]: b64(['a']) }), undefined), 'InvalidArgument', CTX);
  });
});
