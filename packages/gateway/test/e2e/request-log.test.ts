// The gateway's log on a real stack: request lines (operation, remote address, access key id, bytes in and
// out, user agent, status, duration; never a signature or a secret), probes and scrapes at debug only, and
// a sealed kes as one warn line however many requests meet it — not an error with a stack per request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createLogger } from '@kesgate/log';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { getBytes, s3Error, ssec } from '../helpers/s3.js';

type Entry = Record<string, unknown>;

/** A logger of the gateway's own shape whose lines land in `lines`. */
function capturing(level: 'info' | 'debug') {
  const lines: string[] = [];
  const logger = createLogger('kesgate', level, 'json', {
    write: (l: string) => void lines.push(...l.split('\n').filter((x) => x !== '')),
  });
  return { logger, lines, entries: (): Entry[] => lines.map((l) => JSON.parse(l) as Entry) };
}

let st: Stack;
let log: ReturnType<typeof capturing>;
before(async () => {
  log = capturing('info');
  st = await startStack({ gatewayOptions: { logger: log.logger } });
  await st.s3.send(new CreateBucketCommand({ Bucket: 'logged' }));
});
after(async () => st?.close());

/**
 * fetch, with the body read to its end: a body left unread keeps its connection busy, and the gateway's close
 * waits for busy connections up to its keep-alive timeout (65 s) before the file's process can end.
 */
async function fetchRead(url: string, init?: RequestInit): Promise<Response> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res;
}

const PROBES = ['/kesgate/health', '/kesgate/ready', '/minio/health/live', '/minio/health/ready', '/metrics', '/kesgate/metrics'];

test('request lines carry operation, remote address, access key, bytes, user agent, status, duration; probes are not at info; no secrets', async () => {
  log.lines.length = 0;
  const body = randomBytes(3000);
  const k = ssec();
  await st.s3.send(new PutObjectCommand({ Bucket: 'logged', Key: 'a.bin', Body: body }));
  assert.deepEqual(await getBytes(st.s3, { Bucket: 'logged', Key: 'a.bin' }), body);
  await st.s3tls.send(new PutObjectCommand({ Bucket: 'logged', Key: 'c.bin', Body: body, ...k.put }));
  const presigned = await getSignedUrl(st.s3, new GetObjectCommand({ Bucket: 'logged', Key: 'a.bin' }), { expiresIn: 60 });
  assert.equal((await fetchRead(presigned, { headers: { 'User-Agent': 'presigned-test/1' } })).status, 200);
  for (const p of PROBES) assert.equal((await fetchRead(`${st.gw.url}${p}`)).status, 200, p);

  const entries = log.entries();
  const requests = entries.filter((e) => e.msg === 'request');
  assert.deepEqual(
    requests.map((e) => [e.level, e.op, e.status]),
    [
      ['info', 'PutObject', 200],
      ['info', 'GetObject', 200],
      ['info', 'PutObject', 200],
      ['info', 'GetObject', 200],
    ],
    'health, readiness and metrics requests are not logged at info',
  );
  const [put, get, , signedGet] = requests as [Entry, Entry, Entry, Entry];
  assert.equal(put.accessKey, ACCESS_KEY);
  assert.equal(put.bytesIn, 3000);
  assert.equal(put.method, 'PUT');
  assert.equal(put.path, '/logged/a.bin');
  assert.match(put.remote as string, /127\.0\.0\.1/);
  assert.match(put.userAgent as string, /aws-sdk-js/);
  assert.equal(typeof put.ms, 'number');
  assert.equal(typeof put.reqId, 'string');
  assert.equal(get.bytesOut, 3000);
  assert.equal(get.bytesIn, 0);
  assert.equal(signedGet.accessKey, ACCESS_KEY, 'a presigned URL names its access key too');
  assert.equal(signedGet.userAgent, 'presigned-test/1');
  assert.equal(signedGet.path, '/logged/a.bin', 'never the query, where the signature is');

  const text = log.lines.join('\n');
  const signature = new URL(presigned).searchParams.get('X-Amz-Signature')!;
  for (const secret of [SECRET_KEY, k.put.SSECustomerKey, k.put.SSECustomerKeyMD5, signature])
    assert.ok(!text.includes(secret), 'no secret or signature in the log');
});

test('a refused signature still names the access key it claimed', async () => {
  log.lines.length = 0;
  const wrong = new S3Client({
    endpoint: st.gw.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'SOMEONE-ELSE', secretAccessKey: 'not-the-secret-at-all' },
    maxAttempts: 1,
  });
  try {
    const e = await s3Error(wrong.send(new GetObjectCommand({ Bucket: 'logged', Key: 'a.bin' })));
    assert.deepEqual([e.status, e.code], [403, 'InvalidAccessKeyId']);
  } finally {
    wrong.destroy();
  }
  const line = log.entries().find((e) => e.msg === 'request')!;
  assert.deepEqual([line.status, line.accessKey], [403, 'SOMEONE-ELSE']);
  assert.ok(!log.lines.join('\n').includes('not-the-secret-at-all'));
});

test('at debug, the probes and scrapes are logged', async () => {
  const debug = capturing('debug');
  const other = await startStack({ gatewayOptions: { logger: debug.logger } });
  try {
    for (const p of PROBES) assert.equal((await fetchRead(`${other.gw.url}${p}`)).status, 200, p);
  } finally {
    await other.close();
  }
  const probes = debug.entries().filter((e) => e.msg === 'request');
  assert.deepEqual(
    probes.map((e) => [e.level, e.path, e.status]),
    PROBES.map((p) => ['debug', p, 200]),
  );
});

test('kes sealed: N refused requests make one warn line and no error; unsealing makes one info line', async () => {
  await st.s3.send(new PutObjectCommand({ Bucket: 'logged', Key: 's3.txt', Body: 'under kes', ServerSideEncryption: 'AES256' }));
  log.lines.length = 0;
  await st.kesAdmin.seal();
  try {
    for (let i = 0; i < 8; i++) {
      const e = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: 'logged', Key: 's3.txt' })));
      assert.deepEqual([e.status, e.code], [503, 'ServiceUnavailable']);
      const p = await s3Error(
        st.s3.send(new PutObjectCommand({ Bucket: 'logged', Key: `new-${i}`, Body: 'x', ServerSideEncryption: 'AES256' })),
      );
      assert.deepEqual([p.status, p.code], [503, 'ServiceUnavailable']);
    }
  } finally {
    for (const share of st.shares) await st.kesAdmin.unseal(share);
  }
  assert.equal(await (await st.s3.send(new GetObjectCommand({ Bucket: 'logged', Key: 's3.txt' }))).Body!.transformToString(), 'under kes');
  const entries = log.entries();
  const warns = entries.filter((e) => e.level === 'warn');
  assert.equal(warns.length, 1, `one warn line: ${JSON.stringify(warns)}`);
  assert.match(warns[0]!.msg as string, /kes is sealed/);
  assert.equal(warns[0]!.sealed, true);
  assert.deepEqual(
    entries.filter((e) => e.level === 'error' || e.level === 'fatal'),
    [],
    'no error lines, no stacks',
  );
  assert.equal(entries.filter((e) => e.msg === 'request' && e.status === 503).length, 16, 'each refused request has its request line');
  assert.equal(entries.filter((e) => e.msg === 'kes node is back in use').length, 1);
  // Nothing was written while kes was sealed.
  const e = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: 'logged', Key: 'new-0' })));
  assert.deepEqual([e.status, e.code], [404, 'NoSuchKey']);
});
