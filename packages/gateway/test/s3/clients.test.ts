// The s3 middleware behind a real socket, driven by the AWS SDK v3 and its presigner.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, S3Client, type ChecksumAlgorithm } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ACCESS_KEY, errorCode, REGION, SECRET_KEY, startServer, type TestServer } from './harness.js';

let server: TestServer;
let client: S3Client;

before(async () => {
  server = await startServer();
  client = new S3Client({
    endpoint: server.endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  });
});

after(async () => {
  client.destroy();
  await server.close();
});

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

function patterned(size: number, seed = 7): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe('AWS SDK v3', () => {
  it('PutObject with a Buffer body: verified, hashed once, ETag = MD5', async () => {
    const data = patterned(100_000);
    const out = await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'buffer.bin', Body: data }));
    assert.equal(out.ETag, `"${md5(data)}"`);
    const got = server.received.at(-1)!;
    assert.equal(got.key, 'buffer.bin');
    assert.equal(got.sha256, sha256(data));
    assert.equal(got.size, data.length);
  });

  it('PutObject with a stream body goes aws-chunked with a CRC32 trailer, which is verified', async () => {
    const data = patterned(300_000, 3);
    const pieces = [data.subarray(0, 70_000), data.subarray(70_000, 200_000), data.subarray(200_000)];
    await client.send(
      new PutObjectCommand({ Bucket: 'bucket', Key: 'stream.bin', Body: Readable.from(pieces), ContentLength: data.length }),
    );
    const got = server.received.at(-1)!;
    assert.match(got.payloadMode, /^streaming-/);
    assert.equal(got.sha256, sha256(data));
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(data) >>> 0);
    assert.deepEqual(got.trailers, { 'x-amz-checksum-crc32': crc.toString('base64') });
    assert.deepEqual(got.checksum, { algorithm: 'crc32', value: crc.toString('base64') });
  });

  for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as ChecksumAlgorithm[]) {
    it(`PutObject with ChecksumAlgorithm ${algorithm}: the SDK's checksum matches ours`, async () => {
      const data = patterned(12_345, algorithm.length);
      await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: `sum-${algorithm}`, Body: data, ChecksumAlgorithm: algorithm }));
      const got = server.received.at(-1)!;
      assert.equal(got.checksum?.algorithm, algorithm.toLowerCase());
      assert.equal(got.sha256, sha256(data));
    });
  }

  const keys = [
    'a b',
    'a+b',
    'plus+and space',
    'ünïcødé/ключ/鍵',
    '100%',
    '%41 not decoded twice',
    'tilde~',
    'eq=amp&q?hash#',
    'dir//double//slash',
    "x$y:z@!*'(),;",
    '.leading-dot',
    'trailing/',
    '[brackets]{braces}^|`"<>\\',
  ];
  for (const key of keys) {
    it(`PutObject then GetObject round-trips the key ${JSON.stringify(key)}`, async () => {
      const data = Buffer.from(`content of ${key}`);
      await client.send(new PutObjectCommand({ Bucket: 'bucket', Key: key, Body: data }));
      assert.equal(server.received.at(-1)!.key, key);
      const out = await client.send(new GetObjectCommand({ Bucket: 'bucket', Key: key }));
      assert.ok(Buffer.from(await out.Body!.transformToByteArray()).equals(data));
    });
  }

  // Node's http client puts non-ASCII header text on the wire as UTF-8 with a string body and as
  // latin1 with a Buffer body; the SDK signs the UTF-8 either way. Both must verify.
  for (const body of ['string body', Buffer.from('buffer body')]) {
    it(`user metadata with non-ASCII text and runs of spaces is verified (${typeof body === 'string' ? 'string' : 'Buffer'} body)`, async () => {
      await client.send(
        new PutObjectCommand({ Bucket: 'bucket', Key: 'meta', Body: body, Metadata: { name: 'ünïcødé  and   spaces', plain: 'v' } }),
      );
      assert.equal(server.received.at(-1)!.key, 'meta');
    });
  }

  it('GetObject of a missing key: NoSuchKey from the XML error body', async () => {
    await assert.rejects(client.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'missing' })), (err: Error) => {
      assert.equal(err.name, 'NoSuchKey');
      assert.equal((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 404);
      return true;
    });
  });

  it('a client with the wrong secret gets SignatureDoesNotMatch and nothing is stored', async () => {
    const wrong = new S3Client({
      endpoint: server.endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: 'not-the-secret' },
    });
    const before = server.received.length;
    await assert.rejects(wrong.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'wrong-secret', Body: 'x' })), {
      name: 'SignatureDoesNotMatch',
    });
    await assert.rejects(
      wrong.send(
        new PutObjectCommand({ Bucket: 'bucket', Key: 'wrong-secret', Body: Readable.from([Buffer.from('xyz')]), ContentLength: 3 }),
      ),
      {
        name: 'SignatureDoesNotMatch',
      },
    );
    wrong.destroy();
    assert.equal(server.received.length, before);
    assert.equal(server.objects.has('bucket/wrong-secret'), false);
  });
});

describe('presigned URLs (@aws-sdk/s3-request-presigner)', () => {
  it('presigned GET and PUT work with plain fetch', async () => {
    const data = patterned(5000, 11);
    const putUrl = await getSignedUrl(client, new PutObjectCommand({ Bucket: 'bucket', Key: 'pre signed+key' }), { expiresIn: 300 });
    const put = await fetch(putUrl, { method: 'PUT', body: new Uint8Array(data) });
    assert.equal(put.status, 200, await put.clone().text());
    assert.equal(server.received.at(-1)!.key, 'pre signed+key');
    assert.equal(server.received.at(-1)!.sha256, sha256(data));

    const getUrl = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'bucket', Key: 'pre signed+key' }), { expiresIn: 300 });
    const get = await fetch(getUrl);
    assert.equal(get.status, 200);
    assert.ok(Buffer.from(await get.arrayBuffer()).equals(data));
  });

  it('an expired presigned URL is refused with 403 AccessDenied, and a PUT through it stores nothing', async () => {
    const signingDate = new Date(Date.now() - 3600_000);
    const getUrl = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'bucket', Key: 'a b' }), { expiresIn: 60, signingDate });
    const get = await fetch(getUrl);
    assert.equal(get.status, 403);
    const body = await get.text();
    assert.equal(errorCode(body), 'AccessDenied');
    assert.match(body, /Request has expired/);

    const before = server.received.length;
    const putUrl = await getSignedUrl(client, new PutObjectCommand({ Bucket: 'bucket', Key: 'expired-put' }), {
      expiresIn: 60,
      signingDate,
    });
    const put = await fetch(putUrl, { method: 'PUT', body: 'should not land' });
    assert.equal(put.status, 403);
    assert.equal(server.received.length, before);
    assert.equal(server.objects.has('bucket/expired-put'), false);
  });

  it('a presigned URL used for another key is refused', async () => {
    const url = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: 'bucket', Key: 'a b' }), { expiresIn: 60 }));
    url.pathname = '/bucket/a+b';
    const res = await fetch(url);
    assert.equal(res.status, 403);
    assert.equal(errorCode(await res.text()), 'SignatureDoesNotMatch');
  });
});
