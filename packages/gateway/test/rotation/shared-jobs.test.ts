// Rotation jobs on the shared layout: two gateways (A and B) on one PostgreSQL database and one upstream
// bucket, driven through the admin API and the S3 SDK. A job started on one gateway is seen from the other;
// one gateway runs it at a time under its lease; when A stops mid-job (cleanly, or cut off from the
// database so its lease expires) B takes the job over where its progress says and finishes it, each object
// re-wrapped exactly once (counted by both gateways' /metrics); a cancel through B ends a job A runs, or a
// job whose gateway died.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { AdminRequestError } from '../../src/admin/client.js';
import type { RotationJob, RotationOptions } from '../../src/rotation/index.js';
import { content, getBytes, startKes, startTestGateway, type TestGateway, type TestKes } from '../admin/helpers.js';
import { sharedBackendSkipReason, startSharedBackend, type SharedBackend, type SharedBackendSection } from '../helpers/shared-backend.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/** Frequent looks for jobs nobody runs, so a takeover comes soon after a lease is free. */
const FAST = { adoptEveryMs: 100 };
/** A short lease for the gateway that dies in a test, so that its lease expires within the test. */
const SHORT_LEASE = 1500;
const KEYS = Array.from({ length: 8 }, (_, i) => `k${i}`);
const body = (key: string): Buffer => content(`shared-${key}`, 2000 + key.length);

/** Polls `read` until `done` holds for what it returns. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await sleep(50);
  }
}

/** kesgate_rotation_objects_total{result} as the gateway's /metrics page says. */
async function rotatedMetric(t: TestGateway, result: 'rotated' | 'skipped' | 'failed'): Promise<number> {
  const text = await (await fetch(`${t.gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`kesgate_rotation_objects_total{result="${result}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('rotation jobs shared by two gateways', { skip: sharedBackendSkipReason() }, () => {
  let kes: TestKes;
  let shared: SharedBackend;
  const open: TestGateway[] = [];
  const proxies: TcpProxy[] = [];

  before(async () => {
    kes = await startKes(['kesgate-default', 'key-old', 'key-new']);
    shared = await startSharedBackend();
  });
  // Each test's gateways stop with it: left running, each would go on looking for jobs to adopt (every 100 ms)
  // through the rest of the file.
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close().catch(() => undefined);
  });
  after(async () => {
    for (const t of open) await t.close().catch(() => undefined);
    for (const p of proxies) await p.close();
    await shared?.close();
    await kes?.close();
  });

  /** A fresh database and upstream bucket (the backend section both gateways get), and the S3 bucket to use. */
  async function layout(bucket: string) {
    const { backend, url } = await shared.backend();
    return { backend, url, bucket };
  }

  async function gateway(backend: SharedBackendSection, rotation: RotationOptions = {}): Promise<TestGateway> {
    const t = await startTestGateway(kes, { backend, concurrency: 1, rotation: { ...FAST, ...rotation } });
    open.push(t);
    return t;
  }

  async function fill(t: TestGateway, bucket: string): Promise<void> {
    await t.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const key of KEYS) {
      await t.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body(key), ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-old' }),
      );
    }
  }

  /** Every object under `kmsKey`, reading back whole, and its job counters adding up to all of them. */
  async function assertRotated(t: TestGateway, bucket: string, job: RotationJob, keys = KEYS): Promise<void> {
    assert.equal(job.state, 'done', JSON.stringify(job));
    assert.equal(job.counters.scanned, keys.length, 'every object scanned once');
    assert.equal(job.counters.failed, 0);
    assert.equal(job.counters.rotated + job.counters.skippedBy.current, keys.length);
    assert.equal(job.lastKey, keys[keys.length - 1]);
    for (const key of keys) {
      const status = await t.admin.objectStatus(bucket, key);
      assert.equal(status.sse.kmsKey, 'key-new', key);
      assert.equal(status.sse.kmsKeyVersion, job.targetVersion, key);
      assert.ok((await getBytes(t.s3, bucket, key)).equals(body(key)), `${key} reads back`);
    }
  }

  test('a job started on one gateway is run there and seen from the other, in the list and by id', async () => {
    const { backend, bucket } = await layout('seen');
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const a = await gateway(backend);
    // B holds its dry runs at their first object until the test says so.
    const b = await gateway(backend, { beforeObject: (job) => (job.dryRun ? gate : undefined) });
    await fill(b, bucket);
    const started = await a.admin.startRotation({ bucket, toKey: 'key-new' });
    const done = await a.gw.admin.rotation.wait(started.id);
    await assertRotated(b, bucket, done);
    assert.equal(done.counters.rotated, KEYS.length);

    const seen = await b.admin.rotation(started.id);
    assert.deepEqual(seen, await a.admin.rotation(started.id), 'both gateways answer the same stored job');
    assert.deepEqual(
      (await b.admin.rotations()).map((j) => j.id),
      [started.id],
    );
    assert.equal(await rotatedMetric(a, 'rotated'), KEYS.length, 'A rotated every object');
    assert.equal(await rotatedMetric(b, 'rotated'), 0, 'B ran none of it');

    // While B runs a job, A refuses one over the same keys, naming B's job; the list shows both gateways' jobs.
    const onB = await b.admin.startRotation({ bucket, toKey: 'key-new', dryRun: true });
    await assert.rejects(a.admin.startRotation({ bucket, prefix: 'k', toKey: 'key-new' }), (err: unknown) => {
      assert.ok(err instanceof AdminRequestError);
      assert.equal(err.status, 409);
      assert.match(err.message, new RegExp(`Rotation job ${onB.id} is already running on bucket "${bucket}"`));
      return true;
    });
    assert.deepEqual(
      (await a.admin.rotations()).map((j) => [j.id, j.state]),
      [
        [onB.id, 'running'],
        [started.id, 'done'],
      ],
    );
    openGate();
    const dry = await b.gw.admin.rotation.wait(onB.id);
    assert.deepEqual([dry.state, dry.counters.skippedBy.current], ['done', KEYS.length]);
  });

  test('a job outlasting its lease several times stays on its gateway: the lease is renewed while it runs', async () => {
    const { backend, bucket } = await layout('renewed');
    const ttl = 1200;
    const a = await gateway(backend, {
      leaseTtlMs: ttl,
      // One slow object: the job lasts four times the lease's time to live.
      beforeObject: (_job, key) => (key === 'k1' ? sleep(4 * ttl) : undefined),
    });
    const b = await gateway(backend);
    await fill(a, bucket);
    const started = await a.admin.startRotation({ bucket, toKey: 'key-new' });
    const done = await a.gw.admin.rotation.wait(started.id);
    await assertRotated(b, bucket, done);
    assert.deepEqual(
      [await rotatedMetric(a, 'rotated'), await rotatedMetric(b, 'rotated')],
      [KEYS.length, 0],
      'B, looking every 100 ms, never took it',
    );
  });

  test('B takes over a job A stopped in the middle (A shut down), and finishes it from where A left it', async () => {
    const { backend, bucket } = await layout('handover');
    let stopping: Promise<void> | undefined;
    const a: TestGateway = await gateway(backend, {
      beforeObject: (_job, key) => {
        // Shut A down while k3 is in hand: k3 is finished, no further object is started there.
        if (key === 'k3' && !stopping) stopping = a.close();
      },
    });
    const b = await gateway(backend);
    await fill(a, bucket);
    const started = await a.admin.startRotation({ bucket, toKey: 'key-new' });
    await until(async () => stopping !== undefined, Boolean);
    await stopping;

    const done = await until(
      () => b.admin.rotation(started.id),
      (j) => j.state !== 'running',
    );
    await assertRotated(b, bucket, done);
    assert.equal(done.counters.rotated, KEYS.length, 'nothing was done twice: A saved its progress before it stopped');
    assert.equal(await rotatedMetric(b, 'rotated'), KEYS.length - 4, 'B rotated what A had not (k4..k7), A the rest');
  });

  test('B takes over once the lease of a job A runs expires (A cut off from the database), each object rotated once', async () => {
    const { backend, bucket, url } = await layout('takeover');
    const proxy = await startTcpProxy(shared.postgres.port);
    proxies.push(proxy);
    const throughProxy = { ...backend, metadata: { postgres: { url: url.replace(`:${shared.postgres.port}/`, `:${proxy.port}/`) } } };
    let b: TestGateway | undefined;
    let cutAt: string | undefined;
    const a = await gateway(throughProxy, {
      leaseTtlMs: SHORT_LEASE,
      beforeObject: async (job, key) => {
        if (key !== 'k3' || cutAt) return;
        // Once k0..k2 are stored as done (B sees it), A loses the database: it can neither renew its
        // lease nor write, and its lease runs out.
        await until(
          () => b!.admin.rotation(job.id),
          (j) => j.lastKey === 'k2',
        );
        cutAt = key;
        await proxy.cut();
      },
    });
    b = await gateway(backend);
    await fill(b, bucket);
    const started = await a.admin.startRotation({ bucket, toKey: 'key-new' });

    const done = await until(
      () => b!.admin.rotation(started.id),
      (j) => j.state !== 'running',
    );
    assert.equal(cutAt, 'k3', 'A was cut off in the middle of the job');
    await assertRotated(b, bucket, done);
    // Exactly once across the two gateways: A's three before the cut, B's five after it; neither did one twice.
    const byA = await rotatedMetric(a, 'rotated');
    const byB = await rotatedMetric(b, 'rotated');
    assert.deepEqual([byA, byB], [3, KEYS.length - 3]);
    assert.equal(done.counters.rotated, KEYS.length);
    assert.equal(done.counters.skipped, 0);

    // A, back on the network, cannot change the finished job: its writes were fenced by the lease it lost.
    await proxy.restore();
    assert.deepEqual(await a.admin.rotation(started.id), done);
  });

  test('a cancel through B ends a job A runs, after the objects A has in hand', async () => {
    const { backend, bucket } = await layout('cancel-held');
    const a: TestGateway = await gateway(backend, {
      leaseTtlMs: 3000,
      beforeObject: async (job, key) => {
        // From k2 on, A waits until it has learnt (at a lease renewal) that a cancel was asked for.
        if (key < 'k2') return;
        await until(
          () => a.gw.admin.rotation.get(job.id),
          (j) => j.cancelRequested === true,
        );
      },
    });
    const b = await gateway(backend);
    await fill(a, bucket);
    const started = await a.admin.startRotation({ bucket, toKey: 'key-new' });
    await until(
      () => b.admin.rotation(started.id),
      (j) => j.lastKey === 'k1',
    );

    await b.admin.cancelRotation(started.id);
    const ended = await until(
      () => b.admin.rotation(started.id),
      (j) => j.state !== 'running',
    );
    assert.equal(ended.state, 'cancelled');
    assert.deepEqual(
      [ended.counters.scanned, ended.counters.rotated, ended.lastKey],
      [3, 3, 'k2'],
      'k2, in hand, was finished; nothing after it',
    );
    assert.equal(await rotatedMetric(b, 'rotated'), 0, 'B ran nothing');
    for (const key of KEYS) {
      assert.equal((await b.admin.objectStatus(bucket, key)).sse.kmsKey, ['k0', 'k1', 'k2'].includes(key) ? 'key-new' : 'key-old', key);
    }
    await assert.rejects(
      b.admin.cancelRotation(started.id),
      (err: unknown) => err instanceof AdminRequestError && err.status === 409 && /is not running \(it is cancelled\)/.test(err.message),
    );
  });

  test('a cancel through B ends a job whose gateway died, once its lease expired', async () => {
    const { backend, bucket, url } = await layout('cancel-dead');
    const proxy = await startTcpProxy(shared.postgres.port);
    proxies.push(proxy);
    const throughProxy = { ...backend, metadata: { postgres: { url: url.replace(`:${shared.postgres.port}/`, `:${proxy.port}/`) } } };
    let b: TestGateway | undefined;
    const a = await gateway(throughProxy, {
      leaseTtlMs: SHORT_LEASE,
      beforeObject: async (job, key) => {
        if (key !== 'k2') return;
        await until(
          () => b!.admin.rotation(job.id),
          (j) => j.lastKey === 'k1',
        );
        await proxy.cut();
      },
    });
    // B never looks for jobs nobody runs: only the cancel can end this one.
    b = await gateway(backend, { adoptEveryMs: 3_600_000 });
    await fill(b, bucket);
    const started = await a.admin.startRotation({ bucket, toKey: 'key-new' });
    await until(
      () => b!.admin.rotation(started.id),
      (j) => j.lastKey === 'k1',
    );

    await b.admin.cancelRotation(started.id);
    const ended = await until(
      () => b!.admin.rotation(started.id),
      (j) => j.state !== 'running',
    );
    assert.equal(ended.state, 'cancelled');
    assert.deepEqual([ended.counters.scanned, ended.lastKey], [2, 'k1'], 'the progress A stored before it died');
    assert.equal(await rotatedMetric(b, 'rotated'), 0);
    for (const key of KEYS.slice(2)) assert.equal((await b.admin.objectStatus(bucket, key)).sse.kmsKey, 'key-old', key);
    await proxy.restore();
    assert.deepEqual(await a.admin.rotation(started.id), ended);
  });
  test('two overlapping jobs started on A and B at the same moment: exactly one runs, the other is refused with 409', async () => {
    const { backend, bucket } = await layout('race');
    // The job that starts waits at its first object until both starts have answered: otherwise, on a loaded
    // machine, it could finish its 8 objects before the other start arrives, which then rightly runs.
    let bothAnswered: Promise<void> = Promise.resolve();
    const hold = { beforeObject: () => bothAnswered };
    const a = await gateway(backend, hold);
    const b = await gateway(backend, hold);
    await fill(a, bucket);
    for (let round = 0; round < 5; round++) {
      const starts = [
        a.admin.startRotation({ bucket, toKey: round % 2 ? 'key-old' : 'key-new' }),
        b.admin.startRotation({ bucket, prefix: 'k', toKey: round % 2 ? 'key-old' : 'key-new' }),
      ];
      bothAnswered = Promise.allSettled(starts).then(() => undefined);
      const results = await Promise.allSettled(starts);
      const started = results.filter((r): r is PromiseFulfilledResult<RotationJob> => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(started.length, 1, `round ${round}: one job starts`);
      const err = refused[0]!.reason as unknown;
      assert.ok(err instanceof AdminRequestError && err.status === 409, String(err));
      assert.match(err.message, new RegExp(`Rotation job ${started[0]!.value.id} is already running`));
      const runner = started[0]!.value.prefix === '' ? a : b;
      assert.equal((await runner.gw.admin.rotation.wait(started[0]!.value.id)).state, 'done');
    }
    const jobs = await a.admin.rotations();
    assert.equal(jobs.length, 5, 'no refused start left a job behind');
    assert.ok(jobs.every((j) => j.state === 'done'));
  });
});
