// The hashing worker thread dying while a PUT streams through it. The fault is injected for real: the worker thread
// is terminated (`terminateHashWorker`, a test-only hook; the stack runs in this process) after the gateway has
// started hashing the body on it and before the body has all arrived. That PUT must get a 500 InternalError (not
// hang; the cause in the log only), nothing may be stored, the gateway stays up, and the next large PUT starts a
// new worker and gets the MD5 of its own bytes as its ETag.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { hashSessionsOpen, OFF_THREAD_MIN_BYTES, terminateHashWorker } from '../../src/s3/hash-worker.js';
import { errorCode, RawClient, type RawResponse } from '../edges/raw.js';
import { exists, getBytes } from '../helpers/s3.js';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';

const B = 'hash-worker-crash';
let st: Stack;
/** The gateway's error log lines (JSON): where the cause of a 500 goes. */
const errorLog: string[] = [];

before(async () => {
  st = await startStack({ gatewayOptions: { logger: pino({ level: 'error' }, { write: (line: string) => void errorLog.push(line) }) } });
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(async () => st?.close());

/**
 * A signed PUT (UNSIGNED-PAYLOAD: its MD5 is still hashed on the worker) that sends `first`, runs `meanwhile`, then
 * sends `rest`; resolves with the answer. Writes after an early answer are ignored: the answer is what is checked.
 */
async function putInTwo(key: string, first: Buffer, rest: Buffer, meanwhile: () => Promise<void>): Promise<RawResponse> {
  const raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
  const path = `/${B}/${key}`;
  const headers = await raw.sign(
    { method: 'PUT', path, headers: { 'content-length': String(first.length + rest.length), 'x-amz-server-side-encryption': 'AES256' } },
    { payloadHash: 'UNSIGNED-PAYLOAD' },
  );
  const req = http.request({ host: '127.0.0.1', port: st.gw.httpPort, method: 'PUT', path, headers, agent: false });
  const answer = new Promise<RawResponse>((resolve, reject) => {
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  req.write(first);
  await meanwhile();
  req.end(rest);
  return answer;
}

/** Waits until the gateway is hashing `n` bodies on the worker (it starts with a body's first bytes). */
async function sessionsOpen(n: number): Promise<void> {
  for (let i = 0; i < 3000 && hashSessionsOpen() !== n; i++) await sleep(10);
  assert.equal(hashSessionsOpen(), n, 'bodies being hashed on the worker');
}

test('the hashing worker dies mid-body: that PUT gets 500 InternalError and stores nothing; the next PUT works on a new worker', async () => {
  const size = OFF_THREAD_MIN_BYTES * 8;
  const body = randomBytes(size);
  const res = await putInTwo('crashed', body.subarray(0, size / 4), body.subarray(size / 4), async () => {
    await sessionsOpen(1);
    await terminateHashWorker(); // the injected fault
  });
  assert.equal(res.status, 500, res.body);
  assert.equal(errorCode(res.body), 'InternalError', res.body);
  assert.doesNotMatch(res.body, /hashing|exit code/, 'the cause goes to the log, not to the client');
  assert.ok(
    errorLog.some((line) => line.includes('the hashing worker stopped')),
    `the log names the cause: ${errorLog.join('')}`,
  );
  assert.equal(hashSessionsOpen(), 0, 'the dead worker holds no body');
  assert.equal(await exists(st.s3, B, 'crashed'), false, 'nothing stored');

  // The gateway is still up, and the next large bodies are hashed on a new worker.
  for (const key of ['after-1', 'after-2']) {
    const next = randomBytes(OFF_THREAD_MIN_BYTES * 3 + 17);
    const { ETag } = await st.s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: next, ServerSideEncryption: 'AES256' }));
    assert.equal(ETag, `"${createHash('md5').update(next).digest('hex')}"`, key);
    assert.ok((await getBytes(st.s3, { Bucket: B, Key: key })).equals(next), key);
  }
  assert.equal(await exists(st.s3, B, 'crashed'), false, 'still nothing under the crashed key');
});
