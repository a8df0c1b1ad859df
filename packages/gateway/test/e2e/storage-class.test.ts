// x-amz-storage-class on writes: the gateway has one tier, so STANDARD (and REDUCED_REDUNDANCY, taken as
// STANDARD, as MinIO does) are stored and every other class is refused with 400 InvalidStorageClass — on
// PutObject, CopyObject, CreateMultipartUpload and POST form uploads — and nothing is written.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { startStack, type Stack } from '../helpers/stack.js';
import { getBytes, s3Error } from '../helpers/s3.js';
import { errorCode } from '../edges/raw.js';
import { snapshot } from '../edges/state.js';

const B = 'tiers';
let st: Stack;

before(async () => {
  st = await startStack();
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'source', Body: 'source bytes' }));
});
after(async () => st?.close());

test('STANDARD and REDUCED_REDUNDANCY are stored, and listed as STANDARD', async () => {
  for (const StorageClass of ['STANDARD', 'REDUCED_REDUNDANCY'] as const) {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: `ok-${StorageClass}`, Body: StorageClass, StorageClass }));
    assert.equal((await getBytes(st.s3, { Bucket: B, Key: `ok-${StorageClass}` })).toString(), StorageClass);
  }
  const listed = await st.s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'ok-' }));
  assert.deepEqual(
    listed.Contents?.map((o) => o.StorageClass),
    ['STANDARD', 'STANDARD'],
  );
});

test('any other storage class is refused on PutObject, CopyObject and CreateMultipartUpload, and nothing is written', async () => {
  const before = await snapshot(st.s3, st.dataDir);
  for (const cls of ['GLACIER', 'STANDARD_IA', 'DEEP_ARCHIVE', 'standard', 'NOT-A-CLASS']) {
    const StorageClass = cls as StorageClass;
    const calls = [
      () => st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'refused', Body: 'x', StorageClass })),
      () => st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'refused-copy', CopySource: `${B}/source`, StorageClass })),
      () => st.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'refused-upload', StorageClass })),
    ];
    for (const call of calls) {
      const err = await s3Error(call());
      assert.equal(err.status, 400, cls);
      assert.equal(err.code, 'InvalidStorageClass', cls);
      assert.match(err.message, /stores objects as STANDARD/);
    }
  }
  assert.deepEqual(await snapshot(st.s3, st.dataDir), before, 'no object, upload or file appeared');
});

test('a POST form upload with another storage class is refused and stores nothing', async () => {
  const before = await snapshot(st.s3, st.dataDir);
  const { url, fields } = await createPresignedPost(st.s3, { Bucket: B, Key: 'posted', Fields: { 'x-amz-storage-class': 'GLACIER' } });
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('file', new Blob([new Uint8Array(Buffer.from('form bytes'))]));
  const res = await fetch(url, { method: 'POST', body: fd });
  const body = await res.text();
  assert.equal(res.status, 400, body);
  assert.equal(errorCode(body), 'InvalidStorageClass', body);
  assert.deepEqual(await snapshot(st.s3, st.dataDir), before);
});
