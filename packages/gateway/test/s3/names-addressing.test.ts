import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bucketNameProblem, extractUserMetadata, validateBucketName, validateObjectKey } from '../../src/s3/names.js';
import { parseAddress } from '../../src/s3/addressing.js';
import { S3Error } from '../../src/s3/errors.js';

function expectS3(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof S3Error && err.code === code);
}

describe('bucket names', () => {
  it('accepts the AWS-valid forms', () => {
    for (const name of ['abc', 'my-bucket', 'my.bucket.name', 'a1-b2.c3', '123', 'a'.repeat(63)]) {
      assert.equal(bucketNameProblem(name), undefined, name);
    }
  });

  it('refuses each rule AWS lists, with InvalidBucketName', () => {
    for (const name of [
      'ab',
      'a'.repeat(64),
      'MyBucket',
      'my_bucket',
      '-bucket',
      'bucket-',
      '.bucket',
      'my..bucket',
      'my-.bucket',
      'my.-bucket',
      '192.168.5.4',
      'xn--bucket',
      'sthree-bucket',
      'amzn-s3-demo-bucket',
      'bucket-s3alias',
      'bucket--ol-s3',
      'bucket.mrap',
      'bucket--x-s3',
      'bucket--table-s3',
      'bück',
    ]) {
      assert.notEqual(bucketNameProblem(name), undefined, name);
      expectS3(() => validateBucketName(name), 'InvalidBucketName');
    }
  });
});

describe('object keys and metadata', () => {
  it('allows 1024 bytes of UTF-8 and refuses 1025 with KeyTooLongError', () => {
    validateObjectKey('k'.repeat(1024));
    validateObjectKey('é'.repeat(512)); // 2 bytes each
    expectS3(() => validateObjectKey('k'.repeat(1025)), 'KeyTooLongError');
    expectS3(() => validateObjectKey('é'.repeat(512) + 'k'), 'KeyTooLongError');
  });

  it('refuses empty keys, NUL and dot segments (path traversal)', () => {
    for (const key of ['', 'a\u0000b', '../../etc/passwd', 'a/../b', './a', 'a/.']) {
      expectS3(() => validateObjectKey(key), 'InvalidArgument');
    }
    for (const key of ['a..b', '...', '.hidden', 'a/.b/c', 'dir//x', '/leading']) validateObjectKey(key);
  });

  it('collects x-amz-meta-* and limits them to 2 KiB', () => {
    assert.deepEqual(extractUserMetadata({ 'x-amz-meta-color': 'blue', 'content-type': 'x', 'x-amz-meta-n': ['1', '2'] }), {
      color: 'blue',
      n: '1,2',
    });
    extractUserMetadata({ 'x-amz-meta-k': 'v'.repeat(2047) });
    expectS3(() => extractUserMetadata({ 'x-amz-meta-k': 'v'.repeat(2048) }), 'MetadataTooLarge');
  });
});

describe('addressing', () => {
  const domains = ['s3.example.com', 'localhost'];

  it('path-style: the first segment is the bucket, the rest the key, decoded once', () => {
    assert.deepEqual(parseAddress('127.0.0.1:9000', '/'), { style: 'path' });
    assert.deepEqual(parseAddress('127.0.0.1:9000', '/bucket'), { bucket: 'bucket', style: 'path' });
    assert.deepEqual(parseAddress('127.0.0.1:9000', '/bucket/?list-type=2'), { bucket: 'bucket', style: 'path' });
    assert.deepEqual(parseAddress('127.0.0.1:9000', '/bucket/a%20b+c%2Fd%2541?x=1'), {
      bucket: 'bucket',
      key: 'a b+c/d%41',
      style: 'path',
    });
    assert.deepEqual(parseAddress('[::1]:9000', '/bucket//x'), { bucket: 'bucket', key: '/x', style: 'path' });
    assert.deepEqual(parseAddress('s3.example.com', '/bucket/%E2%9C%93', domains), { bucket: 'bucket', key: '✓', style: 'path' });
  });

  it('virtual-host-style under a configured domain, with or without a port', () => {
    assert.deepEqual(parseAddress('my.bucket.s3.example.com:9000', '/dir/key%3F', domains), {
      bucket: 'my.bucket',
      key: 'dir/key?',
      style: 'virtual-host',
    });
    assert.deepEqual(parseAddress('Bucket.S3.Example.com', '/', domains), { bucket: 'bucket', style: 'virtual-host' });
    assert.deepEqual(parseAddress('bucket.localhost:9000', '/k', domains), { bucket: 'bucket', key: 'k', style: 'virtual-host' });
    // Hosts outside the configured domains are path-style.
    assert.deepEqual(parseAddress('bucket.elsewhere.org', '/b/k', domains), { bucket: 'b', key: 'k', style: 'path' });
    assert.deepEqual(parseAddress('localhost:9000', '/b/k', domains), { bucket: 'b', key: 'k', style: 'path' });
  });

  it('malformed percent-encoding → InvalidURI', () => {
    expectS3(() => parseAddress('127.0.0.1', '/bucket/%E2%9C'), 'InvalidURI');
    expectS3(() => parseAddress('127.0.0.1', '/bucket/%zz'), 'InvalidURI');
  });
});
