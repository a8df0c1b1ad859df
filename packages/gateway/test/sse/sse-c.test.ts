// SSE-C on its own: its ETag rule, that key rotation leaves it to the key's owner, the part-key rule, its
// headers' errors (with the S3 error code and argument AWS names), and the in-place key change of CopyObject.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COPY_PREFIX, parseCustomerKey, sseC } from '../../src/sse/sse-c.js';
import type { StoredSSE } from '../../src/sse/types.js';
import { customerKey, digests, headersOf, s3ErrorOf } from './helpers.js';

const path = { bucket: 'b', key: 'k' };

async function sealed(key = customerKey()): Promise<{ stored: StoredSSE; oek: Buffer }> {
  return sseC.seal({ kind: 'SSE-C', ...key }, path);
}

describe('SSE-C', () => {
  test('the ETag is random, never the MD5 of the data, and no MD5 is needed', () => {
    assert.equal(sseC.etagIsMD5, false);
    const a = sseC.etag(digests);
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.notEqual(a, digests.md5Hex);
    assert.notEqual(sseC.etag(digests), a);
  });

  test('key rotation leaves SSE-C objects to their owner: no master key, and rewrap is refused', async () => {
    const key = customerKey();
    const { stored } = await sealed(key);
    assert.equal(sseC.canRotate, false);
    assert.equal(sseC.masterKey(stored), undefined);
    const err = await s3ErrorOf(() => sseC.rewrap(stored, path, { key: 'other' }, false), 'InvalidRequest');
    assert.match(err.message, /CopyObject with the old and new customer keys/);
  });

  test('every part of an SSE-C upload carries the upload key, and only that key', async () => {
    const key = customerKey();
    const { stored } = await sealed(key);
    const missing = await s3ErrorOf(() => sseC.checkPartKey(stored, undefined), 'InvalidRequest');
    assert.match(missing.message, /every part must carry the same key/);
    const other = await s3ErrorOf(() => sseC.checkPartKey(stored, customerKey()), 'InvalidRequest');
    assert.match(other.message, /differs from the key the multipart upload was initiated with/);
    assert.doesNotThrow(() => sseC.checkPartKey(stored, key));
  });

  test('reads need the key: none is InvalidRequest, another is AccessDenied, for data and metadata alike', async () => {
    const key = customerKey();
    const { stored, oek } = await sealed(key);
    assert.ok((await sseC.unseal(stored, path, key)).equals(oek));
    await s3ErrorOf(() => sseC.unseal(stored, path, undefined), 'InvalidRequest');
    await s3ErrorOf(() => sseC.unseal(stored, path, customerKey()), 'AccessDenied');
    await sseC.checkMetadataAccess(stored, path, key);
    await s3ErrorOf(() => sseC.checkMetadataAccess(stored, path, undefined), 'InvalidRequest');
    await s3ErrorOf(() => sseC.checkMetadataAccess(stored, path, customerKey()), 'AccessDenied');
  });

  test('responses echo the algorithm and the key MD5, nothing else', async () => {
    const key = customerKey();
    const { stored } = await sealed(key);
    assert.deepEqual(sseC.responseHeaders(stored), {
      'x-amz-server-side-encryption-customer-algorithm': 'AES256',
      'x-amz-server-side-encryption-customer-key-md5': key.keyMD5,
    });
  });

  test('an in-place key change reseals the same object key under the new key with the same IV; other modes copy', async () => {
    const [oldKey, newKey] = [customerKey(), customerKey()];
    const { stored, oek } = await sealed(oldKey);
    assert.equal(sseC.rekeyInPlace(stored, path, oldKey, { kind: 'SSE-S3' }), undefined, 'SSE-C → SSE-S3 is a real copy');
    const rekeyed = await sseC.rekeyInPlace(stored, path, oldKey, { kind: 'SSE-C', ...newKey });
    assert.ok(rekeyed);
    assert.deepEqual(Object.keys(rekeyed), Object.keys(stored), 'the same fields, in the same order');
    assert.deepEqual({ ...rekeyed, sealedKey: '', sseCKeyMD5: '' }, { ...stored, sealedKey: '', sseCKeyMD5: '' });
    assert.equal(rekeyed.sseCKeyMD5, newKey.keyMD5);
    assert.ok((await sseC.unseal(rekeyed, path, newKey)).equals(oek));
    await s3ErrorOf(() => sseC.unseal(rekeyed, path, oldKey), 'AccessDenied');
    await s3ErrorOf(() => sseC.rekeyInPlace(stored, path, customerKey(), { kind: 'SSE-C', ...newKey }), 'AccessDenied');
  });
});

describe('SSE-C headers', () => {
  const A = 'x-amz-server-side-encryption-customer-algorithm';
  const K = 'x-amz-server-side-encryption-customer-key';
  const M = 'x-amz-server-side-encryption-customer-key-md5';
  const key = customerKey();
  const good = { [A]: 'AES256', [K]: key.key.toString('base64'), [M]: key.keyMD5 };
  const copy = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k.replace('x-amz-', COPY_PREFIX), v]));

  test('none of the three: no customer key; all three: the key and its MD5', () => {
    assert.equal(parseCustomerKey(headersOf({})), undefined);
    const parsed = parseCustomerKey(headersOf(good));
    assert.ok(parsed?.key.equals(key.key));
    assert.equal(parsed?.keyMD5, key.keyMD5);
    assert.ok(parseCustomerKey(headersOf(copy(good)), COPY_PREFIX)?.key.equals(key.key));
  });

  test('each malformed triple is InvalidArgument naming the header at fault (an unknown algorithm: InvalidEncryptionAlgorithmError)', async () => {
    const { [A]: _a, ...noAlg } = good;
    const { [K]: _k, ...noKey } = good;
    const { [M]: _m, ...noMD5 } = good;
    await s3ErrorOf(() => parseCustomerKey(headersOf(noAlg)), 'InvalidArgument', A);
    await s3ErrorOf(() => parseCustomerKey(headersOf({ ...good, [A]: 'aws:kms' })), 'InvalidEncryptionAlgorithmError', A);
    await s3ErrorOf(() => parseCustomerKey(headersOf(noKey)), 'InvalidArgument', K);
    await s3ErrorOf(() => parseCustomerKey(headersOf({ ...good, [K]: key.key.subarray(0, 16).toString('base64') })), 'InvalidArgument', K);
    await s3ErrorOf(() => parseCustomerKey(headersOf(noMD5)), 'InvalidArgument', M);
    await s3ErrorOf(() => parseCustomerKey(headersOf({ ...good, [M]: customerKey().keyMD5 })), 'InvalidArgument', M);
    const err = await s3ErrorOf(() => parseCustomerKey(headersOf(copy(noKey)), COPY_PREFIX), 'InvalidArgument', COPY_PREFIX + K.slice(6));
    assert.match(err.message, /copy source secret key/);
  });
});
