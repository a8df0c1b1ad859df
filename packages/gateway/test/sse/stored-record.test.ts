// The stored SSE record is checked once, where storage reads a row: a well-formed one comes back byte for byte,
// a malformed one is an error naming the object — through the S3 API a 500 for that object alone, which can
// still be deleted — rather than a crash deeper in a read or a rotation.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MalformedSSERecord, parseStoredSSE } from '../../src/storage/sse-record.js';
import type { StoredSSE } from '../../src/storage/index.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { getBytes, s3Error } from '../helpers/s3.js';

const NAME = 'object b/k (version null)';
const good = {
  sse: 'SSE-KMS',
  iv: 'aXY=',
  sealAlgorithm: 'DAREv2-HMAC-SHA256',
  sealedKey: 'c2s=',
  kmsKey: 'tenant-a',
  kmsCiphertext: 'Y3Q=',
  kmsKeyVersion: 'v1',
  kmsContext: 'e30=',
  bucketKey: { id: 'i', kmsCiphertext: 'Yms=' },
  multipart: true,
};

function refused(json: string, reason: RegExp): void {
  assert.throws(
    () => parseStoredSSE(json, NAME),
    (err: unknown) => {
      assert.ok(err instanceof MalformedSSERecord, String(err));
      assert.equal(err.code, 'InternalError');
      assert.ok(err.message.startsWith(`The stored encryption record of ${NAME} is malformed: `), err.message);
      assert.match(err.message, reason);
      return true;
    },
  );
}

describe('parseStoredSSE', () => {
  test('a well-formed record comes back as it was stored: the same fields, in the same order, unknown ones kept', () => {
    for (const record of [
      good,
      { sse: 'SSE-C', iv: 'aXY=', sealAlgorithm: 'x', sealedKey: 'c2s=', sseCKeyMD5: 'bWQ1' },
      { ...good, later: [1, null] },
    ]) {
      const json = JSON.stringify(record);
      assert.equal(JSON.stringify(parseStoredSSE(json, NAME)), json);
    }
  });

  test('anything else is refused, naming the object and what is wrong', () => {
    refused('{"sse":', /not JSON/);
    refused('[]', /not a JSON object/);
    refused('null', /not a JSON object/);
    refused('{}', /no known encryption \("sse": absent\)/);
    refused(JSON.stringify({ ...good, sse: 'AES-GCM-9000' }), /no known encryption \("sse": "AES-GCM-9000"\)/);
    const { iv: _iv, ...noIV } = good;
    refused(JSON.stringify(noIV), /"iv" is absent, not a string/);
    refused(JSON.stringify({ ...good, sealedKey: 7 }), /"sealedKey" is a number, not a string/);
    refused(JSON.stringify({ ...good, kmsKeyVersion: 3 }), /"kmsKeyVersion" is a number/);
    refused(JSON.stringify({ ...good, kmsContext: { a: 'b' } }), /"kmsContext" is an object, not a string/);
    refused(JSON.stringify({ ...good, bucketKey: { id: 'i' } }), /"bucketKey" is not an object/);
    refused(JSON.stringify({ ...good, multipart: 'yes' }), /"multipart" is a string, not a boolean/);
  });
});

describe('a malformed record through the S3 API', () => {
  let st: Stack;
  const B = 'broken-records';
  before(async () => {
    st = await startStack();
    await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => st?.close());

  test('GET and HEAD of that object answer 500 InternalError; its neighbours are served; DELETE removes it', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'broken', Body: 'one' }));
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'fine', Body: 'two' }));
    const store = st.gw.svc.store;
    const rec = (await store.getObject(B, 'broken'))!;
    // What a damaged or hand-edited metadata row could hold; the write path stores what it is given.
    const damaged = JSON.parse(JSON.stringify({ ...rec.sse, sse: 'AES-GCM-9000' })) as StoredSSE;
    await store.updateObjectSSE(B, 'broken', rec.revision, damaged);

    await assert.rejects(store.getObject(B, 'broken'), (err: Error) => {
      assert.ok(err instanceof MalformedSSERecord);
      assert.match(err.message, new RegExp(`record of object ${B}/broken \\(version null\\) is malformed: it names no known encryption`));
      return true;
    });
    const get = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'broken' })));
    assert.deepEqual([get.status, get.code], [500, 'InternalError']);
    assert.doesNotMatch(get.message, /Y3Q=|sealedKey|kmsCiphertext/, 'no stored field in the answer');
    const head = await s3Error(st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'broken' })));
    assert.equal(head.status, 500);
    assert.equal(String(await getBytes(st.s3, { Bucket: B, Key: 'fine' })), 'two');
    await assert.rejects(store.getObject(B, 'broken'), MalformedSSERecord, 'the refused reads changed nothing');

    await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'broken' }));
    const gone = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'broken' })));
    assert.deepEqual([gone.status, gone.code], [404, 'NoSuchKey']);
  });
});
