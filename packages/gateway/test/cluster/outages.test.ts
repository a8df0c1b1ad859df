// A cluster whose upstream or PostgreSQL goes away and comes back. While one is down, requests that need it
// get 503 (the client receives it, nothing is committed, no blob is left upstream); requests that need only
// the other still answer; once it is back, the same gateway processes serve again — no restart. A small
// object (within the default inline threshold) lives in its PostgreSQL row alone: it is written and read while
// the upstream is down, and refused while PostgreSQL is.
//
// The upstream is stopped by switching off a TCP forwarder in front of moto (connections refused, open ones
// reset), because moto keeps its state in memory: killing moto itself would lose the blobs. PostgreSQL is
// stopped for real (a fast shutdown) and started again on the same data and port.
// kesgate-test: own-process (it stops a PostgreSQL of its own, which must be its process's first choice of cluster)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';
import { clusterServices, clusterSkipReason, type ClusterServices } from '../helpers/cluster-services.js';
import { startClusterStack, type ClusterStack } from '../helpers/cluster-stack.js';
import { getBytes, s3Error } from '../helpers/s3.js';
import { s3Client } from '../helpers/stack.js';
import { startTcpSwitch, type TcpSwitch } from '../helpers/tcp-switch.js';

const B = 'outages';

describe('a cluster whose upstream or database goes away', { skip: clusterSkipReason() }, () => {
  let services: ClusterServices;
  let upstreamSwitch: TcpSwitch;
  let st: ClusterStack;
  let one: S3Client;
  let two: S3Client;

  before(async () => {
    services = await clusterServices({ ownPostgres: true });
    upstreamSwitch = await startTcpSwitch(services.moto.endpoint);
    st = await startClusterStack({ upstreamEndpoint: upstreamSwitch.endpoint });
    one = s3Client(st.gateways[0]!.url);
    two = s3Client(st.gateways[1]!.url);
    await one.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => {
    one?.destroy();
    two?.destroy();
    await st?.close();
    await upstreamSwitch?.close();
  });

  /** What the upstream bucket holds, seen from moto directly (it is up; only the gateways' path to it is cut). */
  async function upstream(): Promise<{ blobs: string[]; uploads: string[] }> {
    const objects = await services.moto.client.send(new ListObjectsV2Command({ Bucket: st.upstreamBucket }));
    const uploads = await services.moto.client.send(new ListMultipartUploadsCommand({ Bucket: st.upstreamBucket }));
    return { blobs: (objects.Contents ?? []).map((o) => o.Key!).sort(), uploads: (uploads.Uploads ?? []).map((u) => u.Key!).sort() };
  }

  /** Row counts of the metadata tables, read by the test's own connection. */
  async function rows(): Promise<Record<string, number>> {
    const client = new pg.Client({ connectionString: st.databaseUrl });
    await client.connect();
    try {
      const out: Record<string, number> = {};
      for (const table of ['buckets', 'objects', 'object_parts', 'uploads', 'upload_parts']) {
        out[table] = (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
      }
      return out;
    } finally {
      await client.end();
    }
  }

  /** Gateway sessions waiting on a row lock right now. */
  async function lockWaiters(): Promise<number> {
    const client = new pg.Client({ connectionString: st.databaseUrl });
    await client.connect();
    try {
      const { rows: found } = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'kesgate' AND wait_event_type = 'Lock'",
      );
      return found[0]!.n;
    } finally {
      await client.end();
    }
  }

  async function unavailable(request: Promise<unknown>, what: string): Promise<void> {
    const err = await s3Error(request);
    assert.equal(err.status, 503, `${what}: ${err.code} ${err.message}`);
    assert.equal(err.code, 'ServiceUnavailable', what);
  }

  test('upstream down: data requests are 503 and commit nothing, metadata requests answer; back up: served without restarts', async () => {
    const old = randomBytes(200_000);
    await one.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: old, ServerSideEncryption: 'AES256' }));
    const { UploadId } = await one.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp' }));
    const before = { rows: await rows(), upstream: await upstream(), stats: await st.gw.svc.store.stats() };

    await upstreamSwitch.off();
    try {
      await unavailable(one.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: randomBytes(300_000) })), 'an overwrite');
      // 10,000 bytes store 10,032: above the inline threshold, so this PUT needs the upstream.
      await unavailable(
        two.send(new PutObjectCommand({ Bucket: B, Key: 'fresh', Body: randomBytes(10_000), ServerSideEncryption: 'aws:kms' })),
        'a new key',
      );
      await unavailable(two.send(new GetObjectCommand({ Bucket: B, Key: 'k' })), 'a GET');
      await unavailable(
        one.send(new UploadPartCommand({ Bucket: B, Key: 'mp', UploadId, PartNumber: 1, Body: randomBytes(5000) })),
        'an UploadPart',
      );
      // What lives in PostgreSQL alone still answers, and shows nothing of the refused writes.
      const head = await two.send(new HeadObjectCommand({ Bucket: B, Key: 'k' }));
      assert.equal(head.ContentLength, old.length);
      assert.equal((await s3Error(one.send(new HeadObjectCommand({ Bucket: B, Key: 'fresh' })))).status, 404);
      const listed = await one.send(new ListObjectsV2Command({ Bucket: B }));
      assert.deepEqual(
        listed.Contents?.map((o) => [o.Key, o.Size]),
        [['k', old.length]],
      );
      assert.equal((await two.send(new ListPartsCommand({ Bucket: B, Key: 'mp', UploadId }))).Parts?.length ?? 0, 0);
      assert.deepEqual(await rows(), before.rows, 'no row changed');
      assert.deepEqual(await st.gw.svc.store.stats(), before.stats);

      // An inline object needs only PostgreSQL: written through one gateway, read through the other.
      const small = randomBytes(1000);
      await two.send(new PutObjectCommand({ Bucket: B, Key: 'small', Body: small, ServerSideEncryption: 'aws:kms' }));
      assert.ok((await getBytes(one, { Bucket: B, Key: 'small' })).equals(small));
      assert.equal((await st.gw.svc.store.getObject(B, 'small'))!.parts[0]!.inline?.length, 1032, 'stored inline');
    } finally {
      await upstreamSwitch.on();
    }
    assert.deepEqual(await upstream(), before.upstream, 'nothing was left upstream (nor written for the inline object)');

    // The same gateway processes serve again.
    for (const client of [one, two]) assert.ok((await getBytes(client, { Bucket: B, Key: 'k' })).equals(old));
    const next = randomBytes(300_000);
    await two.send(new PutObjectCommand({ Bucket: B, Key: 'k', Body: next }));
    assert.ok((await getBytes(one, { Bucket: B, Key: 'k' })).equals(next));
    const part = randomBytes(5000);
    const { ETag } = await one.send(new UploadPartCommand({ Bucket: B, Key: 'mp', UploadId, PartNumber: 1, Body: part }));
    await two.send(
      new CompleteMultipartUploadCommand({ Bucket: B, Key: 'mp', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }),
    );
    assert.ok((await getBytes(one, { Bucket: B, Key: 'mp' })).equals(part));
  });

  test('PostgreSQL down, also in the middle of a commit: requests are 503, nothing is committed or left upstream; back up: served without restarts', async () => {
    const old = randomBytes(100_000);
    await one.send(new PutObjectCommand({ Bucket: B, Key: 'p', Body: old, ServerSideEncryption: 'aws:kms' }));
    const before = { rows: await rows(), upstream: await upstream() };

    await services.postgres.stop();
    try {
      await unavailable(one.send(new PutObjectCommand({ Bucket: B, Key: 'p', Body: randomBytes(150_000) })), 'an overwrite');
      // 1,000 bytes: an inline object, refused like the rest (its row is all there is of it).
      await unavailable(two.send(new PutObjectCommand({ Bucket: B, Key: 'fresh-p', Body: randomBytes(1000) })), 'a new key');
      await unavailable(two.send(new GetObjectCommand({ Bucket: B, Key: 'p' })), 'a GET');
      await unavailable(one.send(new ListObjectsV2Command({ Bucket: B })), 'a listing');
      await unavailable(two.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mp-p' })), 'a CreateMultipartUpload');
      assert.equal((await s3Error(one.send(new HeadObjectCommand({ Bucket: B, Key: 'p' })))).status, 503, 'a HEAD');
      assert.deepEqual(await upstream(), before.upstream, 'nothing was written upstream');
    } finally {
      await services.postgres.start();
    }
    assert.deepEqual(await rows(), before.rows, 'no row changed');

    // PostgreSQL going away while a PUT commits: its blob is whole upstream, the commit waits on a row lock
    // the test holds, and the database stops under it.
    const lock = new pg.Client({ connectionString: st.databaseUrl });
    lock.on('error', () => {}); // the shutdown ends this session too
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('SELECT id FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE', [B, 'p']);
    const committing = s3Error(one.send(new PutObjectCommand({ Bucket: B, Key: 'p', Body: randomBytes(120_000) })));
    for (let i = 0; ; i++) {
      // From another session: inside the lock's transaction, pg_stat_activity would stay as first read.
      if ((await lockWaiters()) > 0) break;
      assert.ok(i < 600, 'the PUT never came to wait on the lock');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal((await upstream()).blobs.length, before.upstream.blobs.length + 1, 'the new blob is upstream, waiting for its commit');
    await services.postgres.stop();
    try {
      const refused = await committing;
      assert.deepEqual([refused.status, refused.code], [503, 'ServiceUnavailable'], refused.message);
      assert.deepEqual(await upstream(), before.upstream, 'the blob of the failed commit was removed');
    } finally {
      await lock.end().catch(() => {});
      await services.postgres.start();
    }
    assert.deepEqual(await rows(), before.rows, 'no row changed');

    for (const client of [one, two]) assert.ok((await getBytes(client, { Bucket: B, Key: 'p' })).equals(old));
    const next = randomBytes(150_000);
    await two.send(new PutObjectCommand({ Bucket: B, Key: 'p', Body: next }));
    assert.ok((await getBytes(one, { Bucket: B, Key: 'p' })).equals(next));
    assert.equal(
      (await s3Error(two.send(new HeadObjectCommand({ Bucket: B, Key: 'fresh-p' })))).status,
      404,
      'the refused new key never appeared',
    );
  });
});
