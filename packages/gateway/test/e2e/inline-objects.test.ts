// Small objects inline, through the AWS SDK against a real gateway and kes: a PUT (or copy) of an object whose
// encrypted package fits backend.inlineThreshold (8 KiB stored, as recommended) writes no data file; a larger one
// writes one; both read whole and by range in every SSE mode; overwrites and versions mix the two; and
// `inlineThreshold: 0` keeps every object in a file.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { getBytes, ssec } from '../helpers/s3.js';
import { objectStatus, openRawPart } from '../../src/admin/object-info.js';
import { RECOMMENDED_INLINE_THRESHOLD } from '../../src/storage/inline-data.js';
import { startStack, type Stack } from '../helpers/stack.js';

const B = 'inline';
const KiB = 1024;

/** The data files under the blob directory (every file but temp files). */
function dataFiles(dir: string): string[] {
  const root = join(dir, 'data');
  if (!existsSync(root)) return [];
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  return walk(root);
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

describe('small objects inline (the recommended threshold)', () => {
  let st: Stack;
  before(async () => {
    st = await startStack({
      keys: ['tenant-i'],
      gateway: { backend: { fs: { path: 'gateway-data' }, inlineThreshold: RECOMMENDED_INLINE_THRESHOLD } },
    });
    await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => st?.close());

  it('a 4 KiB PUT writes no data file in any SSE mode; a 16 KiB one writes one; all read back whole and by range', async () => {
    const small = randomBytes(4 * KiB);
    const put = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 's3-small', Body: small }));
    assert.equal(put.ETag, `"${md5(small)}"`);
    await st.s3.send(
      new PutObjectCommand({ Bucket: B, Key: 'kms-small', Body: small, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'tenant-i' }),
    );
    const c = ssec();
    await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'c-small', Body: small, ...c.put }));
    assert.deepEqual(dataFiles(st.dataDir), [], 'no data file for an inline object');
    const record = await st.gw.svc.store.getObject(B, 's3-small');
    assert.equal(record!.parts[0]!.inline?.length, record!.parts[0]!.encSize, 'stored inline, as the encrypted package');
    assert.equal(record!.parts[0]!.inline!.includes(small.subarray(0, 64)), false, 'never the plaintext');

    const large = randomBytes(16 * KiB);
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 's3-large', Body: large }));
    assert.equal(dataFiles(st.dataDir).length, 1, 'one data file for an object above the threshold');

    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 's3-small' })).equals(small));
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'kms-small' })).equals(small));
    assert.ok((await getBytes(st.s3tls, { Bucket: B, Key: 'c-small', ...c.put })).equals(small));
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 's3-large' })).equals(large));
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 's3-small', Range: 'bytes=1000-1999' })).equals(small.subarray(1000, 2000)));
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'kms-small', Range: 'bytes=-10' })).equals(small.subarray(-10)));
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 's3-small' }));
    assert.equal(head.ContentLength, small.length);

    // What the admin API's object-status and object-raw answer: where the bytes are, and the stored package.
    const status = await objectStatus(st.gw.svc.store, B, 's3-small');
    assert.equal(status.parts[0]!.inline, true);
    assert.equal((await objectStatus(st.gw.svc.store, B, 's3-large')).parts[0]!.inline, undefined);
    const raw = await openRawPart(st.gw.svc.store, B, 's3-small', undefined);
    const chunks: Buffer[] = [];
    for await (const chunk of raw.stream) chunks.push(chunk as Buffer);
    assert.ok(Buffer.concat(chunks).equals(record!.parts[0]!.inline!), 'the raw part is the stored package');
  });

  it('copies inline objects to inline objects, and overwriting a large object with a small one removes its file', async () => {
    const before = dataFiles(st.dataDir);
    await st.s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: 'copy-small',
        CopySource: `${B}/s3-small`,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'tenant-i',
      }),
    );
    assert.deepEqual(dataFiles(st.dataDir), before, 'the copy is inline too');
    const original = await getBytes(st.s3, { Bucket: B, Key: 's3-small' });
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'copy-small' })).equals(original));
    // A large object copied is a file; replaced by a small one, its file goes.
    await st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-large', CopySource: `${B}/s3-large` }));
    assert.equal(dataFiles(st.dataDir).length, before.length + 1);
    const small = randomBytes(100);
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'copy-large', Body: small }));
    assert.deepEqual(dataFiles(st.dataDir), before);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'copy-large' })).equals(small));
  });

  it('keeps inline and file versions of one key apart in a versioned bucket', async () => {
    await st.s3.send(new CreateBucketCommand({ Bucket: 'inline-v' }));
    await st.s3.send(new PutBucketVersioningCommand({ Bucket: 'inline-v', VersioningConfiguration: { Status: 'Enabled' } }));
    const files = dataFiles(st.dataDir).length;
    const one = randomBytes(10);
    const two = randomBytes(20 * KiB);
    const v1 = await st.s3.send(new PutObjectCommand({ Bucket: 'inline-v', Key: 'k', Body: one }));
    const v2 = await st.s3.send(new PutObjectCommand({ Bucket: 'inline-v', Key: 'k', Body: two }));
    assert.equal(dataFiles(st.dataDir).length, files + 1);
    assert.ok((await getBytes(st.s3, { Bucket: 'inline-v', Key: 'k', VersionId: v1.VersionId })).equals(one));
    assert.ok((await getBytes(st.s3, { Bucket: 'inline-v', Key: 'k', VersionId: v2.VersionId })).equals(two));
    assert.ok((await getBytes(st.s3, { Bucket: 'inline-v', Key: 'k' })).equals(two));
  });
});

describe('inlineThreshold: 0', () => {
  let st: Stack;
  before(async () => {
    st = await startStack({ gateway: { backend: { fs: { path: 'gateway-data' }, inlineThreshold: 0 } } });
    await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => st?.close());

  it('keeps even a one-byte object in a data file', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'tiny', Body: Buffer.from('x') }));
    assert.equal(dataFiles(st.dataDir).length, 1);
    assert.equal((await st.gw.svc.store.getObject(B, 'tiny'))!.parts[0]!.inline, undefined);
    assert.equal((await getBytes(st.s3, { Bucket: B, Key: 'tiny' })).toString(), 'x');
  });
});
