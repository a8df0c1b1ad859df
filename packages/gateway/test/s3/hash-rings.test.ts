// The shared-memory rings that carry large bodies to the hashing worker are reused: PUTs one after another,
// one of them cut off midway, allocate one ring between them, not a ring of shared memory per body, and every
// body still gets its own MD5 (its ETag) and reads back whole, also one that goes round its ring more than once. The stack runs in this process, so the count of
// rings allocated is the gateway's own.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { HASH_RING_BYTES, hashRingsAllocated, OFF_THREAD_MIN_BYTES } from '../../src/s3/hash-worker.js';
import { RawClient } from '../edges/raw.js';
import { exists, getBytes } from '../helpers/s3.js';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';

const B = 'hash-rings';
let st: Stack;

before(async () => {
  st = await startStack();
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(async () => st?.close());

/** A signed PUT of `size` bytes (its MD5 hashed on the worker) whose client goes away after half the body. */
async function cutOff(key: string, size: number): Promise<void> {
  await new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY).abandonedPut(`/${B}/${key}`, size, randomBytes(size / 2));
}

test('large PUTs one after another, one cut off midway, reuse one hashing ring; each gets its own MD5 and reads back', async () => {
  const before = hashRingsAllocated();
  const bodies: Buffer[] = [];
  for (let i = 0; i < 8; i++) {
    // The last body wraps round the ring twice, at an offset that is not a multiple of anything.
    const body = randomBytes(i === 7 ? HASH_RING_BYTES * 2 + 12_345 : OFF_THREAD_MIN_BYTES * 2 + i * 4099);
    bodies.push(body);
    const { ETag } = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: `k${i}`, Body: body, ServerSideEncryption: 'AES256' }));
    assert.equal(ETag, `"${createHash('md5').update(body).digest('hex')}"`, `body ${i}: the MD5 of its own bytes`);
    if (i === 3) await cutOff('cut', OFF_THREAD_MIN_BYTES * 4);
  }
  // The cut-off body's ring comes back once the worker has let it go; a body hashed meanwhile may take a second.
  assert.ok(hashRingsAllocated() - before <= 2, `${hashRingsAllocated() - before} rings allocated for 9 bodies one after another`);
  for (const [i, body] of bodies.entries()) assert.ok((await getBytes(st.s3, { Bucket: B, Key: `k${i}` })).equals(body));
  assert.equal(await exists(st.s3, B, 'cut'), false, 'the cut-off PUT stored nothing');
});

test('more large PUTs at once than the worker takes: each still gets its own MD5, and the rings stay bounded', async () => {
  const before = hashRingsAllocated();
  const bodies = Array.from({ length: 12 }, (_, i) => randomBytes(OFF_THREAD_MIN_BYTES * 2 + i * 977));
  const etags = await Promise.all(
    bodies.map(async (body, i) => {
      const { ETag } = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: `many${i}`, Body: body, ServerSideEncryption: 'AES256' }));
      return ETag;
    }),
  );
  for (const [i, body] of bodies.entries()) {
    assert.equal(etags[i], `"${createHash('md5').update(body).digest('hex')}"`, `body ${i}: the MD5 of its own bytes`);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: `many${i}` })).equals(body));
  }
  // Beyond 8 bodies at once, a body is hashed in place instead of getting a ring of its own.
  assert.ok(hashRingsAllocated() - before <= 8, `${hashRingsAllocated() - before} rings allocated for 12 bodies at once`);
});
