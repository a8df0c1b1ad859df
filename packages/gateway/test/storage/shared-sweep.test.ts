// The sweep of stores several gateways share (PostgreSQL metadata, an upstream bucket on moto): one
// gateway sweeps at a time under the metadata store's sweep lease, and gateways sweep again now and then,
// so an orphan left by a crash after the sweep at start is removed without a restart.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { parseConfig } from '../../src/config/load.js';
import type { BlobStore } from '../../src/storage/blobs/types.js';
import { openObjectStore } from '../../src/storage/index.js';
import { SWEEP_LEASE } from '../../src/storage/object-store.js';
import { startKes, startTestGateway, type TestGateway, type TestKes } from '../admin/helpers.js';
import { sharedBackendSkipReason, startSharedBackend, type SharedBackend } from '../helpers/shared-backend.js';

/** Writes a blob no metadata will ever reference, as a gateway that crashed before its commit leaves one. */
async function orphan(store: { blobs: BlobStore }): Promise<string> {
  const writer = await store.blobs.createWriter();
  writer.stream.end(Buffer.from('ciphertext of an upload that never committed'));
  await writer.finish();
  return writer.id;
}

describe('sweeping stores shared by several gateways', { skip: sharedBackendSkipReason() }, () => {
  let shared: SharedBackend;
  let kes: TestKes | undefined;
  const closing: { close(): Promise<void> }[] = [];

  before(async () => {
    shared = await startSharedBackend();
  });
  after(async () => {
    for (const c of closing.reverse()) await c.close().catch(() => undefined);
    await kes?.close();
    await shared?.close();
  });

  /** Is the blob still in the upstream bucket? */
  async function present(bucket: string, id: string): Promise<boolean> {
    try {
      await shared.upstream.client.send(new HeadObjectCommand({ Bucket: bucket, Key: id }));
      return true;
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  test('one gateway sweeps at a time: a gateway finding the sweep lease held sweeps nothing', async () => {
    const { backend, bucket } = await shared.backend();
    const config = parseConfig({
      credentials: { accessKey: 'root-user', secretKey: 'root-password' },
      kms: { endpoints: ['https://127.0.0.1:1'], cert: 'c', key: 'k' },
      backend,
    }).backend;
    // Two gateways' stores; orphans count at any age, so the test need not wait a day.
    const a = await openObjectStore(config, { sweepAtOpen: false, orphanMinAgeMs: 0, holder: 'gateway-a' });
    closing.push(a);
    const b = await openObjectStore(config, { sweepAtOpen: false, orphanMinAgeMs: 0, holder: 'gateway-b' });
    closing.push(b);
    assert.equal(a.shared && b.shared, true);
    const id = await orphan(a);
    await sleep(1100); // the upstream's modification times have whole seconds: let the orphan be older than "now"

    // A is sweeping (it holds the lease): B's sweep does nothing and says why.
    assert.equal(await a.metadata.tryLease(SWEEP_LEASE, 'gateway-a', 60_000), true);
    const skipped = await b.sweep();
    assert.deepEqual(skipped, {
      tempFilesRemoved: 0,
      orphanDataFilesRemoved: 0,
      bytesReclaimed: 0,
      unknownFiles: 0,
      skipped: 'another gateway is sweeping',
    });
    assert.equal(await present(bucket, id), true, 'the orphan is still there');
    assert.equal(await b.metadata.leaseHolder(SWEEP_LEASE), 'gateway-a', "B's attempt left A's lease alone");

    // A's own sweep runs under the lease it holds, and gives it up at the end.
    const swept = await a.sweep();
    assert.equal(swept.skipped, undefined);
    assert.equal(swept.orphanDataFilesRemoved, 1);
    assert.equal(await present(bucket, id), false);
    assert.equal(await b.metadata.leaseHolder(SWEEP_LEASE), undefined, 'released after the sweep');

    // Free again: B sweeps.
    const next = await orphan(b);
    await sleep(1100);
    const byB = await b.sweep();
    assert.deepEqual([byB.skipped, byB.orphanDataFilesRemoved], [undefined, 1]);
    assert.equal(await present(bucket, next), false);
  });

  test('gateways on shared stores sweep again after their start: an orphan left later is removed without a restart', async () => {
    kes = await startKes();
    const { backend, bucket } = await shared.backend();
    const start = { store: { orphanMinAgeMs: 0 }, sweepEveryMs: 200 };
    const gateways: TestGateway[] = [];
    for (let i = 0; i < 2; i++) {
      const t = await startTestGateway(kes, { backend, start });
      closing.push(t);
      gateways.push(t);
    }
    // Left after both gateways swept at their start.
    const id = await orphan(gateways[0]!.gw.svc.backend);
    // A generous bound, only so that a gateway that never sweeps again fails here instead of hanging.
    const giveUp = Date.now() + 60_000;
    while (await present(bucket, id)) {
      assert.ok(Date.now() < giveUp, 'no gateway swept the orphan away');
      await sleep(100);
    }
    assert.deepEqual(await gateways[1]!.gw.svc.store.listBuckets(), [], 'the gateways still serve');
  });
});
