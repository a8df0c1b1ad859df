// What a cluster keeps where: after SSE-S3, SSE-KMS and SSE-C writes (single PUTs, small ones inline, a completed multipart
// upload, an upload left open, an SSE-C copy to a new key) of bodies full of known plaintext markers, every
// row of every table of the PostgreSQL database (pg_dump) and every object of the upstream bucket are
// searched for the markers, the SSE-C keys, the data keys kes handed out, the object and part keys sealed
// under them, and the secret keys of the gateway and the upstream — raw, hex, base64 and base64url. None may
// be there. Upstream objects are named by opaque ids and carry no metadata of their own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { partKey, unsealObjectKey, type SSEDomain } from '@kesgate/dare';
import { kmsContext, decodeClientContext } from '../../src/sse/kms-context.js';
import type { StoredSSE } from '../../src/storage/index.js';
import { clusterServices, clusterSkipReason } from '../helpers/cluster-services.js';
import { startClusterStack, type ClusterStack } from '../helpers/cluster-stack.js';
import { postgresBinDir } from '../helpers/postgres.js';
import { getBytes, ssec } from '../helpers/s3.js';
import { SECRET_KEY } from '../helpers/stack.js';

const B = 'secrets';
const MiB = 1024 * 1024;

/** A body made of one marker, repeated: any plaintext that reaches a store shows the marker whole. */
function markedBody(marker: string, size: number): Buffer {
  return Buffer.from(marker.repeat(Math.ceil(size / marker.length)).slice(0, size));
}

/** The spellings of a secret a store could hold: raw bytes, hex, base64, base64url. */
function spellings(secret: Buffer): Buffer[] {
  const b64 = secret.toString('base64');
  return [
    secret,
    Buffer.from(secret.toString('hex')),
    Buffer.from(b64),
    Buffer.from(b64.replace(/=+$/, '')),
    Buffer.from(secret.toString('base64url')),
  ];
}

describe('a cluster stores no plaintext and no secret', { skip: clusterSkipReason() }, () => {
  let st: ClusterStack;
  /** name → bytes that must appear nowhere. */
  const secrets = new Map<string, Buffer>();
  const keys: string[] = [];

  before(async () => {
    st = await startClusterStack({ keys: ['tenant-s'] }); // small objects inline, as by default
    await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => st?.close());

  /** The object key (and per-part keys) of an object or upload, recovered the way the gateway does. */
  async function objectKeys(key: string, sse: StoredSSE, customerKey?: Buffer): Promise<void> {
    const kind = sse.sse as SSEDomain;
    let ek: Buffer;
    if (kind === 'SSE-C') {
      ek = customerKey!;
    } else {
      ek = await st.kesAdmin.decryptKey(
        String(sse.kmsKey),
        Buffer.from(String(sse.kmsCiphertext), 'base64'),
        kmsContext(B, key, decodeClientContext(sse.kmsContext as string | undefined)),
        sse.kmsKeyVersion === undefined ? undefined : String(sse.kmsKeyVersion),
      );
      secrets.set(`the data key of ${key}`, ek);
    }
    const oek = unsealObjectKey({
      ek,
      domain: kind,
      path: `${B}/${key}`,
      iv: Buffer.from(String(sse.iv), 'base64'),
      sealedKey: Buffer.from(String(sse.sealedKey), 'base64'),
    });
    secrets.set(`the object key of ${key}`, oek);
    for (let n = 1; n <= 3; n++) secrets.set(`part key ${n} of ${key}`, partKey(oek, n));
  }

  test('SSE-S3, SSE-KMS and SSE-C writes through both gateways', async () => {
    const marker = (what: string): string => {
      const m = `PLAINTEXT-${what}-${randomBytes(6).toString('hex')}|`;
      secrets.set(`the plaintext marker of ${what}`, Buffer.from(m));
      return m;
    };
    const customer = ssec();
    const rekeyed = ssec();
    const pending = ssec();
    secrets.set('an SSE-C key', customer.key);
    secrets.set('the SSE-C key of a copy', rekeyed.key);
    secrets.set('the SSE-C key of an open upload', pending.key);
    secrets.set("the gateway's S3 secret key", Buffer.from(SECRET_KEY));
    secrets.set("the upstream's secret key", Buffer.from((await clusterServices()).moto.secretKey));
    // The base64 body of the gateway's mTLS private key, as its PEM file holds it.
    const pem = readFileSync(join(st.dir, 'gateway.key'), 'utf8').replace(/-----[^-]+-----|\s/g, '');
    secrets.set("the gateway's kes client key", Buffer.from(pem.slice(64, 128)));

    await st.s3.send(
      new PutObjectCommand({ Bucket: B, Key: 'sse-s3.txt', Body: markedBody(marker('SSE-S3'), 200_000), ServerSideEncryption: 'AES256' }),
    );
    await st.s3.send(
      new PutObjectCommand({
        Bucket: B,
        Key: 'sse-kms.txt',
        Body: markedBody(marker('SSE-KMS'), 70_000),
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'tenant-s',
        SSEKMSEncryptionContext: Buffer.from(JSON.stringify({ team: 'blue' })).toString('base64'),
      }),
    );
    await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'sse-c.txt', Body: markedBody(marker('SSE-C'), 100_000), ...customer.put }));
    // Small objects live inline in the database (bytea): pg_dump shows them, so they are searched too.
    await st.s3.send(
      new PutObjectCommand({
        Bucket: B,
        Key: 'small-s3.txt',
        Body: markedBody(marker('small SSE-S3'), 3000),
        ServerSideEncryption: 'AES256',
      }),
    );
    await st.s3tls.send(
      new PutObjectCommand({ Bucket: B, Key: 'small-c.txt', Body: markedBody(marker('small SSE-C'), 3000), ...customer.put }),
    );
    await st.s3tls.send(
      new CopyObjectCommand({ Bucket: B, Key: 'sse-c-copy.txt', CopySource: `${B}/sse-c.txt`, ...customer.copySource, ...rekeyed.put }),
    );

    const mpMarker = marker('multipart');
    const { UploadId } = await st.s3tls.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'multipart.bin', ...customer.put }));
    const parts = [markedBody(mpMarker, 5 * MiB), markedBody(mpMarker, 3000)];
    const etags: string[] = [];
    for (const [i, Body] of parts.entries()) {
      etags.push(
        (
          await st.s3tls.send(
            new UploadPartCommand({ Bucket: B, Key: 'multipart.bin', UploadId, PartNumber: i + 1, Body, ...customer.put }),
          )
        ).ETag!,
      );
    }
    await st.s3tls.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: 'multipart.bin',
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    const open = await st.s3tls.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'open-upload.bin', ...pending.put }));
    await st.s3tls.send(
      new UploadPartCommand({
        Bucket: B,
        Key: 'open-upload.bin',
        UploadId: open.UploadId,
        PartNumber: 1,
        Body: markedBody(marker('open upload'), 9000),
        ...pending.put,
      }),
    );

    keys.push(
      'sse-s3.txt',
      'sse-kms.txt',
      'sse-c.txt',
      'sse-c-copy.txt',
      'multipart.bin',
      'open-upload.bin',
      'small-s3.txt',
      'small-c.txt',
    );
    // The writes are readable (so the keys recovered below are the ones in use).
    assert.ok((await getBytes(st.s3tls, { Bucket: B, Key: 'multipart.bin', ...customer.put })).equals(Buffer.concat(parts)));
    const kms = await st.s3.send(new GetObjectCommand({ Bucket: B, Key: 'sse-kms.txt' }));
    assert.equal(kms.SSEKMSKeyId, 'tenant-s');
    assert.equal((await kms.Body!.transformToByteArray()).length, 70_000);

    const store = st.gw.svc.store;
    await objectKeys('sse-s3.txt', (await store.getObject(B, 'sse-s3.txt'))!.sse);
    await objectKeys('sse-kms.txt', (await store.getObject(B, 'sse-kms.txt'))!.sse);
    await objectKeys('sse-c.txt', (await store.getObject(B, 'sse-c.txt'))!.sse, customer.key);
    await objectKeys('sse-c-copy.txt', (await store.getObject(B, 'sse-c-copy.txt'))!.sse, rekeyed.key);
    for (const key of ['small-s3.txt', 'small-c.txt']) assert.ok((await store.getObject(B, key))!.parts[0]!.inline, `${key} is inline`);
    await objectKeys('small-s3.txt', (await store.getObject(B, 'small-s3.txt'))!.sse);
    await objectKeys('small-c.txt', (await store.getObject(B, 'small-c.txt'))!.sse, customer.key);
    await objectKeys('multipart.bin', (await store.getObject(B, 'multipart.bin'))!.sse, customer.key);
    const upload = await store.getUpload({ bucket: B, key: 'open-upload.bin', uploadId: open.UploadId! });
    await objectKeys('open-upload.bin', upload.sse, pending.key);
  });

  test('no row of any table of the database holds one of them', async () => {
    assert.ok(secrets.size > 20, 'the writes above ran');
    const dump = spawnSync(join(postgresBinDir()!, 'pg_dump'), ['--no-owner', `--dbname=${st.databaseUrl}`], { maxBuffer: 256 * MiB });
    assert.equal(dump.status, 0, String(dump.stderr));
    const text = dump.stdout;
    // The dump is complete: every object and the open upload are in it, with their sealed keys.
    for (const key of keys) assert.ok(text.includes(key), `the dump holds ${key}`);
    assert.ok(text.includes('sealedKey'));
    for (const [what, secret] of secrets) {
      for (const spelling of spellings(secret))
        assert.equal(text.includes(spelling), false, `the database holds ${what} (${spelling.length} bytes)`);
    }
  });

  test('no upstream object holds one of them, and each is named by an opaque id and carries no metadata', async () => {
    const { moto } = await clusterServices();
    const listed = await moto.client.send(new ListObjectsV2Command({ Bucket: st.upstreamBucket }));
    const names = (listed.Contents ?? []).map((o) => o.Key!);
    // sse-s3, sse-kms, sse-c, the copy, two parts of the completed upload, one of the open one; the two small
    // objects are inline in the database, with no upstream object.
    assert.equal(names.length, 7);
    for (const name of names) {
      assert.match(name, /^[0-9a-f]{32}$/, 'an opaque id');
      for (const key of keys) assert.equal(name.includes(key.split('.')[0]!), false);
      const head = await moto.client.send(new HeadObjectCommand({ Bucket: st.upstreamBucket, Key: name }));
      assert.deepEqual(head.Metadata ?? {}, {}, `${name} carries no metadata`);
      const body = Buffer.from(
        await (await moto.client.send(new GetObjectCommand({ Bucket: st.upstreamBucket, Key: name }))).Body!.transformToByteArray(),
      );
      for (const [what, secret] of secrets) {
        for (const spelling of spellings(secret)) assert.equal(body.includes(spelling), false, `upstream ${name} holds ${what}`);
      }
      for (const key of keys) assert.equal(body.includes(Buffer.from(key)), false, `upstream ${name} holds the name ${key}`);
    }
  });
});
