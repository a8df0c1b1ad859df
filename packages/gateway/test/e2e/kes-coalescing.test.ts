// The per-object kes path under load, through the SDK against a real gateway and kes: concurrent SSE-S3 PUTs
// (a data key each) and GETs (a decrypt each, no key cache) reach kes as far fewer bulk requests, counted at
// kes by its per-route request metrics; every object reads back as written; and a sealed master key still
// refuses each request of a concurrent burst, with nothing stored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startStack, type Stack } from '../helpers/stack.js';
import { exists, getBytes, s3Error } from '../helpers/s3.js';

let stack: Stack;
before(async () => {
  stack = await startStack({ keys: ['co-sealed'] });
  await stack.s3.send(new CreateBucketCommand({ Bucket: 'coalesce' }));
});
after(() => stack.close());

/** Requests kes answered per data-key route. */
async function kesRequests(): Promise<Record<string, number>> {
  const text = await stack.kesAdmin.metrics();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^kes_http_request_duration_seconds_count\{api="(\/v1\/key\/[^"]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}
const diff = (a: Record<string, number>, b: Record<string, number>, route: string) => (a[route] ?? 0) - (b[route] ?? 0);

const N = 64;

test('concurrent SSE-S3 PUTs and GETs with a data key per object cost kes far fewer requests than objects', async () => {
  const bodies = Array.from({ length: N }, () => randomBytes(4096));
  const k0 = await kesRequests();
  const puts = await Promise.all(
    bodies.map((Body, i) =>
      stack.s3.send(new PutObjectCommand({ Bucket: 'coalesce', Key: `o${i}`, Body, ServerSideEncryption: 'AES256' })),
    ),
  );
  for (const p of puts) assert.equal(p.ServerSideEncryption, 'AES256');
  const k1 = await kesRequests();
  const generates = diff(k1, k0, '/v1/key/generate/') + diff(k1, k0, '/v1/key/bulk/generate/');
  assert.ok(diff(k1, k0, '/v1/key/bulk/generate/') >= 1, 'the gateway used bulk generate');
  // Without coalescing: N requests. How many calls share one depends on the gateway's pace (64 at once: ~25 requests).
  assert.ok(generates <= N * 0.6, `${N} PUTs took ${generates} kes requests`);

  const got = await Promise.all(bodies.map((_, i) => getBytes(stack.s3, { Bucket: 'coalesce', Key: `o${i}` })));
  got.forEach((g, i) => assert.ok(g.equals(bodies[i]!), `o${i} reads back as written`));
  const k2 = await kesRequests();
  const decrypts = diff(k2, k1, '/v1/key/decrypt/') + diff(k2, k1, '/v1/key/bulk/decrypt/');
  assert.ok(diff(k2, k1, '/v1/key/bulk/decrypt/') >= 1, 'the gateway used bulk decrypt');
  assert.ok(decrypts <= N * 0.6, `${N} GETs took ${decrypts} kes requests`);
});

test('a burst of PUTs under a sealed master key: each is refused (KMS.DisabledException), nothing is stored', async () => {
  await stack.kesAdmin.sealKey('co-sealed');
  const results = await Promise.all(
    Array.from({ length: 16 }, (_, i) =>
      s3Error(
        stack.s3.send(
          new PutObjectCommand({
            Bucket: 'coalesce',
            Key: `sealed${i}`,
            Body: randomBytes(1024),
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: 'co-sealed',
          }),
        ),
      ),
    ),
  );
  for (const e of results) assert.deepEqual([e.status, e.code], [403, 'KMS.DisabledException']);
  for (let i = 0; i < 16; i++) assert.equal(await exists(stack.s3, 'co', `sealed${i}`), false);
  const get = await s3Error(stack.s3.send(new GetObjectCommand({ Bucket: 'coalesce', Key: 'sealed0' })));
  assert.deepEqual([get.status, get.code], [404, 'NoSuchKey']);
});
