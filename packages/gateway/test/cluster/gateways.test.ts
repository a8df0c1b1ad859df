// Several gateways on one PostgreSQL database and one upstream bucket (moto) serve as one: any gateway
// serves any request. An upload begun on one completes on another; conditional creates raced from two
// gateways let exactly one win; a delete or an overwrite on one is what the other serves next.
// Skipped, with the reason, where PostgreSQL or moto_server is missing.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { clusterServices, clusterSkipReason } from '../helpers/cluster-services.js';
import { startClusterStack, type ClusterStack } from '../helpers/cluster-stack.js';
import { getBytes, s3Error, ssec } from '../helpers/s3.js';
import { s3Client } from '../helpers/stack.js';

const B = 'shared';
const MiB = 1024 * 1024;
const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

describe('gateways sharing one backend', { skip: clusterSkipReason() }, () => {
  let st: ClusterStack;
  /** One client per gateway, over plain HTTP and over HTTPS. */
  let one: S3Client;
  let two: S3Client;
  let oneTls: S3Client;
  let twoTls: S3Client;

  before(async () => {
    st = await startClusterStack({ keys: ['tenant-x'] });
    const [a, b] = st.gateways;
    one = s3Client(a!.url);
    two = s3Client(b!.url);
    oneTls = s3Client(a!.httpsUrl!, st.caPem);
    twoTls = s3Client(b!.httpsUrl!, st.caPem);
    await one.send(new CreateBucketCommand({ Bucket: B }));
  });
  after(async () => {
    for (const c of [one, two, oneTls, twoTls]) c?.destroy();
    await st?.close();
  });

  /** The blobs in the upstream bucket (ids only: that is all it holds). */
  async function upstreamBlobs(): Promise<string[]> {
    const { moto } = await clusterServices();
    const out = await moto.client.send(new ListObjectsV2Command({ Bucket: st.upstreamBucket }));
    return (out.Contents ?? []).map((o) => o.Key!);
  }

  /** Requests each gateway has answered so far. */
  async function answered(): Promise<number[]> {
    return Promise.all(st.gateways.map(async (gw) => (await gw.svc.metrics.requests.get()).values.reduce((sum, v) => sum + v.value, 0)));
  }

  test('the shared client sends requests to each gateway in turn', async () => {
    const before = await answered();
    for (let i = 0; i < 10; i++) await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'nothing-here' })).catch(() => {});
    const after = await answered();
    assert.deepEqual(
      after.map((n, i) => n - before[i]!),
      [5, 5],
    );
  });

  test('a multipart upload begun on one gateway takes parts on both and completes on the other', async () => {
    const key = 'across/kms.bin';
    const parts = [randomBytes(5 * MiB + 7), randomBytes(5 * MiB), randomBytes(1234)];
    const { UploadId } = await one.send(
      new CreateMultipartUploadCommand({
        Bucket: B,
        Key: key,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'tenant-x',
        ContentType: 'application/x-test',
      }),
    );
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const client = i % 2 === 0 ? two : one;
      etags.push((await client.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId, PartNumber: i + 1, Body: body }))).ETag!);
    }
    // Both gateways see the upload and all its parts.
    for (const client of [one, two]) {
      const listed = await client.send(new ListPartsCommand({ Bucket: B, Key: key, UploadId }));
      assert.deepEqual(
        listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]),
        parts.map((p, i) => [i + 1, p.length, etags[i]]),
      );
      const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: B, Prefix: 'across/' }));
      assert.deepEqual(
        uploads.Uploads?.map((u) => u.UploadId),
        [UploadId],
      );
    }
    const done = await two.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    assert.match(done.ETag!, /-3"$/);
    const whole = Buffer.concat(parts);
    for (const client of [one, two]) {
      const got = await client.send(new GetObjectCommand({ Bucket: B, Key: key }));
      assert.equal(got.ServerSideEncryption, 'aws:kms');
      assert.equal(got.SSEKMSKeyId, 'tenant-x');
      assert.equal(got.ContentType, 'application/x-test');
      assert.equal(got.ETag, done.ETag);
      assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(whole));
      assert.equal((await s3Error(client.send(new ListPartsCommand({ Bucket: B, Key: key, UploadId })))).code, 'NoSuchUpload');
    }
  });

  test('an SSE-C upload begun on one gateway completes on the other; an upload begun on one is aborted on the other', async () => {
    const customer = ssec();
    const key = 'across/ssec.bin';
    const parts = [randomBytes(5 * MiB), randomBytes(99)];
    const { UploadId } = await twoTls.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key, ...customer.put }));
    const etags: string[] = [];
    for (const [i, body] of parts.entries()) {
      const client = i === 0 ? oneTls : twoTls;
      etags.push(
        (await client.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId, PartNumber: i + 1, Body: body, ...customer.put }))).ETag!,
      );
    }
    await oneTls.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: key,
        UploadId,
        ...customer.put,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    for (const client of [oneTls, twoTls])
      assert.ok((await getBytes(client, { Bucket: B, Key: key, ...customer.put })).equals(Buffer.concat(parts)));

    const blobsBefore = (await upstreamBlobs()).length;
    const abandoned = await one.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'across/abandoned' }));
    await one.send(
      new UploadPartCommand({ Bucket: B, Key: 'across/abandoned', UploadId: abandoned.UploadId, PartNumber: 1, Body: randomBytes(1000) }),
    );
    assert.equal((await upstreamBlobs()).length, blobsBefore + 1, 'the part is a blob upstream');
    await two.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'across/abandoned', UploadId: abandoned.UploadId }));
    for (const client of [one, two]) {
      const refused = await s3Error(
        client.send(
          new UploadPartCommand({ Bucket: B, Key: 'across/abandoned', UploadId: abandoned.UploadId, PartNumber: 2, Body: 'late' }),
        ),
      );
      assert.deepEqual([refused.status, refused.code], [404, 'NoSuchUpload']);
    }
  });

  test('If-None-Match: * PUTs of one key raced from both gateways: exactly one wins, both serve the winner', async () => {
    for (let round = 0; round < 8; round++) {
      const key = `race/put-${round}`;
      const bodies = [randomBytes(100_000 + round), randomBytes(100_000 + round)];
      const results = await Promise.allSettled(
        [one, two].map((client, i) => client.send(new PutObjectCommand({ Bucket: B, Key: key, Body: bodies[i], IfNoneMatch: '*' }))),
      );
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1, `round ${round}: ${results.map((r) => r.status).join(', ')}`);
      const lost = results[1 - won[0]!] as PromiseRejectedResult;
      const error = await s3Error(Promise.reject(lost.reason));
      assert.deepEqual([error.status, error.code], [412, 'PreconditionFailed'], `round ${round}`);
      for (const client of [one, two]) {
        const got = await getBytes(client, { Bucket: B, Key: key });
        assert.equal(md5(got), md5(bodies[won[0]!]!), `round ${round}: the winner's bytes`);
      }
    }
    const listed = await one.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'race/put-' }));
    assert.equal(listed.KeyCount, 8);
  });

  test('Completes with If-None-Match: * of one key raced from both gateways: exactly one wins, the other upload stays', async () => {
    for (let round = 0; round < 4; round++) {
      const key = `race/mp-${round}`;
      const bodies = [randomBytes(70_000), randomBytes(70_000)];
      const uploads = await Promise.all(
        [one, two].map(async (client, i) => {
          const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }));
          const { ETag } = await client.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId, PartNumber: 1, Body: bodies[i] }));
          return { UploadId: UploadId!, ETag: ETag! };
        }),
      );
      const results = await Promise.allSettled(
        [one, two].map((client, i) =>
          client.send(
            new CompleteMultipartUploadCommand({
              Bucket: B,
              Key: key,
              UploadId: uploads[i]!.UploadId,
              IfNoneMatch: '*',
              MultipartUpload: { Parts: [{ PartNumber: 1, ETag: uploads[i]!.ETag }] },
            }),
          ),
        ),
      );
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1, `round ${round}: ${results.map((r) => r.status).join(', ')}`);
      const loser = 1 - won[0]!;
      const error = await s3Error(Promise.reject((results[loser] as PromiseRejectedResult).reason));
      assert.deepEqual([error.status, error.code], [412, 'PreconditionFailed'], `round ${round}`);
      for (const client of [one, two]) assert.equal(md5(await getBytes(client, { Bucket: B, Key: key })), md5(bodies[won[0]!]!));
      // The refused Complete changed nothing: its upload is still there, with its part.
      const parts = await two.send(new ListPartsCommand({ Bucket: B, Key: key, UploadId: uploads[loser]!.UploadId }));
      assert.deepEqual(
        parts.Parts?.map((p) => p.ETag),
        [uploads[loser]!.ETag],
      );
      await one.send(new AbortMultipartUploadCommand({ Bucket: B, Key: key, UploadId: uploads[loser]!.UploadId }));
    }
  });

  test('a delete or an overwrite on one gateway is what the other serves on the very next request', async () => {
    const first = randomBytes(50_000);
    await one.send(new PutObjectCommand({ Bucket: B, Key: 'seen/obj', Body: first, ServerSideEncryption: 'AES256' }));
    assert.ok((await getBytes(two, { Bucket: B, Key: 'seen/obj' })).equals(first));

    const second = randomBytes(60_000);
    await two.send(
      new PutObjectCommand({ Bucket: B, Key: 'seen/obj', Body: second, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'tenant-x' }),
    );
    const head = await one.send(new HeadObjectCommand({ Bucket: B, Key: 'seen/obj' }));
    assert.equal(head.ContentLength, second.length);
    assert.equal(head.SSEKMSKeyId, 'tenant-x');
    assert.ok((await getBytes(one, { Bucket: B, Key: 'seen/obj' })).equals(second));

    await two.send(new DeleteObjectCommand({ Bucket: B, Key: 'seen/obj' }));
    const gone = await s3Error(one.send(new GetObjectCommand({ Bucket: B, Key: 'seen/obj' })));
    assert.deepEqual([gone.status, gone.code], [404, 'NoSuchKey']);
    assert.equal((await s3Error(one.send(new HeadObjectCommand({ Bucket: B, Key: 'seen/obj' })))).status, 404);

    for (const k of ['seen/a', 'seen/b', 'seen/c']) await two.send(new PutObjectCommand({ Bucket: B, Key: k, Body: k }));
    assert.deepEqual(
      (await one.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'seen/' }))).Contents?.map((o) => o.Key),
      ['seen/a', 'seen/b', 'seen/c'],
    );
    const deleted = await one.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'seen/a' }, { Key: 'seen/c' }] } }));
    assert.deepEqual(deleted.Deleted?.map((d) => d.Key).sort(), ['seen/a', 'seen/c']);
    assert.deepEqual(
      (await two.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'seen/' }))).Contents?.map((o) => o.Key),
      ['seen/b'],
    );
    assert.equal((await s3Error(two.send(new GetObjectCommand({ Bucket: B, Key: 'seen/a' })))).code, 'NoSuchKey');
  });

  test('a gateway started later serves what the others stored, and joins the alternation', async () => {
    const data = randomBytes(30_000);
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'late/joiner', Body: data }));
    const third = await st.addGateway();
    const client = s3Client(third.url);
    try {
      assert.ok((await getBytes(client, { Bucket: B, Key: 'late/joiner' })).equals(data));
      const before = await answered();
      for (let i = 0; i < 6; i++) assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'late/joiner' })).equals(data));
      const after = await answered();
      assert.deepEqual(
        after.map((n, i) => n - before[i]!),
        [2, 2, 2],
      );
    } finally {
      client.destroy();
    }
  });
});
