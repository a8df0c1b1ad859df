// A gateway whose config names the two stores separately (SQLite metadata in one directory, fs blobs in
// another) serves S3 through the SDK exactly like the embedded layout: objects, multipart, listing, a
// rotation job (whose database sits beside the metadata, where the factory says), the admin status (kinds
// and places of both stores), and a restart on the same data. A small object (1,000 bytes: within the default
// inline threshold) lives in its metadata row, so the blob store holds nothing for it; the others get a blob.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import {
  ACCESS_KEY,
  SECRET_KEY,
  content,
  gatewayFiles,
  getBytes,
  startKes,
  startTestGateway,
  type GatewayFiles,
  type TestGateway,
  type TestKes,
} from '../admin/helpers.js';
import { uploadInParts } from '../helpers/s3.js';

const B = 'split';

/** The blob files under an fs blob store's data/ directory. */
function blobFiles(dir: string): string[] {
  const data = join(dir, 'data');
  return readdirSync(data).flatMap((shard) => readdirSync(join(data, shard)));
}

describe('a gateway with metadata and blobs configured apart', () => {
  let kes: TestKes;
  let t: TestGateway;
  let files: GatewayFiles;
  let metaDir: string;
  let blobDir: string;
  let backend: { metadata: { sqlite: { path: string } }; blobs: { fs: { path: string } } };
  const stored = new Map<string, Buffer>();

  before(async () => {
    kes = await startKes(['kesgate-default', 'key-a', 'key-b']);
    files = gatewayFiles();
    metaDir = join(files.dir, 'metadata');
    blobDir = join(files.dir, 'blobs');
    backend = { metadata: { sqlite: { path: join(metaDir, 'objects.db') } }, blobs: { fs: { path: blobDir } } };
    t = await startTestGateway(kes, { files, backend });
  });
  after(async () => {
    await t?.close();
    await kes?.close();
  });

  test('serves objects, multipart uploads and listings, keeping metadata and blobs where configured', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: B }));
    for (const [i, key] of ['docs/a.txt', 'docs/b.txt', 'top.bin', 'gone.txt'].entries()) {
      const body = content(key, 1000 + i * 70_000);
      const blobsBefore = blobFiles(blobDir).length;
      await t.s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' }));
      stored.set(key, body);
      // docs/a.txt (1,000 bytes) is inline: no blob; each larger one is one blob.
      const inline = i === 0;
      assert.equal(blobFiles(blobDir).length, blobsBefore + (inline ? 0 : 1), `${key}: ${inline ? 'no blob' : 'one blob'}`);
      assert.equal((await t.admin.objectStatus(B, key)).parts[0]!.inline, inline ? true : undefined, key);
    }
    await t.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'gone.txt' }));
    stored.delete('gone.txt');

    const parts = [content('mp-1', 5 * 1024 * 1024), content('mp-2', 4321)];
    await uploadInParts(t.s3, { Bucket: B, Key: 'docs/big.bin', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' }, parts);
    stored.set('docs/big.bin', Buffer.concat(parts));

    for (const [key, body] of stored) assert.ok((await getBytes(t.s3, B, key)).equals(body), key);
    const listed = await t.s3.send(new ListObjectsV2Command({ Bucket: B, Delimiter: '/' }));
    assert.deepEqual(
      listed.Contents?.map((o) => o.Key),
      ['top.bin'],
    );
    assert.deepEqual(
      listed.CommonPrefixes?.map((p) => p.Prefix),
      ['docs/'],
    );

    // Metadata in its directory, one blob file per stored part in the other (but the inline one), nothing anywhere else.
    assert.ok(existsSync(join(metaDir, 'objects.db')));
    assert.equal(existsSync(join(blobDir, 'meta.db')), false);
    assert.equal(
      blobFiles(blobDir).length,
      4,
      "two single-part objects in blobs and both parts of the multipart one (parts are never inline); the deleted object's blob is gone",
    );
    assert.equal(existsSync(files.dataDir), false, 'nothing at the embedded default');
  });

  test('status names both stores and where they are, without credentials', async () => {
    const s = await t.admin.status();
    assert.equal(s.backend.type, 'sqlite+fs');
    assert.equal(s.backend.path, undefined);
    assert.deepEqual(s.backend.metadata, { kind: 'sqlite', path: join(metaDir, 'objects.db') });
    assert.deepEqual(s.backend.blobs, { kind: 'fs', path: blobDir });
    assert.deepEqual(s.backend.stats, await t.gw.svc.store.stats());
    assert.equal(s.backend.stats.objects, stored.size);
    const text = JSON.stringify(s);
    for (const secret of [SECRET_KEY, ACCESS_KEY]) assert.equal(text.includes(secret), false);
  });

  test('keeps rotation jobs beside the metadata, and they rotate these objects', async () => {
    const started = await t.admin.startRotation({ bucket: B, toKey: 'key-b' });
    const job = await t.gw.admin.rotation.wait(started.id);
    assert.equal(job.state, 'done');
    assert.equal(job.counters.rotated, stored.size);
    assert.ok(existsSync(join(metaDir, 'rotation.db')), 'the job database sits beside the metadata');
    assert.equal(existsSync(join(blobDir, 'rotation.db')), false);
    for (const key of stored.keys()) assert.equal((await t.admin.objectStatus(B, key)).sse.kmsKey, 'key-b', key);
  });

  test('reopens the same data after a restart', async () => {
    await t.close();
    t = await startTestGateway(kes, { files, backend });
    for (const [key, body] of stored) assert.ok((await getBytes(t.s3, B, key)).equals(body), key);
    assert.deepEqual(
      (await t.admin.rotations()).map((j) => j.state),
      ['done'],
      'the finished job is still listed',
    );
    assert.equal(blobFiles(blobDir).length, 4, 'the sweep at start removed nothing referenced');
  });
});
