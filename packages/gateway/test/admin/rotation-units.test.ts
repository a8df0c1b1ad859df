// The pieces of a rotation job on their own: which objects are rotated, the finished-prefix tracker
// that makes resume exact, backoff bounds, and one object changing (or vanishing) while it is re-wrapped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { KesKMS, type KMS } from '../../src/kms/kms.js';
import { InOrderTracker } from '../../src/rotation/in-order.js';
import { decide, type RotationTarget } from '../../src/rotation/plan.js';
import { backoffDelay, withRetries } from '../../src/rotation/retry.js';
import { rotateObject } from '../../src/rotation/rotate-object.js';
import { S3Error } from '../../src/s3/errors.js';
import { ObjectEncryption } from '../../src/sse/encryption.js';
import type { StoredSSE } from '../../src/sse/types.js';
import { content, FAST_RETRY, getBytes, startKes, startTestGateway, type TestGateway, type TestKes } from './helpers.js';

const kms = (over: Partial<StoredSSE>): StoredSSE => ({
  sse: 'SSE-KMS',
  iv: 'aXY=',
  sealAlgorithm: 'x',
  sealedKey: 'c2s=',
  kmsKey: 'a',
  kmsKeyVersion: 'v1',
  kmsCiphertext: 'Y3Q=',
  ...over,
});

/** The modes as the gateway has them; deciding asks no key service. */
const modes = new ObjectEncryption({
  defaultKey: 'a',
  generate: () => Promise.reject(new Error('deciding asked kes')),
  decrypt: () => Promise.reject(new Error('deciding asked kes')),
});
const decideFor = (sse: StoredSSE, target: RotationTarget, fromKey: string | undefined) =>
  decide(sse, modes.mode(sse.sse), target, fromKey);

test('decide: SSE-C and objects under other keys or already current are skipped; broken metadata fails', () => {
  const target = { key: 'b', version: 'v2' };
  assert.deepEqual(decideFor({ sse: 'SSE-C', iv: 'x', sealAlgorithm: 'x', sealedKey: 'y', sseCKeyMD5: 'z' }, target, undefined), {
    action: 'skip',
    reason: 'sse-c',
  });
  assert.equal(decideFor(kms({}), target, undefined).action, 'rotate');
  assert.equal(decideFor(kms({ sse: 'SSE-S3' }), target, undefined).action, 'rotate');
  assert.deepEqual(decideFor(kms({ kmsKey: 'b', kmsKeyVersion: 'v2' }), target, undefined), { action: 'skip', reason: 'current' });
  assert.equal(
    decideFor(kms({ kmsKey: 'b', kmsKeyVersion: 'v1' }), target, undefined).action,
    'rotate',
    'an older version of the target key',
  );
  assert.deepEqual(decideFor(kms({ kmsKey: 'c' }), target, 'a'), { action: 'skip', reason: 'other-key' });
  assert.equal(decideFor(kms({ kmsKey: 'a' }), target, 'a').action, 'rotate');
  // A kes without versions: current means same key and no version either.
  assert.deepEqual(decideFor(kms({ kmsKey: 'b', kmsKeyVersion: undefined }), { key: 'b' }, undefined), {
    action: 'skip',
    reason: 'current',
  });
  // A record naming no known mode never gets here: storage refuses it where it reads the row (test/sse/stored-record.test.ts).
  assert.deepEqual(decideFor(kms({ kmsCiphertext: undefined }), target, undefined), {
    action: 'fail',
    error: 'the object metadata has no KMS key reference',
  });
  assert.equal(
    decideFor(kms({ bucketKey: { id: 'i', kmsCiphertext: 'Yms=' }, kmsCiphertext: undefined }), target, undefined).action,
    'rotate',
  );
});

test('InOrderTracker: only the finished prefix of the listing is released, whatever the completion order', () => {
  const keys = [...Array(40).keys()].map((i) => `k${String(i).padStart(2, '0')}`);
  for (let round = 0; round < 50; round++) {
    const tracker = new InOrderTracker<number>();
    const seqs = keys.map((k) => tracker.begin(k));
    const order = [...seqs].sort(() => Math.random() - 0.5);
    const finished = new Set<number>();
    const released: string[] = [];
    for (const seq of order) {
      finished.add(seq);
      released.push(...tracker.complete(seq, seq).map((e) => e.key));
      let prefix = 0;
      while (finished.has(prefix)) prefix++;
      assert.deepEqual(released, keys.slice(0, prefix), `round ${round}: released = the finished prefix`);
    }
    assert.equal(tracker.pending, 0);
  }
  const t = new InOrderTracker<number>();
  t.begin('x');
  assert.throws(() => t.complete(5, 0), /not begun/);
});

test('backoff: doubles from the base up to the cap, with at most half of it random; only ServiceUnavailable is retried', async () => {
  const policy = { attempts: 6, baseDelayMs: 100, maxDelayMs: 500 };
  for (const [n, full] of [
    [2, 100],
    [3, 200],
    [4, 400],
    [5, 500],
    [6, 500],
  ] as const) {
    const d = backoffDelay(policy, n);
    assert.ok(d >= full / 2 && d <= full, `attempt ${n}: ${d} in [${full / 2}, ${full}]`);
  }
  let calls = 0;
  await assert.rejects(
    withRetries(async () => {
      calls++;
      throw new S3Error('KMS.NotFoundException');
    }, FAST_RETRY),
    /does not exist/,
  );
  assert.equal(calls, 1, 'a missing key is final');
  calls = 0;
  let retries = 0;
  const v = await withRetries(
    async () => {
      if (++calls < 3) throw new S3Error('ServiceUnavailable', 'KMS is sealed');
      return 'ok';
    },
    FAST_RETRY,
    () => retries++,
  );
  assert.deepEqual([v, calls, retries], ['ok', 3, 2]);
});

describe('rotateObject when the object changes while it is being re-wrapped', () => {
  let kes: TestKes;
  let t: TestGateway;
  before(async () => {
    kes = await startKes(['kesgate-default', 'key-a', 'key-b']);
    t = await startTestGateway(kes);
    await t.s3.send(new CreateBucketCommand({ Bucket: 'race' }));
  });
  after(async () => {
    await t?.close();
    await kes?.close();
  });

  // A change between the read and the compare-and-swap cannot be timed from outside: this KMS passes
  // every call to the real kes, and before the first decrypt of `key` it lets the test change the object
  // through the real S3 API. The store, kes and the S3 write are all real.
  function kmsChangingObject(change: () => Promise<void>): KMS {
    const real = t.gw.svc.enc.kms as KesKMS;
    let done = false;
    return {
      defaultKey: real.defaultKey,
      generate: (name, ctx) => real.generate(name, ctx),
      async decrypt(name, ct, ctx, version) {
        if (!done) {
          done = true;
          await change();
        }
        return real.decrypt(name, ct, ctx, version);
      },
    };
  }

  const put = (key: string, kmsKey: string, seed: string) =>
    t.s3.send(
      new PutObjectCommand({ Bucket: 'race', Key: key, Body: content(seed, 100), ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKey }),
    );

  const ctx = (enc: ObjectEncryption) => ({
    store: t.gw.svc.store,
    enc,
    target: { key: 'key-b', version: 'v1' },
    dryRun: false,
    retry: FAST_RETRY,
    stopped: () => false,
  });

  test('overwritten under the old key: re-read once and rotate the new version', async () => {
    await put('o1', 'key-a', 'first');
    const enc = new ObjectEncryption(kmsChangingObject(() => put('o1', 'key-a', 'second').then(() => undefined)));
    assert.deepEqual(await rotateObject(ctx(enc), 'race', 'o1'), { result: 'rotated', retries: 0 });
    const st = await t.admin.objectStatus('race', 'o1');
    assert.equal(st.sse.kmsKey, 'key-b');
    // The key re-wrapped first belonged to the overwritten data; had it been stored, this read would fail.
    assert.ok((await getBytes(t.s3, 'race', 'o1')).equals(content('second', 100)));
  });

  test('overwritten under the target key meanwhile: skipped as current; deleted meanwhile: skipped as gone', async () => {
    await put('o2', 'key-a', 'first');
    const enc = new ObjectEncryption(kmsChangingObject(() => put('o2', 'key-b', 'second').then(() => undefined)));
    const before = await t.admin.objectStatus('race', 'o1');
    assert.deepEqual(await rotateObject(ctx(enc), 'race', 'o2'), { result: 'skipped', reason: 'current', retries: 0 });

    await put('o3', 'key-a', 'first');
    const enc3 = new ObjectEncryption(
      kmsChangingObject(() => t.s3.send(new DeleteObjectCommand({ Bucket: 'race', Key: 'o3' })).then(() => undefined)),
    );
    assert.deepEqual(await rotateObject(ctx(enc3), 'race', 'o3'), { result: 'skipped', reason: 'gone', retries: 0 });
    assert.deepEqual(await t.admin.objectStatus('race', 'o1'), before, 'other objects untouched');
  });
});
