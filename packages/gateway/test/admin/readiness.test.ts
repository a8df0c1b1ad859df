// Health that tells the truth, against a real kes and real stores: /kesgate/health is liveness (200 while
// the process serves), /kesgate/ready and MinIO's /minio/health/ready answer 503 while kes is sealed or
// stopped or a store does not answer, naming (only on kesgate's path) what is not ready and never an
// address; `kesgate status` exits 0 ready, 2 sealed, 1 on an error.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { CliRun } from '../helpers/cli.js';
import { runKesgateInProcess } from '../helpers/kesgate-in-process.js';
import { sharedBackendSkipReason, startSharedBackend, type SharedBackend } from '../helpers/shared-backend.js';
import { startFaultProxy, type FaultProxy } from '../helpers/upstreams.js';
import { ACCESS_KEY, getBytes, SECRET_KEY, startKes, startTestGateway, tempDir, type TestGateway, type TestKes } from './helpers.js';

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** An unsigned GET, as a load balancer or kubelet sends it. */
function get(base: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls until the readiness verdict is `status` (it is cached for a second); the last answer. */
async function readyBecomes(base: string, status: number): Promise<Answer> {
  for (let i = 0; ; i++) {
    const a = await get(base, '/kesgate/ready');
    if (a.status === status || i >= 100) return a;
    await sleep(100);
  }
}

function kesgateStatus(t: TestGateway): Promise<CliRun> {
  const args = ['status', '--endpoint', t.gw.url, '--access-key', ACCESS_KEY, '--secret-key', SECRET_KEY];
  // In this process (what the binary runs; test/cli/cli.test.ts runs the binary itself).
  return runKesgateInProcess(args, { cwd: tempDir('kesgate-ready-cwd-') });
}

/** No address, port or path of kes or the stores in a public answer. */
function assertNothingLeaked(body: string, kes: TestKes): void {
  assert.equal(body.includes('127.0.0.1'), false, body);
  assert.equal(body.includes(String(kes.srv.port)), false, body);
  assert.equal(/https?:|\/tmp|ECONNREFUSED/.test(body), false, body);
}

describe('readiness with the embedded layout', () => {
  let kes: TestKes;
  let t: TestGateway;
  before(async () => {
    kes = await startKes();
    t = await startTestGateway(kes);
  });
  after(async () => {
    await t?.close();
    await kes?.close();
  });

  test('ready: every probe answers 200; kesgate status exits 0', async () => {
    const base = t.gw.url;
    const live = await get(base, '/kesgate/health');
    assert.deepEqual([live.status, JSON.parse(live.body)], [200, { status: 'ok' }]);
    const ready = await get(base, '/kesgate/ready');
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body), { ready: true, notReady: [], checks: { kes: 'ready', metadata: 'ready', blobs: 'ready' } });
    assert.equal(ready.headers['cache-control'], 'no-store');
    for (const path of ['/minio/health/live', '/minio/health/ready']) {
      const a = await get(base, path);
      assert.deepEqual([a.status, a.body, a.headers['content-length']], [200, '', '0'], path);
    }
    const cli = await kesgateStatus(t);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^ready +yes$/m);
  });

  test('kes sealed: ready probes answer 503 naming kes (sealed), liveness stays 200, kesgate status exits 2', async () => {
    await kes.admin.seal();
    try {
      const ready = await readyBecomes(t.gw.url, 503);
      assert.equal(ready.status, 503);
      assert.deepEqual(JSON.parse(ready.body), {
        ready: false,
        notReady: ['kes'],
        checks: { kes: 'sealed', metadata: 'ready', blobs: 'ready' },
      });
      assertNothingLeaked(ready.body, kes);
      const minio = await get(t.gw.url, '/minio/health/ready');
      assert.deepEqual([minio.status, minio.body], [503, ''], 'MinIO path: the status only');
      assert.deepEqual([(await get(t.gw.url, '/kesgate/health')).status, (await get(t.gw.url, '/minio/health/live')).status], [200, 200]);
      const cli = await kesgateStatus(t);
      assert.equal(cli.code, 2, cli.stdout + cli.stderr);
      assert.match(cli.stdout, /^ready +NO: kes sealed/m);
    } finally {
      await kes.admin.unseal(kes.shares[0]!);
    }
    assert.equal((await readyBecomes(t.gw.url, 200)).status, 200, 'ready again once unsealed, without a restart');
  });

  test('kes stopped: ready probes answer 503 naming kes (unreachable), kesgate status exits 1; ready again once kes is back', async () => {
    await kes.srv.close();
    try {
      const ready = await readyBecomes(t.gw.url, 503);
      assert.equal(ready.status, 503);
      assert.deepEqual(JSON.parse(ready.body), {
        ready: false,
        notReady: ['kes'],
        checks: { kes: 'unreachable', metadata: 'ready', blobs: 'ready' },
      });
      assertNothingLeaked(ready.body, kes);
      assert.equal((await get(t.gw.url, '/minio/health/ready')).status, 503);
      assert.equal((await get(t.gw.url, '/kesgate/health')).status, 200);
      const cli = await kesgateStatus(t);
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
      assert.match(cli.stdout, /^ready +NO: no kes endpoint reachable$/m);
    } finally {
      await kes.restart();
    }
    assert.equal((await readyBecomes(t.gw.url, 200)).status, 200);
  });

  test('the gateway unreachable: kesgate status exits 1', async () => {
    const gone = await startTestGateway(kes);
    const url = gone.gw.url;
    await gone.close();
    const cli = await kesgateStatus(gone);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, new RegExp(`cannot reach the gateway at ${url.replace(/[.]/g, '\\.')}`));
  });

  test('a signed request to /minio/health/live is S3 (the object health/live of a bucket named minio), not the probe', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'minio' }));
    await t.s3.send(new PutObjectCommand({ Bucket: 'minio', Key: 'health/live', Body: 'an object, not a probe' }));
    assert.equal((await getBytes(t.s3, 'minio', 'health/live')).toString(), 'an object, not a probe');
    assert.deepEqual([(await get(t.gw.url, '/minio/health/live')).body], [''], 'unsigned, it is still the probe');
  });
});

describe('readiness with shared stores', { skip: sharedBackendSkipReason() }, () => {
  let kes: TestKes;
  let shared: SharedBackend;
  let t: TestGateway;
  let blobFaults: FaultProxy;
  let failBlobs = false;

  before(async () => {
    kes = await startKes();
    shared = await startSharedBackend({ ownPostgres: true });
    const fresh = await shared.backend();
    blobFaults = await startFaultProxy(shared.upstream.endpoint, () =>
      failBlobs ? { status: 503, code: 'ServiceUnavailable' } : 'forward',
    );
    t = await startTestGateway(kes, {
      backend: { ...fresh.backend, blobs: { s3: { ...fresh.backend.blobs.s3, endpoint: blobFaults.endpoint } } },
    });
  });
  after(async () => {
    await t?.close().catch(() => undefined);
    await blobFaults?.close();
    await shared?.close();
    await kes?.close();
  });

  test('ready while both stores answer', async () => {
    const ready = await readyBecomes(t.gw.url, 200);
    assert.deepEqual(JSON.parse(ready.body), { ready: true, notReady: [], checks: { kes: 'ready', metadata: 'ready', blobs: 'ready' } });
  });

  test('the blob store failing: 503 naming blobs, kesgate status exits 1; ready again once it answers', async () => {
    failBlobs = true;
    try {
      const ready = await readyBecomes(t.gw.url, 503);
      assert.deepEqual(
        [ready.status, JSON.parse(ready.body)],
        [503, { ready: false, notReady: ['blobs'], checks: { kes: 'ready', metadata: 'ready', blobs: 'unreachable' } }],
      );
      assert.equal(ready.body.includes(shared.upstream.endpoint), false);
      assert.deepEqual([(await get(t.gw.url, '/minio/health/ready')).status, (await get(t.gw.url, '/kesgate/health')).status], [503, 200]);
      const cli = await kesgateStatus(t);
      assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    } finally {
      failBlobs = false;
    }
    assert.equal((await readyBecomes(t.gw.url, 200)).status, 200);
  });

  test('the database stopped: 503 naming metadata; ready again once it is back', async () => {
    await shared.postgres.stop();
    let ready: Answer;
    try {
      ready = await readyBecomes(t.gw.url, 503);
    } finally {
      await shared.postgres.start();
    }
    assert.deepEqual(
      [ready.status, JSON.parse(ready.body)],
      [503, { ready: false, notReady: ['metadata'], checks: { kes: 'ready', metadata: 'unreachable', blobs: 'ready' } }],
    );
    assert.equal(/postgres|5432|password/i.test(ready.body), false);
    assert.equal((await readyBecomes(t.gw.url, 200)).status, 200);
  });
});
