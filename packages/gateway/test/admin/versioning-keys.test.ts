// Master keys and object versions, against a real kes and a real gateway: every version has its own object
// key sealed under a master key, so a rotation job re-wraps every version (noncurrent ones and those under a
// delete marker too, and unfinished uploads), sealing a master key locks every version under it, and deleting
// it erases every version under it while versions rotated away first stay readable. Each version is read
// back before and after, through the SDK; object-status by version id shows what is stored, and the admin
// "dependents" count of a key (every version under it) is what a rotation then moves.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { RotationJob } from '../../src/rotation/index.js';
import { customerKey, startKes, startTestGateway, type TestGateway, type TestKes } from './helpers.js';

let kes: TestKes;
let t: TestGateway;

async function versioned(Bucket: string): Promise<void> {
  await t.s3.send(new CreateBucketCommand({ Bucket }));
  await t.s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
}

async function putKms(Bucket: string, Key: string, Body: string, kmsKey: string): Promise<string> {
  const out = await t.s3.send(new PutObjectCommand({ Bucket, Key, Body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKey }));
  return out.VersionId!;
}

async function read(Bucket: string, Key: string, VersionId: string): Promise<string> {
  const out = await t.s3.send(new GetObjectCommand({ Bucket, Key, VersionId }));
  return out.Body!.transformToString();
}

/** The S3 error code a read of the version fails with. */
async function readError(Bucket: string, Key: string, VersionId: string): Promise<string> {
  try {
    await read(Bucket, Key, VersionId);
  } catch (err) {
    return (err as { Code?: string; name: string }).Code ?? (err as Error).name;
  }
  throw new Error(`${Key} ${VersionId} could still be read`);
}

async function rotate(input: Parameters<TestGateway['admin']['startRotation']>[0]): Promise<RotationJob> {
  const started = await t.admin.startRotation(input);
  return t.gw.admin.rotation.wait(started.id);
}

describe('master keys reach every version of an object', () => {
  before(async () => {
    kes = await startKes(['kesgate-default', 'key-old', 'key-new', 'key-seal', 'key-gone']);
    t = await startTestGateway(kes);
  });
  after(async () => {
    await t?.close();
    await kes?.close();
  });

  test('a rotation job re-wraps every version (noncurrent, under a delete marker) and unfinished uploads; deleting the old key loses nothing', async () => {
    const B = 'rot-versions';
    await versioned(B);
    const a1 = await putKms(B, 'a', 'a one', 'key-old');
    const a2 = await putKms(B, 'a', 'a two', 'key-old');
    const ssec = customerKey('versions');
    const a3 = (
      await t.s3.send(
        new PutObjectCommand({
          Bucket: B,
          Key: 'a',
          Body: 'a three',
          SSECustomerAlgorithm: 'AES256',
          SSECustomerKey: ssec.key.toString('base64'),
          SSECustomerKeyMD5: ssec.md5,
        }),
      )
    ).VersionId!;
    const b1 = await putKms(B, 'b', 'b one', 'key-old');
    const marker = (await t.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'b' }))).VersionId!;
    const c1 = await putKms(B, 'c', 'c one', 'kesgate-default');
    const upload = await t.s3.send(
      new CreateMultipartUploadCommand({ Bucket: B, Key: 'u', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-old' }),
    );
    const part = await t.s3.send(
      new UploadPartCommand({ Bucket: B, Key: 'u', UploadId: upload.UploadId!, PartNumber: 1, Body: 'uploaded' }),
    );
    const rotatable = [
      ['a', a1],
      ['a', a2],
      ['b', b1],
    ] as const;
    for (const [key, id] of rotatable) assert.equal((await t.admin.objectStatus(B, key, id)).sse.kmsKey, 'key-old');

    // What depends on key-old: no current object (a's latest is SSE-C, b's a delete marker), but three versions
    // and the upload — exactly what the rotation then moves.
    const dependents = await t.admin.keyDependents('key-old');
    assert.deepEqual(dependents.buckets, [{ bucket: B, objects: 0, versions: 3, uploads: 1 }]);
    const job = await rotate({ bucket: B, fromKey: 'key-old', toKey: 'key-new' });
    assert.equal(job.state, 'done');
    assert.equal(job.counters.rotated, dependents.versions + dependents.uploads, 'the dependents count is what rotation moves');
    assert.deepEqual((await t.admin.keyDependents('key-old')).buckets, [], 'nothing depends on the old key any more');
    // Versions that are objects (a ×3, b, c) and the upload; the delete marker has no key.
    assert.equal(job.total, 6);
    assert.deepEqual(
      [
        job.counters.scanned,
        job.counters.rotated,
        job.counters.skippedBy['sse-c'],
        job.counters.skippedBy['other-key'],
        job.counters.failed,
      ],
      [6, 4, 1, 1, 0],
    );
    for (const [key, id] of rotatable) {
      const status = await t.admin.objectStatus(B, key, id);
      assert.equal(status.versionId, id);
      assert.equal(status.sse.kmsKey, 'key-new', `${key} ${id}`);
    }
    assert.equal((await t.admin.objectStatus(B, 'c', c1)).sse.kmsKey, 'kesgate-default');
    const onMarker = await t.admin.send('GET', '/object-status', undefined, { bucket: B, key: 'b', versionId: marker });
    assert.equal(onMarker.status, 404);

    await kes.admin.deleteKey('key-old');
    assert.equal(await read(B, 'a', a1), 'a one');
    assert.equal(await read(B, 'a', a2), 'a two');
    assert.equal(await read(B, 'b', b1), 'b one');
    const done = await t.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: 'u',
        UploadId: upload.UploadId!,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] },
      }),
    );
    assert.equal(await read(B, 'u', done.VersionId!), 'uploaded');
    const ssecRead = await t.s3.send(
      new GetObjectCommand({
        Bucket: B,
        Key: 'a',
        VersionId: a3,
        SSECustomerAlgorithm: 'AES256',
        SSECustomerKey: ssec.key.toString('base64'),
        SSECustomerKeyMD5: ssec.md5,
      }),
    );
    assert.equal(await ssecRead.Body!.transformToString(), 'a three');

    // A second run finds every version current.
    const again = await rotate({ bucket: B, toKey: 'key-new' });
    assert.equal(again.counters.rotated, 1, 'only c (under the default key) moves');
    assert.equal(again.counters.skippedBy.current, 4);
  });

  test('sealing a master key locks every version under it, unsealing opens them; deleting it erases them all, other versions unaffected', async () => {
    const B = 'seal-versions';
    await versioned(B);
    const s1 = await putKms(B, 'x', 'sealed one', 'key-seal');
    const s2 = await putKms(B, 'x', 'sealed two', 'key-seal');
    const other = await putKms(B, 'x', 'other key', 'kesgate-default');
    await t.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'x' }));
    const g1 = await putKms(B, 'y', 'gone one', 'key-gone');
    const g2 = await putKms(B, 'y', 'gone two', 'key-gone');
    const kept = await putKms(B, 'y', 'kept', 'key-new');
    // Moved away before the deletion: that version stays readable.
    const moved = await putKms(B, 'z', 'moved away', 'key-gone');
    assert.deepEqual([await read(B, 'x', s1), await read(B, 'x', s2)], ['sealed one', 'sealed two']);

    await kes.admin.sealKey('key-seal');
    assert.deepEqual([await readError(B, 'x', s1), await readError(B, 'x', s2)], ['KMS.DisabledException', 'KMS.DisabledException']);
    assert.equal(await read(B, 'x', other), 'other key');
    await kes.admin.unsealKey('key-seal');
    assert.deepEqual([await read(B, 'x', s1), await read(B, 'x', s2)], ['sealed one', 'sealed two']);

    const job = await rotate({ bucket: B, prefix: 'z', fromKey: 'key-gone', toKey: 'key-new' });
    assert.equal(job.counters.rotated, 1);
    await kes.admin.deleteKey('key-gone');
    assert.deepEqual([await readError(B, 'y', g1), await readError(B, 'y', g2)], ['KMS.NotFoundException', 'KMS.NotFoundException']);
    assert.equal(await read(B, 'y', kept), 'kept');
    assert.equal(await read(B, 'z', moved), 'moved away');
  });
});
