// kill -9 of one gateway of a cluster (a child process on the shared PostgreSQL database and moto bucket) at
// random moments of streams of writes (single PUTs under SSE-S3 and SSE-KMS, small inline objects, multipart
// uploads), several times, as the embedded crash test does: every key is one whole version that was written
// (the last acknowledged or one in flight at the kill), the same through both surviving gateways; no row is left
// half-written; and after a sweep the upstream holds exactly the blobs the metadata references. (Kills at exact
// moments of a write: crash.test.ts.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { SweepReport } from '../../src/storage/index.js';
import { clusterSkipReason } from '../helpers/cluster-services.js';
import { getBytes, uploadInParts } from '../helpers/s3.js';
import { B, crashCluster, MiB } from './crash-harness.js';
import { sha256, writeUntilKilled, type VersionWriter } from '../crash/write-until-kill.js';

const ROUNDS = 3;

const writers: VersionWriter[] = [
  {
    key: 'random/single-sse-s3',
    newVersion: () => [randomBytes(2 * MiB)],
    async write(s3, [body]) {
      await s3.send(new PutObjectCommand({ Bucket: B, Key: this.key, Body: body, ServerSideEncryption: 'AES256' }));
    },
  },
  {
    key: 'random/single-sse-kms',
    newVersion: () => [randomBytes(300_000)],
    async write(s3, [body]) {
      await s3.send(new PutObjectCommand({ Bucket: B, Key: this.key, Body: body, ServerSideEncryption: 'aws:kms' }));
    },
  },
  {
    // 3,000 bytes store 3,032: inline, one commit and no blob.
    key: 'random/inline',
    newVersion: () => [randomBytes(3000)],
    async write(s3, [body]) {
      await s3.send(new PutObjectCommand({ Bucket: B, Key: this.key, Body: body, ServerSideEncryption: 'aws:kms' }));
    },
  },
  {
    key: 'random/multipart',
    newVersion: () => [randomBytes(5 * MiB), randomBytes(12_345)],
    async write(s3, parts) {
      await uploadInParts(s3, { Bucket: B, Key: this.key, ServerSideEncryption: 'AES256' }, parts);
    },
  },
];

describe('kill -9 of a gateway of a cluster, at random moments', { skip: clusterSkipReason() }, () => {
  const c = crashCluster();
  const { startDoomed, kill, rowsWhole, sweepAndCheck } = c;

  test(`killed at random moments of streams of PUTs and multipart uploads, ${ROUNDS} times: every key is one whole version`, async (t) => {
    /** Per key: the sha256 of the last acknowledged version and of those sent but unanswered at the kill. */
    const states = new Map(writers.map((w) => [w.key, { acknowledged: undefined as string | undefined, inFlight: new Set<string>() }]));
    let acknowledged = 0;
    const swept: SweepReport[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const client = await startDoomed();
      acknowledged += await writeUntilKilled({
        writers,
        s3: client,
        target: 2 + Math.floor(Math.random() * 3),
        killWithinMs: 300,
        kill,
        sent: (key, digest) => states.get(key)!.inFlight.add(digest),
        acknowledged: (key, digest) => states.set(key, { acknowledged: digest, inFlight: new Set() }),
      });

      for (const w of writers) {
        const state = states.get(w.key)!;
        const allowed = new Set([...state.inFlight, ...(state.acknowledged ? [state.acknowledged] : [])]);
        const seen = new Set<string>();
        for (const survivor of [c.one, c.two]) {
          try {
            seen.add(sha256(await getBytes(survivor, { Bucket: B, Key: w.key })));
          } catch (err) {
            assert.equal((err as Error).name, 'NoSuchKey', `${w.key}: ${(err as Error).message}`);
            assert.equal(state.acknowledged, undefined, `${w.key}: an acknowledged object is missing`);
            seen.add('none');
          }
        }
        assert.equal(seen.size, 1, `${w.key}: both gateways serve the same version`);
        const [got] = [...seen];
        if (got !== 'none') assert.ok(allowed.has(got!), `${w.key}: the object is not a version that was written (torn?)`);
        states.set(w.key, { acknowledged: got === 'none' ? undefined : got, inFlight: new Set() });
      }
      // Uploads the kill cut short stay listed, with their parts: abort them (on a surviving gateway).
      for (const u of (await c.one.send(new ListMultipartUploadsCommand({ Bucket: B }))).Uploads ?? []) {
        await c.two.send(new AbortMultipartUploadCommand({ Bucket: B, Key: u.Key!, UploadId: u.UploadId! }));
      }
      await rowsWhole();
      swept.push(await sweepAndCheck());
    }
    assert.ok(acknowledged >= ROUNDS * 2, `${acknowledged} writes were acknowledged`);
    const left = swept.reduce((sum, r) => sum + r.orphanDataFilesRemoved + r.tempFilesRemoved, 0);
    t.diagnostic(`${acknowledged} writes acknowledged; the sweeps removed ${left} orphan blobs and open upstream uploads`);
  });
});
