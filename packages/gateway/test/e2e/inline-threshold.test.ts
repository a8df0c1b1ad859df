// The default inline threshold at its edge, through the AWS SDK, on both layouts, with no inlineThreshold in the
// config: an object whose encrypted package is exactly 8,192 bytes (8,160 bytes of plaintext + the package's
// 32 bytes) is kept in its metadata row, one of 8,193 is not, in every SSE mode; both read back whole and by
// range. What the database holds is the package itself: a BLOB in SQLite, bytea in PostgreSQL stored out of line
// without compression (ciphertext does not compress), byte for byte the package, never the plaintext.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import DatabaseConstructor from 'better-sqlite3';
import pg from 'pg';
import { DEFAULT_INLINE_THRESHOLD } from '../../src/storage/inline-data.js';
import { clusterServices } from '../helpers/cluster-services.js';
import type { ClusterStack } from '../helpers/cluster-stack.js';
import { getBytes, s3Error, ssec } from '../helpers/s3.js';
import { stackLayouts } from '../helpers/stack-layouts.js';
import { s3Client, type Stack } from '../helpers/stack.js';

const B = 'threshold';
/** A single package's overhead: its 16-byte header and 16-byte tag. */
const PACKAGE_OVERHEAD = 32;
const AT = DEFAULT_INLINE_THRESHOLD - PACKAGE_OVERHEAD; // 8,160 bytes of plaintext: 8,192 stored
const c = ssec();

interface Sent {
  key: string;
  body: Buffer;
  client: S3Client;
  extra: Record<string, unknown>;
}

for (const layout of stackLayouts)
  describe(`${layout.name}: the default inline threshold`, { skip: layout.skip }, () => {
    let st: Stack;
    const sent: Sent[] = [];
    before(async () => {
      st = await layout.start({ keys: ['tenant-t'] });
      assert.equal(st.config.backend.inlineThreshold, undefined, 'the config leaves the threshold out');
      await st.s3.send(new CreateBucketCommand({ Bucket: B }));
    });
    after(async () => st?.close());

    const isCluster = (): boolean => 'databaseUrl' in st;

    test('8,192 stored bytes are inline, 8,193 are not, in every SSE mode; all read back whole and by range', async () => {
      assert.equal(DEFAULT_INLINE_THRESHOLD, 8192);
      const modes: [string, () => S3Client, Record<string, unknown>][] = [
        ['s3', () => st.s3, {}],
        ['kms', () => st.s3, { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'tenant-t' }],
        ['c', () => st.s3tls, c.put],
      ];
      for (const [mode, client, extra] of modes) {
        for (const size of [AT, AT + 1]) {
          const key = `${mode}-${size}`;
          const body = randomBytes(size);
          await client().send(new PutObjectCommand({ Bucket: B, Key: key, Body: body, ...extra }));
          sent.push({ key, body, client: client(), extra });
        }
      }
      for (const { key, body, client, extra } of sent) {
        const part = (await st.gw.svc.store.getObject(B, key))!.parts[0]!;
        const inline = body.length === AT;
        assert.equal(part.encSize, body.length + PACKAGE_OVERHEAD, key);
        assert.equal(part.inline?.length, inline ? 8192 : undefined, `${key}: ${inline ? 'inline' : 'not inline'}`);
        assert.ok((await getBytes(client, { Bucket: B, Key: key, ...extra })).equals(body), key);
        const tail = await getBytes(client, { Bucket: B, Key: key, Range: `bytes=${body.length - 100}-`, ...extra });
        assert.ok(tail.equals(body.subarray(-100)), `${key}: the last 100 bytes`);
        const head = await client.send(new HeadObjectCommand({ Bucket: B, Key: key, ...extra }));
        assert.equal(head.ContentLength, body.length);
      }
      const listed = await st.s3.send(new ListObjectsV2Command({ Bucket: B }));
      assert.deepEqual(
        listed.Contents?.map((o) => [o.Key, o.Size]),
        sent.map((s) => [s.key, s.body.length]).sort(),
      );
    });

    test('the blob store holds the three objects above the threshold only', async () => {
      const above = await Promise.all(
        sent.filter((s) => s.body.length > AT).map(async (s) => (await st.gw.svc.store.getObject(B, s.key))!.parts[0]!.dataId),
      );
      let blobs: string[];
      if (isCluster()) {
        const { moto } = await clusterServices();
        const out = await moto.client.send(new ListObjectsV2Command({ Bucket: (st as ClusterStack).upstreamBucket }));
        blobs = (out.Contents ?? []).map((o) => o.Key!);
        assert.deepEqual(new Set((out.Contents ?? []).map((o) => o.Size)), new Set([AT + 1 + PACKAGE_OVERHEAD]));
      } else {
        const data = join(st.dataDir, 'data');
        blobs = existsSync(data) ? readdirSync(data).flatMap((shard) => readdirSync(join(data, shard))) : [];
      }
      assert.deepEqual(blobs.sort(), above.sort());
    });

    if (layout !== stackLayouts[0])
      test('an inline package changed in the database is refused (500 InternalError, whole or by range), never served; HEAD still answers', async () => {
        const cluster = st as ClusterStack;
        const { key, body } = sent.find((s) => s.key === `s3-${AT}`)!;
        const part = (await st.gw.svc.store.getObject(B, key))!.parts[0]!;
        const client = new pg.Client({ connectionString: cluster.databaseUrl });
        await client.connect();
        const setInline = (bytes: Buffer) =>
          client.query('UPDATE object_parts SET inline_data = $1 WHERE data_id = $2', [bytes, part.dataId]);
        try {
          const original = Buffer.from(part.inline!);
          const flipped = Buffer.from(original);
          flipped[4000]! ^= 1; // a ciphertext byte of the one package
          for (const [what, bytes] of [
            ['one bit flipped', flipped],
            ['one byte cut off', original.subarray(0, original.length - 1)],
          ] as const) {
            await setInline(bytes);
            for (const range of [undefined, 'bytes=0-99', 'bytes=5000-5099']) {
              const err = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: key, ...(range ? { Range: range } : {}) })));
              assert.equal(err.status, 500, `${what}, range ${range ?? 'none'}`);
              assert.equal(err.code, 'InternalError', `${what}, range ${range ?? 'none'}`);
            }
            const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: key }));
            assert.equal(head.ContentLength, body.length, 'HEAD reads the record only');
          }
          await setInline(original);
          assert.ok((await getBytes(st.s3, { Bucket: B, Key: key })).equals(body), 'the package put back reads again');
        } finally {
          await client.end();
        }
      });

    if (layout !== stackLayouts[0])
      test("a database set to bytea_output = 'escape' still serves inline objects (to a gateway connecting after the change)", async () => {
        const cluster = st as ClusterStack;
        const client = new pg.Client({ connectionString: cluster.databaseUrl });
        await client.connect();
        try {
          const [{ db }] = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows as [{ db: string }];
          await client.query(`ALTER DATABASE "${db}" SET bytea_output = 'escape'`);
          const check = new pg.Client({ connectionString: cluster.databaseUrl });
          await check.connect();
          try {
            assert.equal(
              (await check.query<{ v: string }>("SELECT current_setting('bytea_output') AS v")).rows[0]!.v,
              'escape',
              'new sessions get it',
            );
          } finally {
            await check.end();
          }
        } finally {
          await client.end();
        }
        const fresh = await cluster.addGateway();
        const s3 = s3Client(fresh.url);
        const s3tls = s3Client(fresh.httpsUrl!, st.caPem);
        try {
          for (const { key, body, client: via, extra } of sent) {
            const c = via === st.s3tls ? s3tls : s3;
            assert.ok((await getBytes(c, { Bucket: B, Key: key, ...extra })).equals(body), key);
          }
        } finally {
          s3.destroy();
          s3tls.destroy();
        }
      });

    test('the database holds the package as bytes: a BLOB in SQLite, uncompressed out-of-line bytea in PostgreSQL', async () => {
      const expected = new Map<string, Buffer>();
      for (const s of sent.filter((x) => x.body.length === AT)) {
        const part = (await st.gw.svc.store.getObject(B, s.key))!.parts[0]!;
        expected.set(part.dataId, Buffer.from(part.inline!));
      }
      type Row = { data_id: string; kind: string; n: number; bytes: Buffer; compression: string | null };
      let rows: Row[];
      if (isCluster()) {
        const client = new pg.Client({ connectionString: (st as ClusterStack).databaseUrl });
        await client.connect();
        try {
          rows = (
            await client.query<Row>(
              `SELECT data_id, pg_typeof(inline_data)::text AS kind, octet_length(inline_data) AS n, inline_data AS bytes,
                      pg_column_compression(inline_data) AS compression
               FROM object_parts WHERE inline_data IS NOT NULL ORDER BY data_id`,
            )
          ).rows;
          const [storage] = (
            await client.query<{ attstorage: string }>(
              "SELECT attstorage FROM pg_attribute WHERE attrelid = 'object_parts'::regclass AND attname = 'inline_data'",
            )
          ).rows;
          assert.equal(storage!.attstorage, 'e', 'STORAGE EXTERNAL: moved out of line as it is, no compression tried');
        } finally {
          await client.end();
        }
      } else {
        // The gateway holds meta.db exclusively: it is read once the gateway has stopped.
        await st.gw.close();
        const db = new DatabaseConstructor(join(st.dataDir, 'meta.db'), { readonly: true });
        try {
          rows = db
            .prepare<[], Row>(
              `SELECT data_id, typeof(inline_data) AS kind, length(inline_data) AS n, inline_data AS bytes, NULL AS compression
               FROM object_parts WHERE inline_data IS NOT NULL ORDER BY data_id`,
            )
            .all();
        } finally {
          db.close();
        }
      }
      const kind = isCluster() ? 'bytea' : 'blob';
      assert.deepEqual(
        rows.map((r) => [r.data_id, r.kind, Number(r.n), r.compression]),
        [...expected.keys()].sort().map((id) => [id, kind, 8192, null]),
      );
      for (const r of rows) {
        assert.ok(Buffer.isBuffer(r.bytes) && r.bytes.equals(expected.get(r.data_id)!), `${r.data_id}: the stored package, byte for byte`);
        for (const s of sent) assert.equal(r.bytes.includes(s.body.subarray(0, 32)), false, 'never the plaintext');
      }
    });
  });
