// A key whose latest stored encryption record is malformed (a damaged or hand-edited metadata row) can be
// written again: a PutObject, a CompleteMultipartUpload or a CopyObject onto it replaces the object, as S3's
// writes replace whatever is there, and the key reads again. A conditional write (If-Match, If-None-Match) would
// have to read the record it cannot read: it answers 500 InternalError and changes nothing.
// Both layouts: the embedded SQLite store and the shared PostgreSQL one.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CopyObjectCommand, CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { MalformedSSERecord } from '../../src/storage/sse-record.js';
import type { StoredSSE } from '../../src/storage/index.js';
import { clusterSkipReason } from '../helpers/cluster-services.js';
import { startClusterStack, type ClusterStack } from '../helpers/cluster-stack.js';
import { getBytes, s3Error, uploadInParts } from '../helpers/s3.js';
import { startStack, type Stack } from '../helpers/stack.js';

const B = 'malformed-overwrite';
const MiB = 1024 * 1024;

/** What a damaged or hand-edited row could hold: a record naming no known encryption. */
const brokenRecord = (sse: StoredSSE): string => JSON.stringify({ ...sse, sse: 'AES-GCM-9000' });

interface Layout {
  name: string;
  skip: string | false;
  start(): Promise<Stack>;
  /** Writes `sse` as the latest record of `key` into the metadata database. */
  damage(st: Stack, key: string, sse: string): Promise<void>;
}

const layouts: Layout[] = [
  {
    name: 'embedded (SQLite)',
    skip: false,
    start: () => startStack(),
    // The gateway holds the SQLite file alone: through its store, which writes what it is given.
    async damage(st, key, sse) {
      const rec = (await st.gw.svc.store.getObject(B, key))!;
      await st.gw.svc.store.updateObjectSSE(B, key, rec.revision, JSON.parse(sse) as StoredSSE);
    },
  },
  {
    name: 'shared (PostgreSQL)',
    skip: clusterSkipReason(),
    start: () => startClusterStack(),
    async damage(st, key, sse) {
      const client = new pg.Client({ connectionString: (st as ClusterStack).databaseUrl });
      await client.connect();
      try {
        const { rowCount } = await client.query('UPDATE objects SET sse = $1 WHERE bucket = $2 AND key = $3 AND is_latest', [sse, B, key]);
        assert.equal(rowCount, 1);
      } finally {
        await client.end();
      }
    },
  },
];

for (const layout of layouts) {
  describe(`writes onto a key whose stored record is malformed: ${layout.name}`, { skip: layout.skip }, () => {
    let st: Stack;
    before(async () => {
      st = await layout.start();
      await st.s3.send(new CreateBucketCommand({ Bucket: B }));
      await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'source', Body: 'the copy source' }));
    });
    after(async () => st?.close());

    /** Stores `key`, then damages its record in the metadata database as a bad edit would. */
    async function damaged(key: string): Promise<void> {
      await st.s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: 'before the damage' }));
      await layout.damage(st, key, brokenRecord((await st.gw.svc.store.getObject(B, key))!.sse));
      const get = await s3Error(st.s3.send(new GetObjectCommand({ Bucket: B, Key: key })));
      assert.deepEqual([get.status, get.code], [500, 'InternalError'], 'the damaged object does not read');
    }

    /** The record of `key` is still the malformed one: the refused write changed nothing. */
    async function stillDamaged(key: string): Promise<void> {
      await assert.rejects(st.gw.svc.store.getObject(B, key), MalformedSSERecord);
    }

    test('PutObject replaces it and the key reads again', async () => {
      await damaged('put');
      const body = randomBytes(3000);
      await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'put', Body: body }));
      assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'put' })).equals(body));
      // Above the inline threshold too: the object gets a data file or blob of its own.
      const large = randomBytes(100_000);
      await damaged('put-large');
      await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'put-large', Body: large, ServerSideEncryption: 'aws:kms' }));
      assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'put-large' })).equals(large));
    });

    test('CompleteMultipartUpload replaces it and the key reads again', async () => {
      await damaged('multipart');
      const parts = [randomBytes(5 * MiB), randomBytes(1234)];
      await uploadInParts(st.s3, { Bucket: B, Key: 'multipart' }, parts);
      assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'multipart' })).equals(Buffer.concat(parts)));
    });

    test('CopyObject onto it replaces it and the key reads again', async () => {
      await damaged('copy-target');
      await st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-target', CopySource: `${B}/source` }));
      assert.equal(String(await getBytes(st.s3, { Bucket: B, Key: 'copy-target' })), 'the copy source');
    });

    test('a conditional PutObject (If-Match, If-None-Match) answers 500 InternalError and changes nothing', async () => {
      await damaged('conditional');
      const etag = (await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'etag-donor', Body: 'before the damage' }))).ETag!;
      for (const condition of [{ IfMatch: etag }, { IfNoneMatch: '*' }]) {
        const err = await s3Error(st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'conditional', Body: 'new', ...condition })));
        assert.deepEqual([err.status, err.code], [500, 'InternalError'], JSON.stringify(condition));
        assert.doesNotMatch(err.message, /sealedKey|kmsCiphertext/, 'no stored field in the answer');
        await stillDamaged('conditional');
      }
    });
  });
}
