// kill -9 of one gateway of a cluster (a child process on the shared PostgreSQL database and moto bucket)
// in the middle of a write: while a PUT streams its blob upstream, between a PUT's blob and its commit,
// inside a Complete's transaction, and right after a Complete answered. The other gateways serve the old
// version or the whole new one, never a torn object; what the dead gateway left upstream (an open multipart
// upload, a blob no metadata references, superseded blobs whose reclaim died with it) is removed by a
// sweep without a minimum age, after which the upstream holds exactly the blobs the metadata references.
// Small objects (within the default inline threshold) are one row and no blob: killed while one waits on its
// commit, no committed object is lost and no row is left half-written. (Kills at random moments of streams of
// writes: crash-random.test.ts.)
//
// The moments are made exact, not guessed: the PUT's body stops coming until the kill, and the commits are
// held on a row lock the test takes in PostgreSQL, so the kill lands while the gateway waits on it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { clusterSkipReason } from '../helpers/cluster-services.js';
import { s3Error, uploadInParts } from '../helpers/s3.js';
import { B, crashCluster, MiB } from './crash-harness.js';

describe('kill -9 of a gateway of a cluster', { skip: clusterSkipReason() }, () => {
  const c = crashCluster();
  const { startDoomed, kill, holdObjectRow, gatewayWaitsOnLock, upstream, sweepAndCheck, rowsWhole, put, servedByBoth, sql } = c;

  test('killed while a PUT streams its blob upstream: the old version stays; the open upstream upload is swept', async () => {
    const old = randomBytes(300_000);
    await put(c.one, 'streamed', old);
    await sweepAndCheck();
    const client = await startDoomed();
    // 20 MiB arrive, then the body stalls: the gateway has sent its first 16 MiB upstream as a part of a
    // multipart upload and waits for the rest.
    const first = randomBytes(20 * MiB);
    let stop!: () => void;
    const stalled = new Promise<void>((resolve) => (stop = resolve));
    const body = Readable.from(
      (async function* () {
        yield first;
        await stalled;
      })(),
    );
    const sending = client
      .send(new PutObjectCommand({ Bucket: B, Key: 'streamed', Body: body, ContentLength: 40 * MiB, ServerSideEncryption: 'AES256' }))
      .then(
        () => 'answered',
        () => 'failed',
      );
    for (let i = 0; (await upstream()).uploads.length === 0; i++) {
      assert.ok(i < 600, 'the gateway never began the upstream upload');
      await sleep(50);
    }
    await kill();
    stop();
    assert.equal(await sending, 'failed', 'the client saw its PUT fail');
    await servedByBoth('streamed', old, 'the old version');
    assert.equal((await upstream()).uploads.length, 1, 'the dead gateway left its upstream upload open');
    const report = await sweepAndCheck();
    assert.equal(report.tempFilesRemoved, 1, 'the sweep aborted the upload');
    await servedByBoth('streamed', old, 'the old version, after the sweep');
  });

  /**
   * A PUT through the doomed gateway, killed while it waits on the row lock of `key`'s commit: the client sees
   * it fail and both surviving gateways serve the old version. `check` gets what the upstream and the part rows
   * held before the PUT and makes the after-checks of the case.
   */
  async function putKilledOnRowLock(
    key: string,
    sizes: { old: number; new: number },
    check: (before: { upstream: { blobs: string[]; uploads: string[] }; rows: unknown[] }) => Promise<void>,
  ): Promise<void> {
    const old = randomBytes(sizes.old);
    await put(c.one, key, old);
    await sweepAndCheck();
    const before = { upstream: await upstream(), rows: await sql('SELECT * FROM object_parts ORDER BY object_id, number') };
    const client = await startDoomed();
    const lock = await holdObjectRow(key);
    let sending: Promise<string> | undefined;
    try {
      sending = put(client, key, randomBytes(sizes.new)).then(
        () => 'answered',
        () => 'failed',
      );
      await gatewayWaitsOnLock();
      await kill();
    } finally {
      await lock.release();
    }
    assert.equal(await sending, 'failed');
    await servedByBoth(key, old, 'the old version');
    await check(before);
  }

  test("killed between a PUT's blob and its commit: the old version stays; the orphan blob is swept", async () => {
    await putKilledOnRowLock('committing', { old: 100_000, new: 150_000 }, async (before) => {
      const orphans = (await upstream()).blobs.filter((id) => !before.upstream.blobs.includes(id));
      assert.equal(orphans.length, 1, "the new version's blob was whole upstream before the commit");
      const report = await sweepAndCheck();
      assert.equal(report.orphanDataFilesRemoved, 1);
      assert.equal(report.bytesReclaimed > 150_000, true, 'the orphan is the whole encrypted blob');
    });
  });

  test('killed while an inline PUT waits on its commit: the old version stays, no row changed, nothing upstream', async () => {
    // 2,000 bytes: inline (2,032 stored), so the kill leaves no blob to sweep either.
    await putKilledOnRowLock('inline-committing', { old: 2000, new: 2000 }, async (before) => {
      assert.deepEqual(await upstream(), before.upstream, 'an inline PUT writes nothing upstream');
      assert.deepEqual(await sql('SELECT * FROM object_parts ORDER BY object_id, number'), before.rows, 'no part row changed');
      await rowsWhole();
      const report = await sweepAndCheck();
      assert.equal(report.orphanDataFilesRemoved, 0);
    });
  });

  test("killed inside a Complete's transaction: the old version stays, the upload is whole, another gateway completes it", async () => {
    const old = randomBytes(200_000);
    await put(c.one, 'completing', old);
    const client = await startDoomed();
    const parts = [randomBytes(5 * MiB), randomBytes(4321)];
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: B, Key: 'completing', ServerSideEncryption: 'AES256' }),
    );
    const etags: string[] = [];
    for (const [i, part] of parts.entries()) {
      etags.push(
        (await client.send(new UploadPartCommand({ Bucket: B, Key: 'completing', UploadId, PartNumber: i + 1, Body: part }))).ETag!,
      );
    }
    const complete = {
      Bucket: B,
      Key: 'completing',
      UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    };
    const lock = await holdObjectRow('completing');
    let sending: Promise<string> | undefined;
    try {
      sending = client.send(new CompleteMultipartUploadCommand(complete)).then(
        () => 'answered',
        () => 'failed',
      );
      await gatewayWaitsOnLock();
      await kill();
    } finally {
      await lock.release();
    }
    assert.equal(await sending, 'failed');
    await servedByBoth('completing', old, 'the old version');
    const listed = await c.two.send(new ListPartsCommand({ Bucket: B, Key: 'completing', UploadId }));
    assert.deepEqual(
      listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size]),
      parts.map((p, i) => [i + 1, etags[i], p.length]),
    );

    await c.two.send(new CompleteMultipartUploadCommand(complete));
    await servedByBoth('completing', Buffer.concat(parts), 'the whole new version');
    const report = await sweepAndCheck();
    assert.equal(report.orphanDataFilesRemoved, 1, "the old version's blob, superseded by the Complete");
    await servedByBoth('completing', Buffer.concat(parts), 'the whole new version, after the sweep');
  });

  test('killed right after a Complete answered: the new version is served; the superseded blobs its reclaim left are swept', async () => {
    const old = [randomBytes(5 * MiB), randomBytes(10)];
    const oldUpload = await c.one.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'replaced' }));
    const oldTags: string[] = [];
    for (const [i, part] of old.entries()) {
      oldTags.push(
        (
          await c.one.send(
            new UploadPartCommand({ Bucket: B, Key: 'replaced', UploadId: oldUpload.UploadId, PartNumber: i + 1, Body: part }),
          )
        ).ETag!,
      );
    }
    await c.one.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: 'replaced',
        UploadId: oldUpload.UploadId,
        MultipartUpload: { Parts: oldTags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    await sweepAndCheck();

    const client = await startDoomed();
    const fresh = randomBytes(70_000);
    const { UploadId } = await uploadInParts(client, { Bucket: B, Key: 'replaced' }, [fresh]);
    await kill();
    await servedByBoth('replaced', fresh, 'the new version');
    const report = await sweepAndCheck();
    assert.equal(report.orphanDataFilesRemoved, 2, 'the two blobs of the replaced version');
    await servedByBoth('replaced', fresh, 'the new version, after the sweep');
    assert.equal((await s3Error(c.one.send(new ListPartsCommand({ Bucket: B, Key: 'replaced', UploadId })))).code, 'NoSuchUpload');
  });
});
