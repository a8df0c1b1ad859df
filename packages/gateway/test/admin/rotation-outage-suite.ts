// A rotation job through a short kes outage, against a real kes and a real gateway: kes sealed for a few
// seconds, or stopped and started again, while a job re-wraps a few hundred objects — the job waits and
// backs off and ends `done` with every object under the new key. With a wait shorter than the outage, the
// job ends `incomplete` naming the objects left behind, `kesgate rotate` exits non-zero, and
// `kesgate key dependents` counts exactly those objects under the old key.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { CliRun } from '../helpers/cli.js';
import { runKesgateInProcess } from '../helpers/kesgate-in-process.js';
import type { RotationJob } from '../../src/rotation/index.js';
import {
  ACCESS_KEY,
  content,
  FAST_RETRY,
  getBytes,
  SECRET_KEY,
  startKes,
  startTestGateway,
  tempDir,
  type TestGateway,
  type TestKes,
} from './helpers.js';

const OBJECTS = 200;

/** `kesgate args…` in this process (what the binary runs; test/cli/cli.test.ts runs the binary itself). */
function kesgate(args: string[]): Promise<CliRun> {
  return runKesgateInProcess(args, { cwd: tempDir('kesgate-outage-cwd-') });
}

/** `fn` over `items`, ten at a time. */
async function inBatches<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += 10) await Promise.all(items.slice(i, i + 10).map(fn));
}

async function readsBack(t: TestGateway, bucket: string, bodies: Map<string, Buffer>): Promise<void> {
  await inBatches([...bodies], async ([key, body]) => assert.ok((await getBytes(t.s3, bucket, key)).equals(body), `${key} reads back`));
}

export type OutageCase = 'sealed' | 'stopped' | 'too-long';

/** The suite, with the cases a test file picks (split across files so each stays well within a file's time limit). */
export function rotationOutageSuite(cases: OutageCase[]): void {
  describe(`rotation through a kes outage (${cases.join(', ')})`, () => {
    let kes: TestKes;
    /** Runs before each object of any job, when set. */
    let hook: ((key: string) => void) | undefined;
    let outage: Promise<void> | undefined;

    before(async () => {
      kes = await startKes(['kesgate-default', 'old-a', 'old-b', 'old-c', 'new']);
    });
    after(async () => {
      await kes?.close();
    });

    /** A gateway whose jobs wait `waitForKesMs` through an outage, and a bucket of OBJECTS objects under `oldKey`. */
    async function gatewayWithObjects(
      bucket: string,
      oldKey: string,
      waitForKesMs: number,
    ): Promise<{ t: TestGateway; bodies: Map<string, Buffer> }> {
      const t = await startTestGateway(kes, {
        concurrency: 8,
        rotation: { retry: { ...FAST_RETRY, baseDelayMs: 50, maxDelayMs: 500, waitForKesMs }, beforeObject: (_job, key) => hook?.(key) },
      });
      await t.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const bodies = new Map<string, Buffer>();
      for (let i = 0; i < OBJECTS; i++) bodies.set(`obj-${String(i).padStart(4, '0')}`, content(`${bucket}-${i}`, 64 + (i % 7)));
      await inBatches([...bodies], ([key, body]) =>
        t.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: oldKey })),
      );
      return { t, bodies };
    }

    /** Starts `fault` (not awaited by the job) once the job has reached its 50th object. */
    function faultAtObject50(fault: () => Promise<void>): void {
      let seen = 0;
      hook = () => {
        if (++seen === 50) outage = fault();
      };
    }

    async function rotateAll(t: TestGateway, bucket: string, fromKey: string): Promise<RotationJob> {
      const started = await t.admin.startRotation({ bucket, fromKey, toKey: 'new' });
      const job = await t.gw.admin.rotation.wait(started.id);
      await outage;
      hook = undefined;
      outage = undefined;
      return job;
    }

    /** Nothing is left under the old key, and every object reads back. */
    async function assertAllRotated(t: TestGateway, bucket: string, bodies: Map<string, Buffer>, fromKey: string): Promise<void> {
      const deps = await t.admin.keyDependents(fromKey);
      assert.deepEqual([deps.objects, deps.uploads], [0, 0], `nothing under ${fromKey}`);
      const now = await t.admin.keyDependents('new');
      assert.equal(now.buckets.find((b) => b.bucket === bucket)?.objects, bodies.size, 'every object under the new key');
      await readsBack(t, bucket, bodies);
    }

    /** The outages a job waits through, each from its 50th object, on a bucket of its own under an old key of its own. */
    const waitedThrough: { case: OutageCase; name: string; met: string; bucket: string; key: string; fault: () => Promise<void> }[] = [
      {
        case: 'sealed',
        name: 'kes sealed for ~4 s mid-job',
        met: 'the sealed kes',
        bucket: 'sealed-4s',
        key: 'old-a',
        fault: async () => {
          await kes.admin.seal();
          await sleep(4000);
          await kes.admin.unseal(kes.shares[0]!);
        },
      },
      {
        case: 'stopped',
        name: 'kes stopped for ~4 s and started again mid-job',
        met: 'the stopped kes',
        bucket: 'killed-4s',
        key: 'old-b',
        fault: () => kes.restart(4000),
      },
    ];
    for (const o of waitedThrough.filter((w) => cases.includes(w.case)))
      test(`${o.name}: the job waits, then ends done with every object rotated`, async () => {
        const { t, bodies } = await gatewayWithObjects(o.bucket, o.key, 60_000);
        try {
          faultAtObject50(o.fault);
          const job = await rotateAll(t, o.bucket, o.key);
          assert.equal(job.state, 'done', JSON.stringify(job.failures));
          assert.deepEqual([job.counters.scanned, job.counters.rotated, job.counters.failed], [OBJECTS, OBJECTS, 0]);
          assert.ok(job.counters.retries > 0, `the job met ${o.met} and retried`);
          await assertAllRotated(t, o.bucket, bodies, o.key);
        } finally {
          await t.close();
        }
      });

    if (cases.includes('too-long'))
      test('an outage longer than the job waits: incomplete, the objects named, kesgate rotate exits 1, key dependents counts them', async () => {
        const { t, bodies } = await gatewayWithObjects('too-long', 'old-c', 1000);
        let unsealed = false;
        try {
          // Sealed at the 50th object and left sealed until the job has ended.
          faultAtObject50(() => kes.admin.seal());
          const creds = ['--endpoint', t.gw.url, '--access-key', ACCESS_KEY, '--secret-key', SECRET_KEY];
          const r = await kesgate([
            'rotate',
            '--bucket',
            'too-long',
            '--from-key',
            'old-c',
            '--to-key',
            'new',
            '--json',
            '--poll',
            '50',
            ...creds,
          ]);
          await outage;
          hook = undefined;
          outage = undefined;
          await kes.admin.unseal(kes.shares[0]!);
          unsealed = true;

          assert.equal(r.code, 1, r.stderr);
          const job = JSON.parse(r.stdout) as RotationJob;
          assert.equal(job.state, 'incomplete');
          assert.equal(job.counters.scanned, OBJECTS);
          assert.ok(job.counters.failed > 0 && job.counters.failed < OBJECTS, `failed ${job.counters.failed}`);
          assert.equal(job.counters.rotated + job.counters.failed, OBJECTS);
          assert.equal(job.failures.length, Math.min(job.counters.failed, 20));
          for (const f of job.failures) {
            assert.match(f.error, /ServiceUnavailable/);
            assert.equal(
              (await t.admin.objectStatus('too-long', f.key)).sse.kmsKey,
              'old-c',
              `${f.key} is named and still under the old key`,
            );
          }

          // What is left behind is what deleting the old key would erase; every object still reads.
          const deps = await kesgate(['key', 'dependents', 'old-c', ...creds]);
          assert.equal(deps.code, 3, deps.stderr);
          assert.match(deps.stdout, new RegExp(`^key old-c: ${job.counters.failed} objects? `, 'm'));
          await readsBack(t, 'too-long', bodies);

          // The summary a person reads says so too; running the same rotation again finishes the rest.
          const again = await kesgate([
            'rotate',
            '--bucket',
            'too-long',
            '--from-key',
            'old-c',
            '--to-key',
            'new',
            '--poll',
            '50',
            ...creds,
          ]);
          assert.equal(again.code, 0, again.stderr);
          assert.match(again.stdout, new RegExp(`rotated ${job.counters.failed}, skipped ${OBJECTS - job.counters.failed}, failed 0`));
          await assertAllRotated(t, 'too-long', bodies, 'old-c');
        } finally {
          if (!unsealed) await kes.admin.unseal(kes.shares[0]!).catch(() => undefined);
          await t.close();
        }
      });
  });
}
