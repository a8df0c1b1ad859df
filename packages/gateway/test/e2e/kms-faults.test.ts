// kes sealed, a key sealed, a key deleted, kes unreachable, data tampered: the mapped S3 errors, nothing
// written, and everything readable again once the cause is lifted (except after a delete: that is forever).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startStack, type Stack } from '../helpers/stack.js';
import { exists, getBytes, s3Error, ssec } from '../helpers/s3.js';

let st: Stack;
const B = 'kms-faults';
const data = randomBytes(150_000);
const k = ssec();

before(async () => {
  st = await startStack({ keys: ['key-a', 'key-b'], shares: 3, threshold: 2 });
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'default', Body: data }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'a', Body: data, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'b', Body: data, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-b' }));
  await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'c', Body: data, ...k.put }));
});
after(async () => st?.close());

const read = (Key: string, extra: object = {}) => getBytes(Key === 'c' ? st.s3tls : st.s3, { Bucket: B, Key, ...extra });

describe('kes sealed', () => {
  test('SSE-S3/KMS GET and PUT → 503 ServiceUnavailable, nothing written; SSE-C unaffected; unseal restores', async () => {
    await st.kesAdmin.seal();
    for (const Key of ['default', 'a']) {
      const r = await s3Error(read(Key));
      assert.deepEqual([r.status, r.code, r.message], [503, 'ServiceUnavailable', 'KMS is sealed']);
    }
    // Metadata needs no key material: HEAD still answers, only the data is locked.
    const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'a' }));
    assert.equal(head.ContentLength, data.length);
    assert.equal(head.SSEKMSKeyId, 'key-a');
    const put = await s3Error(st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'while-sealed', Body: data })));
    assert.deepEqual([put.status, put.code], [503, 'ServiceUnavailable']);
    assert.equal(await exists(st.s3, B, 'while-sealed'), false);
    assert.ok((await read('c', k.put)).equals(data), 'SSE-C needs no KMS');
    await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'c2', Body: data, ...k.put }));

    const one = await st.kesAdmin.unseal(st.shares[2]!);
    assert.equal(one.sealed, true);
    const two = await st.kesAdmin.unseal(st.shares[0]!);
    assert.equal(two.sealed, false);
    for (const Key of ['default', 'a', 'b']) assert.ok((await read(Key)).equals(data), Key);
  });
});

describe('one key sealed', () => {
  test("only that key's objects fail with 403 KMS.DisabledException; new PUTs under it too; unseal restores", async () => {
    await st.kesAdmin.sealKey('key-a');
    const r = await s3Error(read('a'));
    assert.deepEqual([r.status, r.code], [403, 'KMS.DisabledException']);
    const put = await s3Error(
      st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'a2', Body: data, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' })),
    );
    assert.deepEqual([put.status, put.code], [403, 'KMS.DisabledException']);
    assert.equal(await exists(st.s3, B, 'a2'), false);
    assert.ok((await read('b')).equals(data));
    assert.ok((await read('default')).equals(data));
    await st.kesAdmin.unsealKey('key-a');
    assert.ok((await read('a')).equals(data));
  });
});

describe('kes unreachable', () => {
  test('PUT and GET → 503 "KMS is unavailable", nothing written; back when kes is', async () => {
    await st.stopKes();
    const g = await s3Error(read('default'));
    assert.deepEqual([g.status, g.code, g.message], [503, 'ServiceUnavailable', 'KMS is unavailable']);
    const p = await s3Error(st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'while-down', Body: data })));
    assert.equal(p.status, 503);
    assert.equal(await exists(st.s3, B, 'while-down'), false);
    await st.restartKes();
    assert.ok((await read('default')).equals(data));
  });
});

describe('key deleted', () => {
  test('its objects fail forever with KMS.NotFoundException, even after re-creating the name; others unaffected', async () => {
    await st.kesAdmin.deleteKey('key-b');
    const r = await s3Error(read('b'));
    assert.deepEqual([r.status, r.code], [400, 'KMS.NotFoundException']);
    await st.kesAdmin.createKey('key-b');
    const again = await s3Error(read('b'));
    assert.deepEqual([again.status, again.code], [400, 'KMS.NotFoundException']);
    assert.ok((await read('a')).equals(data));
    assert.ok((await read('c', k.put)).equals(data));
  });
});

describe('tampering', () => {
  async function dataFile(Key: string): Promise<string> {
    const rec = await st.gw.svc.store.getObject(B, Key);
    const id = rec!.parts[0]!.dataId;
    return join(st.dataDir, 'data', id.slice(0, 2), id);
  }

  test('a flipped bit in the first package → 500 InternalError, no body', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'tamper1', Body: Buffer.alloc(1000, 7) }));
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
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'tamper3', Body: Buffer.alloc(5000, 1) }));
    writeFileSync(await dataFile('tamper3'), Buffer.alloc(0));
    const r = await s3Error(read('tamper3'));
    assert.equal(r.status, 500);
  });
});
