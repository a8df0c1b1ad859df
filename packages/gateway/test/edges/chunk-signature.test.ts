// STREAMING-AWS4-HMAC-SHA256-PAYLOAD uploads signed by hand (the header by @smithy/signature-v4, each chunk
// here), sent to a real gateway with one chunk's signature wrong, malformed or missing: each is 403
// SignatureDoesNotMatch, as a wrong request signature is, and nothing is written; the same body correctly
// signed is stored. 8 MiB bodies go over HTTP and HTTPS on hand-driven connections, so the refusal arrives
// while the body is still being sent.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { getBytes } from '../helpers/s3.js';
import { errorCode, RawClient } from './raw.js';
import { snapshot } from './state.js';
import { head, Wire } from './wire.js';

const B = 'chunk-signature';
const STREAMING = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const existing = randomBytes(1000);
let st: Stack;

before(async () => {
  st = await startStack();
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'existing', Body: existing }));
});
after(async () => st?.close());

const sha256 = (d: Buffer | string): string => createHash('sha256').update(d).digest('hex');
const hmac = (k: Buffer | string, d: string): Buffer => createHmac('sha256', k).update(d).digest();

type Variant = 'good' | 'wrong' | 'upper-case' | 'short' | 'missing';

/** Head and aws-chunked body of a PUT of `payload` in `chunkSize` chunks, chunk 2's signature spoiled per `variant`. */
async function chunkedPut(
  port: number,
  path: string,
  payload: Buffer,
  chunkSize: number,
  variant: Variant,
): Promise<{ head: string; body: Buffer }> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < payload.length; at += chunkSize) chunks.push(payload.subarray(at, at + chunkSize));
  chunks.push(Buffer.alloc(0));
  const date = new Date();
  const frameOf = (c: Buffer, ext: string): Buffer => Buffer.from(`${c.length.toString(16)}${ext}\r\n`);
  const sigExt = (sig: string): string => `;chunk-signature=${sig}`;
  // Content-Length depends only on the frame sizes: the spoiled signature of chunk 2 has its own length.
  const spoil = (sig: string): string =>
    ({
      good: sig,
      wrong: sig.replace(/^./, (ch) => (ch === 'a' ? 'b' : 'a')),
      'upper-case': sig.toUpperCase(),
      short: sig.slice(0, 40),
      missing: '',
    })[variant];
  const extOf = (i: number, sig: string): string => (i === 1 ? (variant === 'missing' ? '' : sigExt(spoil(sig))) : sigExt(sig));
  const length = chunks.reduce((n, c, i) => n + frameOf(c, extOf(i, '0'.repeat(64))).length + c.length + 2, 0);
  const raw = new RawClient(port, ACCESS_KEY, SECRET_KEY);
  const headers = await raw.sign(
    {
      method: 'PUT',
      path,
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(payload.length),
        'content-length': String(length),
      },
    },
    { date, payloadHash: STREAMING },
  );
  const amzDate = headers['x-amz-date']!;
  const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const key = ['us-east-1', 's3', 'aws4_request'].reduce((k, part) => hmac(k, part), hmac(`AWS4${SECRET_KEY}`, amzDate.slice(0, 8)));
  let prior = /Signature=([0-9a-f]{64})/.exec(headers.authorization!)![1]!;
  const frames: Buffer[] = [];
  for (const [i, c] of chunks.entries()) {
    prior = createHmac('sha256', key)
      .update(['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prior, sha256(''), sha256(c)].join('\n'))
      .digest('hex');
    frames.push(frameOf(c, extOf(i, prior)), c, Buffer.from('\r\n'));
  }
  const body = Buffer.concat(frames);
  assert.equal(body.length, length);
  return { head: head('PUT', path, headers), body };
}

async function nothingStored(attempt: () => Promise<void>): Promise<void> {
  const before = await snapshot(st.s3, st.dataDir);
  await attempt();
  assert.deepEqual(await snapshot(st.s3, st.dataDir), before, 'a refused upload must leave the store as it was');
  assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'existing' })).equals(existing));
}

async function exchange(transport: 'http' | 'https', put: { head: string; body: Buffer }): Promise<{ status: number; body: string }> {
  const wire = await Wire.open(transport === 'http' ? st.gw.httpPort : st.gw.httpsPort!, transport === 'http' ? undefined : st.caPem);
  try {
    await wire.write(put.head);
    await wire.write(put.body);
    const answer = await wire.answer();
    assert.ok(answer, `${transport}: no answer (${wire.error?.code ?? 'closed'})`);
    return answer;
  } finally {
    wire.close();
  }
}

describe('aws-chunked chunk signatures', () => {
  test('a correctly signed chunked upload is stored (the baseline)', async () => {
    const payload = randomBytes(200_000);
    const put = await chunkedPut(st.gw.httpPort, `/${B}/signed`, payload, 65536, 'good');
    const res = await exchange('http', put);
    assert.equal(res.status, 200, res.body);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'signed' })).equals(payload));
  });

  test('chunk 2 signed wrongly, upper-cased, cut short or unsigned → 403 SignatureDoesNotMatch; nothing is written, an overwritten object stays', async () => {
    await nothingStored(async () => {
      for (const variant of ['wrong', 'upper-case', 'short', 'missing'] as const) {
        for (const key of ['new', 'existing']) {
          const put = await chunkedPut(st.gw.httpPort, `/${B}/${key}`, randomBytes(200_000), 65536, variant);
          const res = await exchange('http', put);
          assert.equal(res.status, 403, `${variant} ${key}: ${res.body}`);
          assert.equal(errorCode(res.body), 'SignatureDoesNotMatch', `${variant} ${key}: ${res.body}`);
        }
      }
    });
  });

  test('an 8 MiB chunked upload refused at chunk 2 while the rest is still on its way: the client gets the 403 over HTTP and HTTPS', async () => {
    await nothingStored(async () => {
      for (const transport of ['http', 'https'] as const) {
        for (const variant of ['wrong', 'missing'] as const) {
          const port = transport === 'http' ? st.gw.httpPort : st.gw.httpsPort!;
          const put = await chunkedPut(port, `/${B}/big`, randomBytes(8 * 1024 * 1024), 65536, variant);
          const res = await exchange(transport, put);
          assert.equal(res.status, 403, `${transport} ${variant}: ${res.body}`);
          assert.equal(errorCode(res.body), 'SignatureDoesNotMatch', `${transport} ${variant}: ${res.body}`);
        }
      }
    });
  });
});
