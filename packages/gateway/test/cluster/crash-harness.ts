// The cluster the kill -9 tests (crash.test.ts, crash-random.test.ts) run on: two gateways in this process on
// the shared PostgreSQL database and moto bucket, a third ("doomed") in a process of its own to kill, and the
// checks both files make: what the upstream holds after a sweep, that no row is half-written, that the
// surviving gateways serve a given version. The moments are made exact, not guessed: commits are held on a row
// lock the test takes in PostgreSQL (holdObjectRow), so a kill lands while the gateway waits on it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before } from 'node:test';
import {
  CreateBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';
import { openObjectStore, type SweepReport } from '../../src/storage/index.js';
import { clusterServices } from '../helpers/cluster-services.js';
import { startClusterStack, type ClusterStack } from '../helpers/cluster-stack.js';
import { gatewayProcessConfig, startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { getBytes } from '../helpers/s3.js';
import { s3Client } from '../helpers/stack.js';
import { sha256 } from '../crash/write-until-kill.js';

export const B = 'crash';
export const MiB = 1024 * 1024;

/** Call inside a describe(): starts the cluster before its tests, stops it after, and returns the helpers. */
export function crashCluster() {
  let st: ClusterStack;
  let one: S3Client;
  let two: S3Client;
  let doomed: GatewayProcess | undefined;
  let doomedClient: S3Client | undefined;
  let configs = 0;
  /** sql()'s connection, opened on first use: one backend for the file rather than one per query (the polls included). */
  let sqlClient: Promise<pg.Client> | undefined;

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
    await (await sqlClient?.catch(() => undefined))?.end();
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
    sqlClient ??= (async () => {
      const client = new pg.Client({ connectionString: st.databaseUrl });
      await client.connect();
      return client;
    })();
    return (await (await sqlClient).query<R>(text, params)).rows;
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
      assert.equal(sha256(got), sha256(want), `gateway ${i + 1}: ${what}`);
    }
  }

  return {
    /** Clients of the two in-process gateways that stay up. */
    get one(): S3Client {
      return one;
    },
    get two(): S3Client {
      return two;
    },
    startDoomed,
    kill,
    sql,
    holdObjectRow,
    gatewayWaitsOnLock,
    upstream,
    sweepAndCheck,
    rowsWhole,
    put,
    servedByBoth,
  };
}
