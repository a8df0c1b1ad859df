// kill -9 of one gateway of a cluster (a child process on the shared PostgreSQL database and moto bucket)
// in the middle of a write: while a PUT streams its blob upstream, between a PUT's blob and its commit,
// inside a Complete's transaction, and right after a Complete answered. The other gateways serve the old
// version or the whole new one, never a torn object; what the dead gateway left upstream (an open multipart
// upload, a blob no metadata references, superseded blobs whose reclaim died with it) is removed by a
// sweep without a minimum age, after which the upstream holds exactly the blobs the metadata references.
//
// A last test kills it at random moments of streams of writes, several times, as the embedded crash test does.
// Small objects (within the default inline threshold) are one row and no blob: killed while one waits on its
// commit, or at random moments of a stream of them, no committed object is lost and no row is left half-written.
//
// The moments are made exact, not guessed: the PUT's body stops coming until the kill, and the commits are
// held on a row lock the test takes in PostgreSQL, so the kill lands while the gateway waits on it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';
import { openObjectStore, type SweepReport } from '../../src/storage/index.js';
import { clusterServices, clusterSkipReason } from '../helpers/cluster-services.js';
import { startClusterStack, type ClusterStack } from '../helpers/cluster-stack.js';
import { gatewayProcessConfig, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { getBytes, s3Error } from '../helpers/s3.js';
import { s3Client } from '../helpers/stack.js';

const B = 'crash';
const MiB = 1024 * 1024;
const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

const ROUNDS = 3;

interface Writer {
  key: string;
  newVersion(): Buffer[];
  /** One version: a single PUT, or a multipart upload of these parts. */
  write(s3: S3Client, parts: Buffer[]): Promise<void>;
}

const writers: Writer[] = [
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
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: this.key, ServerSideEncryption: 'AES256' }));
      const etags: string[] = [];
      for (const [i, body] of parts.entries()) {
        etags.push((await s3.send(new UploadPartCommand({ Bucket: B, Key: this.key, UploadId, PartNumber: i + 1, Body: body }))).ETag!);
      }
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: this.key,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
    },
  },
];

describe('kill -9 of a gateway of a cluster', { skip: clusterSkipReason() }, () => {
  let st: ClusterStack;
  /** Clients of the two in-process gateways that stay up. */
  let one: S3Client;
  let two: S3Client;
  let doomed: GatewayProcess | undefined;
  let doomedClient: S3Client | undefined;
  let configs = 0;

  before(async () => {
    st = await startClusterStack();
    one = s3Client(st.gateways[0]!.url);
    two = s3Client(st.gateways[1]!.url);
    await one.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => {
    doomedClient?.destroy();
    await doomed?.kill();
    one?.destroy();
    two?.destroy();
    await st?.close();
  });

  /** A third gateway, in a process of its own, on the same backend and kes. */
  async function startDoomed(): Promise<S3Client> {
    doomed = await startGatewayProcess(join(st.dir, `doomed-${++configs}.json`), gatewayProcessConfig(st, st.backend));
    doomedClient = s3Client(doomed.url);
    return doomedClient;
  }

  async function kill(): Promise<void> {
    assert.equal(await doomed!.kill(), 'SIGKILL');
    doomed = undefined;
    doomedClient?.destroy();
    doomedClient = undefined;
  }

  async function sql<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> {
    const client = new pg.Client({ connectionString: st.databaseUrl });
    await client.connect();
    try {
      return (await client.query<R>(text, params)).rows;
    } finally {
      await client.end();
    }
  }

  /**
   * Holds the row lock of `key`'s object in a transaction of the test's own, so a gateway's commit of that
   * key waits on it. release() rolls back.
   */
  async function holdObjectRow(key: string): Promise<{ release(): Promise<void> }> {
    const client = new pg.Client({ connectionString: st.databaseUrl, application_name: 'crash-test' });
    await client.connect();
    await client.query('BEGIN');
    const { rowCount } = await client.query('SELECT id FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE', [B, key]);
    assert.equal(rowCount, 1, `the object ${key} exists`);
    return {
      async release() {
        await client.query('ROLLBACK');
        await client.end();
      },
    };
  }

  /** Resolves once a gateway's transaction waits on a row lock (the one holdObjectRow took). */
  async function gatewayWaitsOnLock(): Promise<void> {
    for (let i = 0; ; i++) {
      const [row] = await sql<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'kesgate' AND wait_event_type = 'Lock'",
      );
      if (row!.n > 0) return;
      assert.ok(i < 600, 'no gateway transaction came to wait on the lock');
      await sleep(50);
    }
  }

  async function upstream(): Promise<{ blobs: string[]; uploads: string[] }> {
    const { moto } = await clusterServices();
    const objects = await moto.client.send(new ListObjectsV2Command({ Bucket: st.upstreamBucket }));
    const uploads = await moto.client.send(new ListMultipartUploadsCommand({ Bucket: st.upstreamBucket }));
    return { blobs: (objects.Contents ?? []).map((o) => o.Key!).sort(), uploads: (uploads.Uploads ?? []).map((u) => u.Key!) };
  }

  /**
   * Sweeps with no minimum age (a store opened on the backend sweeps at open), then checks the upstream
   * holds exactly the blobs the metadata references, and no multipart upload.
   */
  async function sweepAndCheck(): Promise<SweepReport> {
    const store = await openObjectStore(st.backend, { orphanMinAgeMs: 0 });
    try {
      const referenced: string[] = [];
      for (const { name: bucket } of await store.listBuckets()) {
        const page = await store.listObjects({ bucket, maxKeys: 1000 });
        assert.equal(page.isTruncated, false);
        for (const { key } of page.contents) {
          // An inline part's bytes are in its row: its dataId names no blob.
          referenced.push(...(await store.getObject(bucket, key))!.parts.filter((p) => p.inline === undefined).map((p) => p.dataId));
        }
        for (const upload of (await store.listUploads({ bucket })).uploads) {
          const ref = { bucket, key: upload.key, uploadId: upload.uploadId };
          referenced.push(...(await store.listParts(ref)).parts.map((p) => p.dataId));
        }
      }
      const after = await upstream();
      assert.deepEqual(after.uploads, [], 'no multipart upload is left upstream');
      assert.deepEqual(after.blobs, referenced.sort(), 'the upstream holds exactly the referenced blobs');
      return store.startupSweep!;
    } finally {
      await store.close();
    }
  }

  /**
   * No half-written row: every object that is not a delete marker has parts whose sizes add up to its
   * stored size, and every inline part holds exactly its encrypted size in bytes.
   */
  async function rowsWhole(): Promise<void> {
    const [row] = await sql<{ partless: number; torn: number }>(
      `SELECT (SELECT count(*)::int FROM objects o WHERE NOT o.delete_marker
                 AND o.stored_size <> (SELECT coalesce(sum(p.enc_size), -1) FROM object_parts p WHERE p.object_id = o.id)) AS partless,
              (SELECT count(*)::int FROM object_parts WHERE inline_data IS NOT NULL AND octet_length(inline_data) <> enc_size) AS torn`,
    );
    assert.deepEqual(row, { partless: 0, torn: 0 }, 'objects whose parts do not add up, inline parts of the wrong size');
  }

  async function put(client: S3Client, key: string, body: Buffer): Promise<void> {
    await client.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body, ServerSideEncryption: 'AES256' }));
  }

  /** Both surviving gateways serve exactly `want` for `key`. */
  async function servedByBoth(key: string, want: Buffer, what: string): Promise<void> {
    for (const [i, client] of [one, two].entries()) {
      const got = await getBytes(client, { Bucket: B, Key: key });
      assert.equal(got.length, want.length, `gateway ${i + 1}: ${what} (size)`);
      assert.equal(sha(got), sha(want), `gateway ${i + 1}: ${what}`);
    }
  }

  test('killed while a PUT streams its blob upstream: the old version stays; the open upstream upload is swept', async () => {
    const old = randomBytes(300_000);
    await put(one, 'streamed', old);
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

  test("killed between a PUT's blob and its commit: the old version stays; the orphan blob is swept", async () => {
    const old = randomBytes(100_000);
    await put(one, 'committing', old);
    await sweepAndCheck();
    const before = await upstream();
    const client = await startDoomed();
    const lock = await holdObjectRow('committing');
    let sending: Promise<string> | undefined;
    try {
      sending = put(client, 'committing', randomBytes(150_000)).then(
        () => 'answered',
        () => 'failed',
      );
      await gatewayWaitsOnLock();
      await kill();
    } finally {
      await lock.release();
    }
    assert.equal(await sending, 'failed');
    await servedByBoth('committing', old, 'the old version');
    const orphans = (await upstream()).blobs.filter((id) => !before.blobs.includes(id));
    assert.equal(orphans.length, 1, "the new version's blob was whole upstream before the commit");
    const report = await sweepAndCheck();
    assert.equal(report.orphanDataFilesRemoved, 1);
    assert.equal(report.bytesReclaimed > 150_000, true, 'the orphan is the whole encrypted blob');
  });

  test('killed while an inline PUT waits on its commit: the old version stays, no row changed, nothing upstream', async () => {
    // 2,000 bytes: inline (2,032 stored), so the kill leaves no blob to sweep either.
    const old = randomBytes(2000);
    await put(one, 'inline-committing', old);
    await sweepAndCheck();
    const before = { upstream: await upstream(), rows: await sql('SELECT * FROM object_parts ORDER BY object_id, number') };
    const client = await startDoomed();
    const lock = await holdObjectRow('inline-committing');
    let sending: Promise<string> | undefined;
    try {
      sending = put(client, 'inline-committing', randomBytes(2000)).then(
        () => 'answered',
        () => 'failed',
      );
      await gatewayWaitsOnLock();
      await kill();
    } finally {
      await lock.release();
    }
    assert.equal(await sending, 'failed');
    await servedByBoth('inline-committing', old, 'the old version');
    assert.deepEqual(await upstream(), before.upstream, 'an inline PUT writes nothing upstream');
    assert.deepEqual(await sql('SELECT * FROM object_parts ORDER BY object_id, number'), before.rows, 'no part row changed');
    await rowsWhole();
    const report = await sweepAndCheck();
    assert.equal(report.orphanDataFilesRemoved, 0);
  });

  test("killed inside a Complete's transaction: the old version stays, the upload is whole, another gateway completes it", async () => {
    const old = randomBytes(200_000);
    await put(one, 'completing', old);
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
    const listed = await two.send(new ListPartsCommand({ Bucket: B, Key: 'completing', UploadId }));
    assert.deepEqual(
      listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size]),
      parts.map((p, i) => [i + 1, etags[i], p.length]),
    );

    await two.send(new CompleteMultipartUploadCommand(complete));
    await servedByBoth('completing', Buffer.concat(parts), 'the whole new version');
    const report = await sweepAndCheck();
    assert.equal(report.orphanDataFilesRemoved, 1, "the old version's blob, superseded by the Complete");
    await servedByBoth('completing', Buffer.concat(parts), 'the whole new version, after the sweep');
  });

  test('killed right after a Complete answered: the new version is served; the superseded blobs its reclaim left are swept', async () => {
    const old = [randomBytes(5 * MiB), randomBytes(10)];
    const oldUpload = await one.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'replaced' }));
    const oldTags: string[] = [];
    for (const [i, part] of old.entries()) {
      oldTags.push(
        (await one.send(new UploadPartCommand({ Bucket: B, Key: 'replaced', UploadId: oldUpload.UploadId, PartNumber: i + 1, Body: part })))
          .ETag!,
      );
    }
    await one.send(
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
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'replaced' }));
    const { ETag } = await client.send(new UploadPartCommand({ Bucket: B, Key: 'replaced', UploadId, PartNumber: 1, Body: fresh }));
    await client.send(
      new CompleteMultipartUploadCommand({ Bucket: B, Key: 'replaced', UploadId, MultipartUpload: { Parts: [{ ETag, PartNumber: 1 }] } }),
    );
    await kill();
    await servedByBoth('replaced', fresh, 'the new version');
    const report = await sweepAndCheck();
    assert.equal(report.orphanDataFilesRemoved, 2, 'the two blobs of the replaced version');
    await servedByBoth('replaced', fresh, 'the new version, after the sweep');
    assert.equal((await s3Error(one.send(new ListPartsCommand({ Bucket: B, Key: 'replaced', UploadId })))).code, 'NoSuchUpload');
  });

  test(`killed at random moments of streams of PUTs and multipart uploads, ${ROUNDS} times: every key is one whole version`, async (t) => {
    /** Per key: the sha256 of the last acknowledged version and of those sent but unanswered at the kill. */
    const states = new Map(writers.map((w) => [w.key, { acknowledged: undefined as string | undefined, inFlight: new Set<string>() }]));
    let acknowledged = 0;
    const swept: SweepReport[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const client = await startDoomed();
      let killed = false;
      let acks = 0;
      const target = 2 + Math.floor(Math.random() * 3);
      let reached!: () => void;
      const enough = new Promise<void>((resolve) => (reached = resolve));
      const unexpected: string[] = [];
      const loops = writers.map(async (w) => {
        while (!killed) {
          const parts = w.newVersion();
          const state = states.get(w.key)!;
          const digest = sha(Buffer.concat(parts));
          state.inFlight.add(digest);
          try {
            await w.write(client, parts);
          } catch (err) {
            if (!killed) unexpected.push(`${w.key}: ${(err as Error).message}`);
            reached();
            return;
          }
          state.acknowledged = digest;
          state.inFlight.clear();
          acknowledged++;
          if (++acks >= target) reached();
        }
      });
      await enough;
      await sleep(Math.random() * 300);
      killed = true;
      await kill();
      await Promise.all(loops);
      assert.deepEqual(unexpected, [], 'no write failed before the kill');

      for (const w of writers) {
        const state = states.get(w.key)!;
        const allowed = new Set([...state.inFlight, ...(state.acknowledged ? [state.acknowledged] : [])]);
        const seen = new Set<string>();
        for (const c of [one, two]) {
          try {
            seen.add(sha(await getBytes(c, { Bucket: B, Key: w.key })));
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
      for (const u of (await one.send(new ListMultipartUploadsCommand({ Bucket: B }))).Uploads ?? []) {
        await two.send(new AbortMultipartUploadCommand({ Bucket: B, Key: u.Key!, UploadId: u.UploadId! }));
      }
      await rowsWhole();
      swept.push(await sweepAndCheck());
    }
    assert.ok(acknowledged >= ROUNDS * 2, `${acknowledged} writes were acknowledged`);
    const left = swept.reduce((sum, r) => sum + r.orphanDataFilesRemoved + r.tempFilesRemoved, 0);
    t.diagnostic(`${acknowledged} writes acknowledged; the sweeps removed ${left} orphan blobs and open upstream uploads`);
  });
});
