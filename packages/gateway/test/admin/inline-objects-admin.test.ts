// Small objects inline (the default) through everything that used to assume a data file per object, against a
// real kes and a real gateway with its admin API: object-status says "inline" and object-raw returns the stored
// package; a rotation re-wraps only the row (the stored bytes stay, no data file appears) and the old master key
// can then be deleted; key dependents count inline versions; DeleteObjects removes inline and file objects alike;
// the status totals the console shows count inline objects' stored bytes; copies move objects between a data file
// and the row (a gateway restarted with another threshold); restarts and their sweeps leave inline objects alone.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { LayeredObjectStore } from '../../src/storage/index.js';
import {
  content,
  gatewayFiles,
  getBytes,
  startKes,
  startTestGateway,
  type GatewayFiles,
  type TestGateway,
  type TestKes,
} from './helpers.js';

const B = 'inline-admin';
const V = 'inline-admin-v';

/** The data files under the fs backend's data/ directory. */
function dataFiles(dataDir: string): string[] {
  const root = join(dataDir, 'data');
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)));
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('small objects inline, through the admin API, rotation, deletes, copies and restarts', () => {
  let kes: TestKes;
  let files: GatewayFiles;
  let t: TestGateway;

  async function restart(inlineThreshold?: number): Promise<void> {
    await t.close();
    t = await startTestGateway(kes, {
      files,
      ...(inlineThreshold !== undefined && { backend: { fs: { path: files.dataDir }, inlineThreshold } }),
    });
  }

  const store = (): LayeredObjectStore => {
    assert.ok(t.gw.svc.store instanceof LayeredObjectStore);
    return t.gw.svc.store;
  };

  const putKms = (Bucket: string, Key: string, Body: Buffer, kmsKey = 'key-old') =>
    t.s3.send(new PutObjectCommand({ Bucket, Key, Body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKey }));

  before(async () => {
    kes = await startKes(['kesgate-default', 'key-old', 'key-new']);
    files = gatewayFiles();
    t = await startTestGateway(kes, { files });
    await t.s3.send(new CreateBucketCommand({ Bucket: B }));
    await t.s3.send(new CreateBucketCommand({ Bucket: V }));
    await t.s3.send(new PutBucketVersioningCommand({ Bucket: V, VersioningConfiguration: { Status: 'Enabled' } }));
  });
  after(async () => {
    await t?.close();
    await kes?.close();
  });

  test('object-status says inline, object-raw returns the stored package; a larger object has a data file', async () => {
    const small = content('small', 3000);
    const large = content('large', 20_000);
    await putKms(B, 'small', small);
    await putKms(B, 'large', large);
    const [s, l] = [await t.admin.objectStatus(B, 'small'), await t.admin.objectStatus(B, 'large')];
    assert.equal(s.parts[0]!.inline, true);
    assert.equal(s.parts[0]!.encSize, 3032);
    assert.equal(l.parts[0]!.inline, undefined);
    assert.deepEqual(dataFiles(files.dataDir), [l.parts[0]!.dataId], 'one data file: the large object’s');
    const raw = await t.admin.objectRaw(B, 'small');
    assert.equal(raw.length, 3032);
    assert.ok(raw.equals((await store().getObject(B, 'small'))!.parts[0]!.inline!), 'object-raw is the row’s bytes');
    assert.equal(raw.indexOf(small.subarray(0, 32)), -1, 'and it is ciphertext');
  });

  test('rotation re-wraps inline objects and versions in their rows only; the old key deleted, all still read; key dependents follow', async () => {
    const v1 = content('v1', 100);
    const v2 = content('v2', 4096);
    const id1 = (await putKms(V, 'k', v1)).VersionId!;
    const id2 = (await putKms(V, 'k', v2)).VersionId!;
    const deps = await t.admin.keyDependents('key-old');
    assert.deepEqual(
      deps.buckets.map((b) => [b.bucket, b.objects, b.versions]),
      [
        [B, 2, 2],
        [V, 1, 2],
      ],
      'inline objects and noncurrent versions count like the others',
    );

    const rawBefore = new Map<string, string>();
    for (const [bucket, key, versionId] of [
      [B, 'small', undefined],
      [V, 'k', id1],
      [V, 'k', id2],
    ] as const) {
      rawBefore.set(`${bucket}/${key}/${versionId}`, sha(await t.admin.objectRaw(bucket, key, undefined, versionId)));
    }
    const filesBefore = dataFiles(files.dataDir);
    const sseBefore = (await t.admin.objectStatus(V, 'k', id1)).sse;

    for (const bucket of [B, V]) {
      const started = await t.admin.startRotation({ bucket, fromKey: 'key-old', toKey: 'key-new' });
      const job = await t.gw.admin.rotation.wait(started.id);
      assert.deepEqual([job.state, job.counters.failed], ['done', 0], bucket);
    }
    assert.deepEqual(dataFiles(files.dataDir), filesBefore, 'no data file was written or removed');
    for (const [bucket, key, versionId] of [
      [B, 'small', undefined],
      [V, 'k', id1],
      [V, 'k', id2],
    ] as const) {
      assert.equal(sha(await t.admin.objectRaw(bucket, key, undefined, versionId)), rawBefore.get(`${bucket}/${key}/${versionId}`));
      const status = await t.admin.objectStatus(bucket, key, versionId);
      assert.equal(status.parts[0]!.inline, true);
      assert.equal(status.sse.kmsKey, 'key-new', `${bucket}/${key} ${versionId ?? ''}`);
    }
    assert.notEqual((await t.admin.objectStatus(V, 'k', id1)).sse.kmsCiphertext, sseBefore.kmsCiphertext, 're-wrapped');
    assert.equal((await t.admin.keyDependents('key-old')).versions, 0, 'nothing depends on the old key any more');

    await kes.admin.deleteKey('key-old');
    assert.ok((await getBytes(t.s3, B, 'small')).equals(content('small', 3000)));
    assert.ok((await getBytes(t.s3, B, 'large')).equals(content('large', 20_000)));
    const read = async (VersionId: string) =>
      Buffer.from(await (await t.s3.send(new GetObjectCommand({ Bucket: V, Key: 'k', VersionId }))).Body!.transformToByteArray());
    assert.ok((await read(id1)).equals(v1));
    assert.ok((await read(id2)).equals(v2));
  });

  test('the totals the status (and the console) shows count inline objects by their stored bytes', async () => {
    const status = await t.admin.status();
    const stats = status.backend.stats!;
    // B: small (3,000 → 3,032 inline) and large (20,000 → 20,032); V: two versions (100 → 132, 4,096 → 4,128).
    assert.deepEqual([stats.objects, stats.bytes, stats.storedBytes], [4, 3000 + 20_000 + 100 + 4096, 3032 + 20_032 + 132 + 4128]);
    const kms = status.backend.sseTotals!.find((m) => m.sse === 'SSE-KMS')!;
    assert.deepEqual([kms.objects, kms.storedBytes], [4, 3032 + 20_032 + 132 + 4128]);
  });

  test('DeleteObjects removes inline objects and versions with the others: rows gone, the data file of the large one too', async () => {
    await putKms(B, 'gone-small', content('gone-small', 500), 'key-new');
    await putKms(B, 'gone-large', content('gone-large', 30_000), 'key-new');
    const filesBefore = dataFiles(files.dataDir);
    const largeId = (await t.admin.objectStatus(B, 'gone-large')).parts[0]!.dataId;
    const versions = (await store().listVersions({ bucket: V, maxKeys: 1000 })).versions.map((v) => v.versionId);
    const out = await t.s3.send(
      new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'gone-small' }, { Key: 'gone-large' }, { Key: 'never-was' }] } }),
    );
    assert.deepEqual(out.Deleted?.map((d) => d.Key).sort(), ['gone-large', 'gone-small', 'never-was']);
    assert.deepEqual(out.Errors ?? [], []);
    const outV = await t.s3.send(
      new DeleteObjectsCommand({ Bucket: V, Delete: { Objects: versions.map((VersionId) => ({ Key: 'k', VersionId })) } }),
    );
    assert.equal(outV.Deleted?.length, 2);
    assert.deepEqual(
      dataFiles(files.dataDir).sort(),
      filesBefore.filter((f) => f !== largeId).sort(),
      'only the large object had a data file, and it is gone',
    );
    for (const Key of ['gone-small', 'gone-large']) {
      await assert.rejects(t.s3.send(new HeadObjectCommand({ Bucket: B, Key })), { name: 'NotFound' });
    }
    assert.equal((await store().listVersions({ bucket: V, maxKeys: 1000 })).versions.length, 0, 'no version row left');
    const stats = (await t.admin.status()).backend.stats!;
    assert.deepEqual([stats.objects, stats.storedBytes], [2, 3032 + 20_032]);
  });

  test('copies move small objects between a data file and the row, and restarts (and their sweeps) leave inline objects alone', async () => {
    // A gateway that keeps everything in files (inlineThreshold 0) writes a small object: a data file.
    await restart(0);
    const body = content('old-small', 2000);
    await putKms(B, 'old-small', body, 'key-new');
    const oldId = (await t.admin.objectStatus(B, 'old-small')).parts[0]!.dataId;
    assert.ok(dataFiles(files.dataDir).includes(oldId));
    // It still reads the inline objects written before.
    assert.ok((await getBytes(t.s3, B, 'small')).equals(content('small', 3000)));
    // And its copy of an inline object is a data file.
    await t.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-to-file', CopySource: `${B}/small` }));
    const toFile = await t.admin.objectStatus(B, 'copy-to-file');
    assert.equal(toFile.parts[0]!.inline, undefined);
    assert.ok(dataFiles(files.dataDir).includes(toFile.parts[0]!.dataId));

    // Back to the default: copies of the small file objects are inline; copying one onto itself moves it into its row.
    await restart();
    assert.equal(store().startupSweep!.orphanDataFilesRemoved, 0, 'the sweep at start took nothing');
    await t.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-to-row', CopySource: `${B}/old-small` }));
    assert.equal((await t.admin.objectStatus(B, 'copy-to-row')).parts[0]!.inline, true);
    await t.s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: 'old-small',
        CopySource: `${B}/old-small`,
        MetadataDirective: 'REPLACE',
        Metadata: { moved: 'yes' },
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'key-new',
      }),
    );
    assert.equal((await t.admin.objectStatus(B, 'old-small')).parts[0]!.inline, true);
    assert.equal(dataFiles(files.dataDir).includes(oldId), false, 'its data file was reclaimed');
    // A part copied from an inline object is a data file (parts are never inline); the object reads whole.
    const { UploadId } = await t.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp-from-inline' }));
    const part = await t.s3.send(
      new UploadPartCopyCommand({ Bucket: B, Key: 'mp-from-inline', UploadId, PartNumber: 1, CopySource: `${B}/small` }),
    );
    await t.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: 'mp-from-inline',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.CopyPartResult!.ETag! }] },
      }),
    );
    const mp = await t.admin.objectStatus(B, 'mp-from-inline');
    assert.equal(mp.parts[0]!.inline, undefined);
    assert.ok(dataFiles(files.dataDir).includes(mp.parts[0]!.dataId));

    const expected = new Map([
      ['small', content('small', 3000)],
      ['large', content('large', 20_000)],
      ['old-small', body],
      ['copy-to-file', content('small', 3000)],
      ['copy-to-row', body],
      ['mp-from-inline', content('small', 3000)],
    ]);
    await restart();
    const swept = await store().sweep();
    assert.deepEqual([store().startupSweep!.orphanDataFilesRemoved, swept.orphanDataFilesRemoved], [0, 0]);
    const listed = await t.s3.send(new ListObjectsV2Command({ Bucket: B }));
    assert.deepEqual(listed.Contents?.map((o) => o.Key).sort(), [...expected.keys()].sort());
    for (const [key, want] of expected) assert.ok((await getBytes(t.s3, B, key)).equals(want), key);
    // Exactly the objects in files have one: large, copy-to-file, the part.
    assert.equal(dataFiles(files.dataDir).length, 3);
  });
});
