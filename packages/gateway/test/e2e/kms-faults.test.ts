// kes sealed, a key sealed, a key deleted, kes unreachable, data tampered: the mapped S3 errors, nothing
// written, and everything readable again once the cause is lifted (except after a delete: that is forever).
// Each fault is tried on an object in a data file (150 KB) and on a small one kept inline in its metadata row
// (4 KiB: the default backend.inlineThreshold holds it): the row holds ciphertext under the same keys.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startStack, type Stack } from '../helpers/stack.js';
import { exists, getBytes, s3Error, ssec } from '../helpers/s3.js';
import { tamperInlineRow } from '../helpers/inline-rows.js';

let st: Stack;
const B = 'kms-faults';
const data = randomBytes(150_000);
const small = randomBytes(4096);
const k = ssec();

before(async () => {
  st = await startStack({ keys: ['key-a', 'key-b'], shares: 3, threshold: 2 });
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'default', Body: data }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'a', Body: data, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'b', Body: data, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-b' }));
  await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'c', Body: data, ...k.put }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'default-small', Body: small }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'a-small', Body: small, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'b-small', Body: small, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-b' }));
  await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'c-small', Body: small, ...k.put }));
  for (const Key of ['default-small', 'a-small', 'b-small', 'c-small']) {
    assert.ok((await st.gw.svc.store.getObject(B, Key))!.parts[0]!.inline, `${Key} is inline`);
  }
  assert.equal((await st.gw.svc.store.getObject(B, 'default'))!.parts[0]!.inline, undefined, 'the large ones are in data files');
});
after(async () => st?.close());

const read = (Key: string, extra: object = {}) => getBytes(Key.startsWith('c') ? st.s3tls : st.s3, { Bucket: B, Key, ...extra });
/** What each object holds: the small ones are inline. */
const bodyOf = (Key: string): Buffer => (Key.endsWith('-small') ? small : data);

describe('kes sealed', () => {
  test('SSE-S3/KMS GET and PUT → 503 ServiceUnavailable, nothing written; SSE-C unaffected; unseal restores', async () => {
    await st.kesAdmin.seal();
    for (const Key of ['default', 'a', 'default-small', 'a-small']) {
      const r = await s3Error(read(Key));
      assert.deepEqual([r.status, r.code, r.message], [503, 'ServiceUnavailable', 'KMS is sealed'], Key);
    }
    // Metadata needs no key material: HEAD still answers, only the data is locked.
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'a' }));
    assert.equal(head.ContentLength, data.length);
    assert.equal(head.SSEKMSKeyId, 'key-a');
    const put = await s3Error(st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'while-sealed', Body: data })));
    assert.deepEqual([put.status, put.code], [503, 'ServiceUnavailable']);
    assert.equal(await exists(st.s3, B, 'while-sealed'), false);
    const putSmall = await s3Error(st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'while-sealed-small', Body: small })));
    assert.deepEqual([putSmall.status, putSmall.code], [503, 'ServiceUnavailable'], 'an inline PUT is refused the same way');
    assert.equal(await exists(st.s3, B, 'while-sealed-small'), false);
    assert.ok((await read('c', k.put)).equals(data), 'SSE-C needs no KMS');
    assert.ok((await read('c-small', k.put)).equals(small), 'SSE-C needs no KMS, inline or not');
    await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'c2', Body: data, ...k.put }));

    const one = await st.kesAdmin.unseal(st.shares[2]!);
    assert.equal(one.sealed, true);
    const two = await st.kesAdmin.unseal(st.shares[0]!);
    assert.equal(two.sealed, false);
    for (const Key of ['default', 'a', 'b', 'default-small', 'a-small', 'b-small']) assert.ok((await read(Key)).equals(bodyOf(Key)), Key);
  });
});

describe('one key sealed', () => {
  test("only that key's objects fail with 403 KMS.DisabledException; new PUTs under it too; unseal restores", async () => {
    await st.kesAdmin.sealKey('key-a');
    for (const Key of ['a', 'a-small']) {
      const r = await s3Error(read(Key));
      assert.deepEqual([r.status, r.code], [403, 'KMS.DisabledException'], Key);
    }
    const put = await s3Error(
      st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'a2', Body: data, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' })),
    );
    assert.deepEqual([put.status, put.code], [403, 'KMS.DisabledException']);
    assert.equal(await exists(st.s3, B, 'a2'), false);
    const putSmall = await s3Error(
      st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'a2-small', Body: small, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' })),
    );
    assert.deepEqual([putSmall.status, putSmall.code], [403, 'KMS.DisabledException']);
    assert.equal(await exists(st.s3, B, 'a2-small'), false);
    assert.ok((await read('b')).equals(data));
    assert.ok((await read('default')).equals(data));
    assert.ok((await read('b-small')).equals(small));
    await st.kesAdmin.unsealKey('key-a');
    assert.ok((await read('a')).equals(data));
    assert.ok((await read('a-small')).equals(small));
  });
});

describe('kes unreachable', () => {
  test('PUT and GET → 503 "KMS is unavailable", nothing written; back when kes is', async () => {
    await st.stopKes();
    for (const Key of ['default', 'default-small']) {
      const g = await s3Error(read(Key));
      assert.deepEqual([g.status, g.code, g.message], [503, 'ServiceUnavailable', 'KMS is unavailable'], Key);
    }
    for (const [Key, Body] of [
      ['while-down', data],
      ['while-down-small', small],
    ] as const) {
      const p = await s3Error(st.s3.send(new PutObjectCommand({ Bucket: B, Key, Body })));
      assert.deepEqual([p.status, p.code], [503, 'ServiceUnavailable'], Key);
      assert.equal(await exists(st.s3, B, Key), false);
    }
    await st.restartKes();
    assert.ok((await read('default')).equals(data));
    assert.ok((await read('default-small')).equals(small));
  });
});

describe('key deleted', () => {
  test('its objects fail forever with KMS.NotFoundException, even after re-creating the name; others unaffected', async () => {
    await st.kesAdmin.deleteKey('key-b');
    for (const Key of ['b', 'b-small']) {
      const r = await s3Error(read(Key));
      assert.deepEqual([r.status, r.code], [400, 'KMS.NotFoundException'], Key);
    }
    await st.kesAdmin.createKey('key-b');
    for (const Key of ['b', 'b-small']) {
      const again = await s3Error(read(Key));
      assert.deepEqual([again.status, again.code], [400, 'KMS.NotFoundException'], Key);
    }
    assert.ok((await read('a')).equals(data));
    assert.ok((await read('a-small')).equals(small));
    assert.ok((await read('c', k.put)).equals(data));
    assert.ok((await read('c-small', k.put)).equals(small));
  });
});

describe('tampering', () => {
  // The data-file cases use bodies above the inline threshold (10,000 bytes store 10,032 > 8,192): a smaller
  // object has no data file; its row is tampered with in the cases after them.
  async function dataFile(Key: string): Promise<string> {
    const rec = await st.gw.svc.store.getObject(B, Key);
    assert.equal(rec!.parts[0]!.inline, undefined, `${Key} must be in a data file`);
    const id = rec!.parts[0]!.dataId;
    return join(st.dataDir, 'data', id.slice(0, 2), id);
  }

  const tamperRow = (Key: string, change: (stored: Buffer) => Buffer) => tamperInlineRow(st.gw.svc.store, B, Key, change);

  test('a flipped bit in the first package → 500 InternalError, no body', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'tamper1', Body: Buffer.alloc(10_000, 7) }));
    const file = await dataFile('tamper1');
    const bytes = readFileSync(file);
    bytes[100]! ^= 1;
    writeFileSync(file, bytes);
    const r = await s3Error(read('tamper1'));
    assert.deepEqual([r.status, r.code], [500, 'InternalError']);
    assert.match(r.message, /ObjectTampered/);
  });

  test('a flipped bit in a later package → the body is cut short, never a full 200', async () => {
    const body = randomBytes(3 * 65536);
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'tamper2', Body: body }));
    const file = await dataFile('tamper2');
    const bytes = readFileSync(file);
    bytes[2 * 65568 + 500]! ^= 0x80;
    writeFileSync(file, bytes);
    await assert.rejects(async () => {
      const r = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'tamper2' }));
      const got = Buffer.from(await r.Body!.transformToByteArray());
      // Reaching here means the whole body arrived: it must not, since its last package is forged.
      assert.fail(`received ${got.length} bytes of a tampered object`);
    });
  });

  test('a truncated data file → 500, not an empty object', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'tamper3', Body: Buffer.alloc(10_000, 1) }));
    writeFileSync(await dataFile('tamper3'), Buffer.alloc(0));
    const r = await s3Error(read('tamper3'));
    assert.equal(r.status, 500);
  });

  test("a flipped bit in an inline object's row → 500 InternalError, in every SSE mode", async () => {
    const c = ssec();
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'tamper-inline', Body: Buffer.alloc(1000, 7) }));
    await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'c-tamper-inline', Body: Buffer.alloc(1000, 7), ...c.put }));
    for (const [Key, extra] of [
      ['tamper-inline', {}],
      ['c-tamper-inline', c.put],
    ] as const) {
      await tamperRow(Key, (stored) => {
        stored[100]! ^= 1;
        return stored;
      });
      const r = await s3Error(read(Key, extra));
      assert.deepEqual([r.status, r.code], [500, 'InternalError'], Key);
      assert.match(r.message, /ObjectTampered/);
    }
  });

  test("an inline object's row cut short → 500, not an empty or short object", async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'tamper-inline-short', Body: Buffer.alloc(5000, 1) }));
    await tamperRow('tamper-inline-short', (stored) => stored.subarray(0, 2000));
    const r = await s3Error(read('tamper-inline-short'));
    assert.equal(r.status, 500);
    await tamperRow('tamper-inline-short', () => Buffer.alloc(0));
    const empty = await s3Error(read('tamper-inline-short'));
    assert.equal(empty.status, 500);
  });
});
