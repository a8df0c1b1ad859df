// What an operator's Prometheus scrapes from a real stack: kes up and sealed per endpoint (flipping as kes
// is sealed, unsealed, stopped and started), request latency histograms by S3 operation, and the optional
// bearer token on /metrics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { startStack, type Stack } from '../helpers/stack.js';
import { getBytes, s3Error } from '../helpers/s3.js';

let st: Stack;
before(async () => {
  st = await startStack();
  await st.s3.send(new CreateBucketCommand({ Bucket: 'scraped' }));
});
after(async () => st?.close());

async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  const r = await fetch(`${url}/metrics`, { headers });
  assert.equal(r.status, 200);
  return r.text();
}

/** The value of one series, or undefined when the scrape does not have it. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Scrapes until `series` has `want` (the gauges reuse a probe for a second): at most ~10 s. */
async function until(series: string, want: number | undefined): Promise<string> {
  let text = '';
  for (let i = 0; i < 100; i++) {
    text = await scrape(st.gw.url);
    if (value(text, series) === want) return text;
    await sleep(100);
  }
  assert.fail(
    `${series} never became ${want}: ${text
      .split('\n')
      .filter((l) => l.startsWith('kesgate_kms_'))
      .join(' | ')}`,
  );
}

test('kesgate_kms_up and kesgate_kms_sealed follow kes: unsealed, sealed, unsealed, stopped, started', async () => {
  const up = `kesgate_kms_up{endpoint="${st.kes.url}"}`;
  const sealed = `kesgate_kms_sealed{endpoint="${st.kes.url}"}`;
  let text = await until(sealed, 0);
  assert.equal(value(text, up), 1);
  assert.match(text, /# TYPE kesgate_kms_sealed gauge/);

  await st.kesAdmin.seal();
  text = await until(sealed, 1);
  assert.equal(value(text, up), 1, 'a sealed kes still answers');
  for (const share of st.shares) await st.kesAdmin.unseal(share);
  await until(sealed, 0);

  await st.stopKes();
  try {
    text = await until(up, 0);
    assert.equal(value(text, sealed), undefined, 'unknown while kes cannot be reached');
  } finally {
    await st.restartKes();
  }
  await until(up, 1);
  await until(sealed, 0);
});

test('kesgate_request_duration_seconds has buckets for PutObject and GetObject', async () => {
  const body = randomBytes(1000);
  await st.s3.send(new PutObjectCommand({ Bucket: 'scraped', Key: 'h', Body: body }));
  assert.deepEqual(await getBytes(st.s3, { Bucket: 'scraped', Key: 'h' }), body);
  const text = await scrape(st.gw.url);
  for (const op of ['PutObject', 'GetObject']) {
    assert.match(text, new RegExp(`kesgate_request_duration_seconds_bucket\\{le="0\\.1",operation="${op}"\\} \\d`));
    assert.match(text, new RegExp(`kesgate_request_duration_seconds_bucket\\{le="\\+Inf",operation="${op}"\\} [1-9]`));
    assert.ok((value(text, `kesgate_request_duration_seconds_count{operation="${op}"}`) ?? 0) >= 1);
  }
});

test('metrics.bearerToken: /metrics answers 401 without the token or with another, 200 with it; a signed GET /metrics is still S3', async () => {
  const token = randomBytes(24).toString('hex');
  const guarded = await startStack({ gateway: { metrics: { bearerToken: token } } });
  try {
    for (const path of ['/metrics', '/kesgate/metrics']) {
      const none = await fetch(`${guarded.gw.url}${path}`);
      assert.equal(none.status, 401, path);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer /);
      const noneText = await none.text();
      assert.match(noneText, /bearer token/);
      assert.ok(!noneText.includes('kesgate_'), 'no metric in the refusal');
      const wrong = await fetch(`${guarded.gw.url}${path}`, { headers: { Authorization: `Bearer ${randomBytes(24).toString('hex')}` } });
      assert.equal(wrong.status, 401, path);
      assert.ok(!(await wrong.text()).includes('kesgate_'));
      const ok = await fetch(`${guarded.gw.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200, path);
      assert.match(await ok.text(), /kesgate_requests_total/);
    }
    const e = await s3Error(guarded.s3.send(new ListObjectsV2Command({ Bucket: 'metrics' })));
    assert.deepEqual([e.status, e.code], [404, 'NoSuchBucket'], 'SigV4 on /metrics is ListObjects on a bucket named metrics');
    await guarded.s3.send(new CreateBucketCommand({ Bucket: 'metrics' }));
    assert.equal((await guarded.s3.send(new ListObjectsV2Command({ Bucket: 'metrics' }))).KeyCount, 0);
    const stillReadable = await s3Error(guarded.s3.send(new GetObjectCommand({ Bucket: 'metrics', Key: 'none' })));
    assert.deepEqual([stillReadable.status, stillReadable.code], [404, 'NoSuchKey']);
  } finally {
    await guarded.close();
  }
  assert.equal((await fetch(`${st.gw.url}/metrics`)).status, 200, 'without metrics.bearerToken, /metrics stays open');
});
