// /metrics, /kesgate/health and the reserved name: what an operator scrapes, and that it holds no secrets.
import { after, before, test } from 'node:test';
import { connect } from 'node:net';
import assert from 'node:assert/strict';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { s3Error, ssec } from '../helpers/s3.js';

let st: Stack;
before(async () => {
  st = await startStack();
  await st.s3.send(new CreateBucketCommand({ Bucket: 'observed' }));
});
after(async () => st?.close());

test('unsigned GET /metrics: requests by operation and status, bytes, kes latency; no secrets', async () => {
  const k = ssec();
  await st.s3.send(new PutObjectCommand({ Bucket: 'observed', Key: 'x', Body: Buffer.alloc(5000, 1) }));
  await st.s3tls.send(new PutObjectCommand({ Bucket: 'observed', Key: 'c', Body: 'c', ...k.put }));
  await (await st.s3.send(new GetObjectCommand({ Bucket: 'observed', Key: 'x' }))).Body!.transformToByteArray();
  await s3Error(st.s3.send(new GetObjectCommand({ Bucket: 'observed', Key: 'missing' })));
  const r = await fetch(`${st.gw.url}/metrics`);
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.match(text, /kesgate_requests_total\{operation="PutObject",status="200"\} [1-9]/);
  assert.match(text, /kesgate_requests_total\{operation="GetObject",status="404"\} 1/);
  assert.match(text, /kesgate_bytes_received_total [1-9]/);
  assert.match(text, /kesgate_bytes_sent_total [1-9]/);
  assert.match(text, /kesgate_kms_request_duration_seconds_count\{operation="generate",outcome="ok"\} [1-9]/);
  for (const secret of [SECRET_KEY, k.key.toString('base64'), k.put.SSECustomerKeyMD5])
    assert.ok(!text.includes(secret), 'no secret in the metrics');
  assert.equal((await fetch(`${st.gw.url}/kesgate/metrics`)).status, 200);
});

test('a signed GET /metrics is S3: ListObjects of a bucket named "metrics"', async () => {
  const e = await s3Error(st.s3.send(new ListObjectsV2Command({ Bucket: 'metrics' })));
  assert.deepEqual([e.status, e.code], [404, 'NoSuchBucket']);
});

test('health answers unsigned; the name "kesgate" is reserved', async () => {
  const h = await fetch(`${st.gw.url}/kesgate/health`);
  assert.equal(h.status, 200);
  assert.deepEqual(await h.json(), { status: 'ok' });
  const e = await s3Error(st.s3.send(new CreateBucketCommand({ Bucket: 'kesgate' })));
  assert.deepEqual([e.status, e.code], [400, 'InvalidBucketName']);
});

test('a malformed request line gets 400 and a closed connection; the gateway keeps serving', async () => {
  const url = new URL(st.gw.url);
  const answer = await new Promise<string>((resolve, reject) => {
    const sock = connect(Number(url.port), url.hostname, () => sock.write('THIS IS NOT HTTP\r\n\r\n'));
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
  });
  assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.equal((await fetch(`${st.gw.url}/kesgate/health`)).status, 200);
});
