// S3 Bucket Keys and the key cache, through the SDK against a real gateway and kes: the header and the bucket
// setting, what is stored, kes calls saved, and that kes stays in charge — a seal or a delete stops reads and
// writes within the cache's bound.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetBucketEncryptionCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { objectPath } from '@kesgate/dare';
import { KESGATE_SSE_BIN, runCli } from '../helpers/cli.js';
import type { CachingKMS } from '../../src/kms/caching-kms.js';
import { BucketKeyPool, bucketKeyContext } from '../../src/sse/bucket-keys.js';
import type { StoredSSE } from '../../src/sse/types.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { exists, getBytes, s3Error, ssec, withHeaders } from '../helpers/s3.js';

const BK = 'x-amz-server-side-encryption-bucket-key-enabled';

async function stored(st: Stack, bucket: string, key: string): Promise<StoredSSE> {
  const rec = await st.gw.svc.store.getObject(bucket, key);
  assert.ok(rec, `${bucket}/${key} is stored`);
  return rec.sse;
}

/** kes calls the gateway made so far (generate + decrypt, any outcome), from its own metrics. */
async function kesCalls(st: Stack): Promise<number> {
  const m = await st.gw.svc.metrics.kms.get();
  return m.values.filter((v) => v.metricName === 'kesgate_kms_request_duration_seconds_count').reduce((n, v) => n + v.value, 0);
}

/** Polls `attempt` until it fails (at most 5 s: the 1 s cache bound plus a margin); returns the failure. */
async function failsWithin5s(attempt: () => Promise<unknown>): Promise<{ code: string; status: number }> {
  const until = Date.now() + 5000;
  for (;;) {
    try {
      await attempt();
    } catch (e) {
      const err = e as { name: string; Code?: string; $metadata?: { httpStatusCode?: number } };
      return { code: err.Code ?? err.name, status: err.$metadata?.httpStatusCode ?? 0 };
    }
    if (Date.now() > until) assert.fail('still served 5 s after kes refused the key');
    await sleep(100);
  }
}

describe('bucket keys, cache bound 1 s', () => {
  let st: Stack;
  const B = 'bucket-keys';
  const data = randomBytes(10_000);

  before(async () => {
    st = await startStack({ keys: ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d'], shares: 3, threshold: 2, keyCacheSeconds: 1 });
    await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => st?.close());

  /** `data` under `Key`, SSE-KMS with the master key `keyId` and a bucket key. */
  const putUnderBucketKey = (keyId: string, Key: string) =>
    st.s3.send(
      new PutObjectCommand({ Bucket: B, Key, Body: data, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId, BucketKeyEnabled: true }),
    );

  test('SSE-S3 and SSE-KMS with BucketKeyEnabled: echoed on PUT, GET and HEAD; stored as a bucket key, readable', async () => {
    const s3 = await st.s3.send(
      new PutObjectCommand({ Bucket: B, Key: 's3', Body: data, ServerSideEncryption: 'AES256', BucketKeyEnabled: true }),
    );
    assert.equal(s3.BucketKeyEnabled, true);
    assert.equal(s3.ServerSideEncryption, 'AES256');
    const kms = await st.s3.send(
      new PutObjectCommand({
        Bucket: B,
        Key: 'kms',
        Body: data,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'tenant-a',
        BucketKeyEnabled: true,
      }),
    );
    assert.deepEqual([kms.BucketKeyEnabled, kms.SSEKMSKeyId], [true, 'tenant-a']);
    for (const Key of ['s3', 'kms']) {
      const get = await st.s3.send(new GetObjectCommand({ Bucket: B, Key }));
      assert.equal(get.BucketKeyEnabled, true, `GET ${Key}`);
      assert.ok(Buffer.from(await get.Body!.transformToByteArray()).equals(data));
      assert.equal((await st.s3.send(new HeadObjectCommand({ Bucket: B, Key }))).BucketKeyEnabled, true, `HEAD ${Key}`);
      const sse = await stored(st, B, Key);
      assert.equal(typeof sse.bucketKey?.id, 'string');
      assert.equal(typeof sse.bucketKey?.kmsCiphertext, 'string');
      assert.equal(sse.kmsCiphertext, undefined, 'no data key of its own');
    }
    // Two objects under one master key in one bucket share the bucket key, each with its own IV and sealed key.
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 's3-2', Body: data, ServerSideEncryption: 'AES256', BucketKeyEnabled: true }));
    const [one, two] = [await stored(st, B, 's3'), await stored(st, B, 's3-2')];
    assert.equal(one.bucketKey!.id, two.bucketKey!.id);
    assert.notEqual(one.iv, two.iv);
    assert.notEqual(one.sealedKey, two.sealedKey);
    // Without the header nothing changes: a data key per object, and no bucket-key header in the answer.
    const plain = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'plain', Body: data }));
    assert.equal(plain.BucketKeyEnabled, undefined);
    assert.equal((await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'plain' }))).BucketKeyEnabled, undefined);
    assert.equal((await stored(st, B, 'plain')).bucketKey, undefined);
  });

  test('an SSE-KMS encryption context is bound: kept, and a tampered one does not open the object', async () => {
    const ctx = Buffer.from('{"app":"billing"}').toString('base64');
    await st.s3.send(
      new PutObjectCommand({
        Bucket: B,
        Key: 'ctx',
        Body: data,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'tenant-a',
        SSEKMSEncryptionContext: ctx,
        BucketKeyEnabled: true,
      }),
    );
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'ctx' })).equals(data));
    const sse = await stored(st, B, 'ctx');
    assert.ok(sse.bucketKey);
    // Another context in the metadata: kes no longer unwraps the bucket key (after the cache's bound).
    const rec = (await st.gw.svc.store.getObject(B, 'ctx'))!;
    const forged = { ...sse, kmsContext: Buffer.from('{"app":"other"}').toString('base64') };
    await st.gw.svc.store.updateObjectSSE(B, 'ctx', rec.revision, forged, rec.versionId);
    const r = await failsWithin5s(() => getBytes(st.s3, { Bucket: B, Key: 'ctx' }));
    assert.equal(r.status >= 400, true, `refused, got ${r.status} ${r.code}`);
  });

  test('the kesgate-sse CLI opens a bucket-key object from what is stored and the bucket key kes unwraps', async () => {
    // Large enough to have a data file of its own (small objects may live in the metadata store).
    const big = randomBytes(300_000);
    await st.s3.send(
      new PutObjectCommand({
        Bucket: B,
        Key: 'cli/obj',
        Body: big,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'tenant-a',
        BucketKeyEnabled: true,
      }),
    );
    const rec = (await st.gw.svc.store.getObject(B, 'cli/obj'))!;
    const sse = rec.sse;
    const ek = await st.kesAdmin.decryptKey(
      sse.kmsKey!,
      Buffer.from(sse.bucketKey!.kmsCiphertext, 'base64'),
      bucketKeyContext(B, sse.bucketKey!.id),
      sse.kmsKeyVersion,
    );
    const unsealed = await runCli(KESGATE_SSE_BIN, [
      'unseal',
      '--ek',
      ek.toString('hex'),
      '--iv',
      sse.iv,
      '--domain',
      sse.sse,
      '--path',
      objectPath(B, 'cli/obj'),
      '--sealed',
      sse.sealedKey,
    ]);
    assert.equal(unsealed.code, 0, unsealed.stderr);
    const id = rec.parts[0]!.dataId;
    const plain = await runCli(KESGATE_SSE_BIN, ['decrypt', '--key', unsealed.stdout.trim()], {
      input: readFileSync(join(st.dataDir, 'data', id.slice(0, 2), id)),
    });
    assert.equal(plain.code, 0, plain.stderr);
    assert.ok(plain.stdoutBytes.equals(big));
  });

  test('a bad header value → 400 InvalidArgument, nothing stored; with SSE-C → 400 InvalidArgument', async () => {
    for (const value of ['yes', '1', '']) {
      const r = await s3Error(
        st.s3.send(
          withHeaders(new PutObjectCommand({ Bucket: B, Key: `bad-${value}`, Body: data, ServerSideEncryption: 'AES256' }), {
            [BK]: value,
          }),
        ),
      );
      assert.deepEqual([r.status, r.code], [400, 'InvalidArgument'], `value "${value}"`);
      assert.equal(await exists(st.s3, B, `bad-${value}`), false);
    }
    const k = ssec();
    const r = await s3Error(
      st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'ssec-bk', Body: data, ...k.put, BucketKeyEnabled: true })),
    );
    assert.deepEqual([r.status, r.code], [400, 'InvalidArgument']);
    assert.equal(await exists(st.s3, B, 'ssec-bk'), false);
    const mp = await s3Error(
      st.s3tls.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'ssec-mp', ...k.put, BucketKeyEnabled: true })),
    );
    assert.deepEqual([mp.status, mp.code], [400, 'InvalidArgument']);
  });

  test('PutBucketEncryption with BucketKeyEnabled round-trips; new objects use bucket keys; the header false opts out', async () => {
    const bucket = 'bucket-keys-default';
    await st.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await st.s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'tenant-b' }, BucketKeyEnabled: true }],
        },
      }),
    );
    const cfg = await st.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    assert.equal(cfg.ServerSideEncryptionConfiguration?.Rules?.[0]?.BucketKeyEnabled, true);
    assert.equal(cfg.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.KMSMasterKeyID, 'tenant-b');

    const on = await st.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'default', Body: data }));
    assert.deepEqual([on.ServerSideEncryption, on.SSEKMSKeyId, on.BucketKeyEnabled], ['aws:kms', 'tenant-b', true]);
    assert.ok((await stored(st, bucket, 'default')).bucketKey);
    const off = await st.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'opt-out', Body: data, BucketKeyEnabled: false }));
    assert.deepEqual([off.SSEKMSKeyId, off.BucketKeyEnabled], ['tenant-b', undefined]);
    const sse = await stored(st, bucket, 'opt-out');
    assert.equal(sse.bucketKey, undefined);
    assert.equal(typeof sse.kmsCiphertext, 'string');
    assert.ok((await getBytes(st.s3, { Bucket: bucket, Key: 'opt-out' })).equals(data));

    await st.s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      }),
    );
    const none = await st.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    assert.equal(none.ServerSideEncryptionConfiguration?.Rules?.[0]?.BucketKeyEnabled, false);
    assert.equal((await st.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: data }))).BucketKeyEnabled, undefined);
  });

  test('multipart: CreateMultipartUpload, UploadPart and Complete echo it; the object reads back', async () => {
    const Key = 'mp';
    const create = await st.s3.send(
      new CreateMultipartUploadCommand({
        Bucket: B,
        Key,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'tenant-a',
        BucketKeyEnabled: true,
      }),
    );
    assert.equal(create.BucketKeyEnabled, true);
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1000)];
    const done: { PartNumber: number; ETag: string }[] = [];
    for (const [i, Body] of parts.entries()) {
      const r = await st.s3.send(new UploadPartCommand({ Bucket: B, Key, UploadId: create.UploadId, PartNumber: i + 1, Body }));
      assert.equal(r.BucketKeyEnabled, true, `part ${i + 1}`);
      done.push({ PartNumber: i + 1, ETag: r.ETag! });
    }
    const complete = await st.s3.send(
      new CompleteMultipartUploadCommand({ Bucket: B, Key, UploadId: create.UploadId, MultipartUpload: { Parts: done } }),
    );
    assert.equal(complete.BucketKeyEnabled, true);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key })).equals(Buffer.concat(parts)));
    assert.ok((await stored(st, B, Key)).bucketKey);
  });

  test('CopyObject with BucketKeyEnabled: echoed, and a copy without it gets a data key of its own', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'copy-src', Body: data }));
    const c = await st.s3.send(
      new CopyObjectCommand({
        Bucket: B,
        Key: 'copy-bk',
        CopySource: `${B}/copy-src`,
        ServerSideEncryption: 'AES256',
        BucketKeyEnabled: true,
      }),
    );
    assert.equal(c.BucketKeyEnabled, true);
    assert.ok((await stored(st, B, 'copy-bk')).bucketKey);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'copy-bk' })).equals(data));
    const back = await st.s3.send(
      new CopyObjectCommand({ Bucket: B, Key: 'copy-plain', CopySource: `${B}/copy-bk`, ServerSideEncryption: 'AES256' }),
    );
    assert.equal(back.BucketKeyEnabled, undefined);
    assert.equal((await stored(st, B, 'copy-plain')).bucketKey, undefined);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'copy-plain' })).equals(data));
  });

  test('reads still work after the cached keys expired (kes asked again)', async () => {
    await st.s3.send(
      new PutObjectCommand({ Bucket: B, Key: 'expiry', Body: data, ServerSideEncryption: 'AES256', BucketKeyEnabled: true }),
    );
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'expiry' })).equals(data));
    const before = await kesCalls(st);
    await sleep(1300);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'expiry' })).equals(data));
    assert.ok((await kesCalls(st)) > before, 'kes was asked again once the cached key expired');
    await st.s3.send(
      new PutObjectCommand({ Bucket: B, Key: 'expiry-2', Body: data, ServerSideEncryption: 'AES256', BucketKeyEnabled: true }),
    );
    assert.equal(
      (await stored(st, B, 'expiry-2')).bucketKey!.id,
      (await stored(st, B, 'expiry')).bucketKey!.id,
      'the bucket key outlives its cache entry',
    );
  });

  test('kes sealed: bucket-key GETs and PUTs fail with 503 within the bound, nothing written; unseal restores', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'seal', Body: data, ServerSideEncryption: 'AES256', BucketKeyEnabled: true }));
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'seal' })).equals(data), 'read once: its key is cached');
    await st.kesAdmin.seal();
    try {
      const g = await failsWithin5s(() => getBytes(st.s3, { Bucket: B, Key: 'seal' }));
      assert.deepEqual([g.status, g.code], [503, 'ServiceUnavailable']);
      const p = await s3Error(
        st.s3.send(
          new PutObjectCommand({ Bucket: B, Key: 'while-sealed', Body: data, ServerSideEncryption: 'AES256', BucketKeyEnabled: true }),
        ),
      );
      assert.deepEqual([p.status, p.code], [503, 'ServiceUnavailable']);
      assert.equal(await exists(st.s3, B, 'while-sealed'), false);
    } finally {
      await st.kesAdmin.unseal(st.shares[0]!);
      await st.kesAdmin.unseal(st.shares[1]!);
    }
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'seal' })).equals(data));
    await st.s3.send(
      new PutObjectCommand({ Bucket: B, Key: 'after-seal', Body: data, ServerSideEncryption: 'AES256', BucketKeyEnabled: true }),
    );
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'after-seal' })).equals(data));
  });

  test('a master key sealed: 403 KMS.DisabledException for its bucket-key objects and writes, within the bound', async () => {
    const put = (Key: string) => putUnderBucketKey('tenant-c', Key);
    await put('c1');
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'c1' })).equals(data));
    await st.kesAdmin.sealKey('tenant-c');
    try {
      const g = await failsWithin5s(() => getBytes(st.s3, { Bucket: B, Key: 'c1' }));
      assert.deepEqual([g.status, g.code], [403, 'KMS.DisabledException']);
      const p = await s3Error(put('c2'));
      assert.deepEqual([p.status, p.code], [403, 'KMS.DisabledException']);
      assert.equal(await exists(st.s3, B, 'c2'), false);
      assert.ok((await getBytes(st.s3, { Bucket: B, Key: 's3' })).equals(data), 'other keys unaffected');
    } finally {
      await st.kesAdmin.unsealKey('tenant-c');
    }
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'c1' })).equals(data));
  });

  test('a master key deleted: its bucket-key objects are unreadable for good within the bound; a re-created key writes anew', async () => {
    const put = (Key: string) => putUnderBucketKey('tenant-d', Key);
    await put('d1');
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'd1' })).equals(data));
    await st.kesAdmin.deleteKey('tenant-d');
    const g = await failsWithin5s(() => getBytes(st.s3, { Bucket: B, Key: 'd1' }));
    assert.deepEqual([g.status, g.code], [400, 'KMS.NotFoundException']);
    const p = await s3Error(put('d2'));
    assert.deepEqual([p.status, p.code], [400, 'KMS.NotFoundException']);
    assert.equal(await exists(st.s3, B, 'd2'), false);
    await st.kesAdmin.createKey('tenant-d');
    const again = await s3Error(getBytes(st.s3, { Bucket: B, Key: 'd1' }));
    assert.deepEqual([again.status, again.code], [400, 'KMS.NotFoundException'], 'a key of the same name does not bring it back');
    // The old bucket key is retired when kes refuses it: a new one is made under the new key.
    await put('d3');
    assert.notEqual((await stored(st, B, 'd3')).bucketKey!.id, (await stored(st, B, 'd1')).bucketKey!.id);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'd3' })).equals(data));
  });
});

describe('bucket keys: kes calls saved, and sse.bucketKeys', () => {
  let st: Stack;
  const B = 'bucket-keys-count';
  const N = 100;
  const body = randomBytes(4096);

  before(async () => {
    // A long cache bound, so that the count does not depend on how fast this machine is.
    st = await startStack({ keyCacheSeconds: 300, gateway: { sse: { bucketKeys: true } } });
    await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => st?.close());

  /** kes calls for N PUTs then N GETs of 4 KiB objects written with `bucketKey`. */
  async function callsFor(prefix: string, bucketKey: boolean): Promise<number> {
    const start = await kesCalls(st);
    for (let i = 0; i < N; i++) {
      const r = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: `${prefix}/${i}`, Body: body, BucketKeyEnabled: bucketKey }));
      assert.equal(r.BucketKeyEnabled, bucketKey ? true : undefined);
    }
    for (let i = 0; i < N; i++) assert.ok((await getBytes(st.s3, { Bucket: B, Key: `${prefix}/${i}` })).equals(body));
    return (await kesCalls(st)) - start;
  }

  test('with sse.bucketKeys an SSE-S3 PUT without the header uses a bucket key; the header false opts out', async () => {
    const on = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'switch-on', Body: body }));
    assert.deepEqual([on.ServerSideEncryption, on.BucketKeyEnabled], ['AES256', true]);
    assert.ok((await stored(st, B, 'switch-on')).bucketKey);
    // SSE-KMS is not covered by the switch: only the header or the bucket turn bucket keys on for it.
    const kms = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'switch-kms', Body: body, ServerSideEncryption: 'aws:kms' }));
    assert.equal(kms.BucketKeyEnabled, undefined);
    const off = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'switch-off', Body: body, BucketKeyEnabled: false }));
    assert.equal(off.BucketKeyEnabled, undefined);
    assert.equal((await stored(st, B, 'switch-off')).bucketKey, undefined);
  });

  test('a bucket key is renewed after bucketKeyMaxObjects objects and after bucketKeyLifetimeSeconds; one generate for concurrent misses', async () => {
    // The gateway's own caching KMS against the real kes, with a clock the test moves.
    let now = 0;
    const kms = st.gw.svc.enc.kms as CachingKMS;
    const pool = new BucketKeyPool(kms, { lifetimeSeconds: 10, maxObjects: 2 }, () => now);
    const lend = async (bucket = 'b') => {
      const loan = await pool.lend(bucket, 'kesgate-default', undefined);
      loan.plaintext.fill(0);
      return loan.stored.id;
    };
    const generates = async () =>
      (await st.gw.svc.metrics.kms.get()).values
        .filter((v) => v.metricName === 'kesgate_kms_request_duration_seconds_count' && v.labels.operation === 'generate')
        .reduce((n, v) => n + v.value, 0);
    const before = await generates();
    const ids = await Promise.all([lend(), lend()]);
    assert.equal(ids[0], ids[1], 'concurrent first uses share one bucket key');
    assert.equal((await generates()) - before, 1, 'made by one generate');
    const third = await lend();
    assert.notEqual(third, ids[0], 'renewed after maxObjects');
    const other = await lend('other-bucket');
    assert.notEqual(other, third, 'another bucket has its own');
    now += 9_000;
    assert.equal(await lend('other-bucket'), other, 'used again within its lifetime');
    now += 1_000;
    // `third` served one object of two: only its age retires it.
    assert.notEqual(await lend(), third, 'renewed after its lifetime');
  });

  test(`${N} PUTs + ${N} GETs: at least 10× fewer kes calls with bucket keys`, async () => {
    const perObject = await callsFor('per-object', false);
    const bucketKeys = await callsFor('bucket-key', true);
    assert.ok(perObject >= 2 * N, `a data key per object costs a generate and a decrypt each: ${perObject}`);
    assert.ok(bucketKeys * 10 <= perObject, `bucket keys: ${bucketKeys} kes calls against ${perObject}`);
  });
});
