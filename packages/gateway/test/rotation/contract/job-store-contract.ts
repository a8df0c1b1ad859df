// The rotation job store contract as tests, through the interface only: each implementation (the embedded
// SQLite rotation.db, the PostgreSQL tables) runs it from a small *.test.ts with its own `open`. Jobs read
// back exactly; the running gateway's writes are fenced by the job's lease in the metadata store the
// fixture gives; a cancel request is seen by everyone; a reopened store still has every job.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { jobLeaseName, type JobStore } from '../../../src/rotation/job-store.js';
import { emptyCounters, type RotationJob } from '../../../src/rotation/types.js';
import type { MetadataStore } from '../../../src/storage/metadata/types.js';

export interface JobStoreFixture {
  jobs: JobStore;
  /** The metadata store whose leases fence the job store's writes. */
  metadata: MetadataStore;
  /** Closes the job store and opens it again on the same data. */
  reopen(): Promise<JobStore>;
  cleanup(): Promise<void>;
}

const LONG = 60_000;
const SHORT = 150;

let clock = Date.parse('2030-01-01T00:00:00.000Z');
/** Jobs created one ms apart, so "newest first" is well defined; each in its own bucket unless told. */
function job(fields: Partial<RotationJob> = {}): RotationJob {
  return {
    id: randomUUID(),
    bucket: `photos-${clock + 1}`,
    prefix: '',
    toKey: 'key-new',
    dryRun: false,
    state: 'running',
    counters: emptyCounters(),
    failures: [],
    createdAt: new Date(++clock).toISOString(),
    ...fields,
  };
}

function counters(scanned: number, rotated: number): RotationJob['counters'] {
  const c = emptyCounters();
  return { ...c, scanned, rotated, skipped: scanned - rotated, skippedBy: { ...c.skippedBy, current: scanned - rotated } };
}

export function describeJobStore(name: string, open: () => Promise<JobStoreFixture>): void {
  describe(`rotation job store contract: ${name}`, () => {
    let f: JobStoreFixture;
    let jobs: JobStore;
    const hold = (id: string, holder: string, ttl = LONG): Promise<boolean> => f.metadata.tryLease(jobLeaseName(id), holder, ttl);

    before(async () => {
      f = await open();
      jobs = f.jobs;
    });
    after(async () => {
      await f?.cleanup();
    });

    it('keeps a job exactly as inserted, every optional field included; an unknown id is undefined', async () => {
      const full = job({
        prefix: 'docs/ä/',
        fromKey: 'key-old',
        dryRun: true,
        targetVersion: 'v3',
        total: 42,
        counters: counters(7, 5),
        lastKey: 'docs/ä/7',
        failures: [{ key: 'docs/ä/2', error: 'KMS.DisabledException: sealed' }],
      });
      const bare = job();
      await jobs.insert(full);
      await jobs.insert(bare);
      assert.deepEqual(await jobs.get(full.id), full);
      assert.deepEqual(await jobs.get(bare.id), bare);
      assert.equal(await jobs.get(randomUUID()), undefined);
    });

    it('lists newest first up to the limit, and the running jobs oldest first', async () => {
      const made = [job(), job({ state: 'done', finishedAt: new Date(clock + 5).toISOString() }), job(), job({ state: 'cancelled' })];
      for (const j of made) await jobs.insert(j);
      const newest = await jobs.list(3);
      assert.deepEqual(
        newest.map((j) => j.id),
        [made[3]!.id, made[2]!.id, made[1]!.id],
      );
      const running = (await jobs.running()).map((j) => j.id);
      const mine = running.filter((id) => made.some((j) => j.id === id));
      assert.deepEqual(mine, [made[0]!.id, made[2]!.id]);
      assert.ok((await jobs.running()).every((j) => j.state === 'running'));
    });

    it('stores a running job only if no running job overlaps its keys; ended jobs and other buckets never clash', async () => {
      const whole = job({ bucket: 'overlap' });
      assert.equal(await jobs.insert(whole), undefined);
      for (const prefix of ['', 'a/', 'a/b/']) {
        const refused = job({ bucket: 'overlap', prefix });
        assert.deepEqual(await jobs.insert(refused), whole, `prefix "${prefix}" overlaps the whole bucket`);
        assert.equal(await jobs.get(refused.id), undefined, 'nothing stored');
      }
      assert.equal(await jobs.insert(job({ bucket: 'overlap-2' })), undefined, 'another bucket');
      assert.equal(
        await jobs.insert(job({ bucket: 'overlap', state: 'done', finishedAt: new Date(clock).toISOString() })),
        undefined,
        'an ended job',
      );
      await hold(whole.id, 'gw-a');
      assert.equal(await jobs.finish({ ...whole, state: 'done', finishedAt: new Date().toISOString() }, 'gw-a'), true);
      await f.metadata.releaseLease(jobLeaseName(whole.id), 'gw-a');
      const docs = job({ bucket: 'overlap', prefix: 'docs/' });
      assert.equal(await jobs.insert(docs), undefined, 'free again once the first ended');
      assert.equal(await jobs.insert(job({ bucket: 'overlap', prefix: 'photos/' })), undefined, 'disjoint prefixes run side by side');
      assert.deepEqual(await jobs.insert(job({ bucket: 'overlap', prefix: 'docs/2026/' })), docs);
    });

    it('lets exactly one of many overlapping jobs started at the same moment in', async () => {
      const racing = Array.from({ length: 8 }, (_, i) => job({ bucket: 'race', prefix: i % 2 ? 'x/' : '' }));
      const results = await Promise.all(racing.map((j) => jobs.insert(j)));
      const stored = racing.filter((_, i) => results[i] === undefined);
      assert.equal(stored.length, 1, 'one winner');
      assert.ok(
        results.every((r) => r === undefined || r.id === stored[0]!.id),
        'every loser is told who won',
      );
      assert.deepEqual(
        (await jobs.running()).filter((j) => j.bucket === 'race').map((j) => j.id),
        [stored[0]!.id],
      );
    });

    it("writes the holder's progress, target, total and end only while it holds the job's lease", async () => {
      const j = job();
      await jobs.insert(j);
      // Nobody holds the lease: refused, nothing written.
      assert.equal(await jobs.saveProgress(j.id, 'gw-a', counters(3, 3), 'k2', []), false);
      assert.deepEqual(await jobs.get(j.id), j);

      assert.equal(await hold(j.id, 'gw-a'), true);
      assert.equal(await jobs.saveProgress(j.id, 'gw-a', counters(3, 2), 'k2', [{ key: 'k1', error: 'boom' }]), true);
      assert.equal(await jobs.saveTarget(j.id, 'gw-a', 'v9'), true);
      assert.equal(await jobs.saveTotal(j.id, 'gw-a', 10), true);
      const saved = {
        ...j,
        counters: counters(3, 2),
        lastKey: 'k2',
        failures: [{ key: 'k1', error: 'boom' }],
        targetVersion: 'v9',
        total: 10,
      };
      assert.deepEqual(await jobs.get(j.id), saved);

      // Another gateway, not holding the lease, is refused everything.
      assert.equal(await jobs.saveProgress(j.id, 'gw-b', counters(9, 9), 'k8', []), false);
      assert.equal(await jobs.saveTarget(j.id, 'gw-b', undefined), false);
      assert.equal(await jobs.saveTotal(j.id, 'gw-b', 99), false);
      assert.equal(await jobs.finish({ ...saved, state: 'done', finishedAt: new Date().toISOString() }, 'gw-b'), false);
      assert.deepEqual(await jobs.get(j.id), saved);
      await f.metadata.releaseLease(jobLeaseName(j.id), 'gw-a');
    });

    it('refuses a stale holder once its lease expired and another took the job over', async () => {
      const j = job();
      await jobs.insert(j);
      assert.equal(await hold(j.id, 'gw-a', SHORT), true);
      assert.equal(await jobs.saveProgress(j.id, 'gw-a', counters(1, 1), 'k0', []), true);
      await sleep(SHORT + 100);
      assert.equal(await jobs.saveProgress(j.id, 'gw-a', counters(2, 2), 'k1', []), false, 'expired: refused even before a takeover');
      assert.equal(await hold(j.id, 'gw-b'), true);
      assert.equal(await jobs.saveProgress(j.id, 'gw-b', counters(2, 2), 'k1', []), true);
      assert.equal(await jobs.saveProgress(j.id, 'gw-a', counters(5, 5), 'k4', []), false);
      const now = await jobs.get(j.id);
      assert.equal(now?.lastKey, 'k1');
      assert.deepEqual(now?.counters, counters(2, 2));
      await f.metadata.releaseLease(jobLeaseName(j.id), 'gw-b');
    });

    it('stores the end once; an ended job takes no more writes, even from its holder', async () => {
      const j = job();
      await jobs.insert(j);
      await hold(j.id, 'gw-a');
      const ended: RotationJob = {
        ...j,
        state: 'failed',
        counters: counters(4, 1),
        lastKey: 'k3',
        error: 'listing the bucket failed',
        finishedAt: new Date().toISOString(),
      };
      assert.equal(await jobs.finish(ended, 'gw-a'), true);
      assert.deepEqual(await jobs.get(j.id), ended);
      assert.equal(await jobs.saveProgress(j.id, 'gw-a', counters(9, 9), 'k9', []), false);
      assert.equal(await jobs.finish({ ...ended, state: 'done', error: undefined }, 'gw-a'), false);
      assert.deepEqual(await jobs.get(j.id), ended);
      assert.equal(
        (await jobs.running()).some((r) => r.id === j.id),
        false,
      );
      await f.metadata.releaseLease(jobLeaseName(j.id), 'gw-a');
    });

    it('records a cancel request on a running job for everyone to see; not on an ended or unknown one', async () => {
      const running = job();
      const done = job({ state: 'done', finishedAt: new Date().toISOString() });
      await jobs.insert(running);
      await jobs.insert(done);
      assert.equal((await jobs.get(running.id))?.cancelRequested, undefined);
      const asked = await jobs.requestCancel(running.id);
      assert.deepEqual(asked, { ...running, cancelRequested: true });
      assert.deepEqual(await jobs.get(running.id), { ...running, cancelRequested: true });
      assert.deepEqual(await jobs.requestCancel(done.id), done, 'an ended job is left as it is');
      assert.equal(await jobs.requestCancel(randomUUID()), undefined);
      // Its holder ends it as cancelled.
      await hold(running.id, 'gw-a');
      assert.equal(await jobs.finish({ ...running, state: 'cancelled', finishedAt: new Date().toISOString() }, 'gw-a'), true);
      assert.equal((await jobs.get(running.id))?.state, 'cancelled');
      await f.metadata.releaseLease(jobLeaseName(running.id), 'gw-a');
    });

    it('still has every job, progress included, when opened again', async () => {
      const j = job({ fromKey: 'key-old' });
      await jobs.insert(j);
      await hold(j.id, 'gw-a');
      await jobs.saveProgress(j.id, 'gw-a', counters(2, 1), 'k1', []);
      await jobs.requestCancel(j.id);
      const before = await jobs.list(1000);
      jobs = await f.reopen();
      assert.deepEqual(await jobs.list(1000), before);
      assert.deepEqual(await jobs.get(j.id), { ...j, counters: counters(2, 1), lastKey: 'k1', cancelRequested: true });
      await f.metadata.releaseLease(jobLeaseName(j.id), 'gw-a');
    });
  });
}
