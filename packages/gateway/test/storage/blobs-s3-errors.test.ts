// The s3 blob store when its upstream is down, throttling or stalled: every operation fails after bounded
// retries and timeouts with BackendUnavailable, which the S3 layer answers as a retryable 503; remove() stays
// quiet (best effort). The upstreams here are real HTTP servers that behave like a failing S3: a port with
// nothing listening, a server answering 503 SlowDown, one that never answers, one that stops mid-body.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { toS3Error } from '../../src/object-service/errors.js';
import { S3BlobStore, type S3BlobTuning } from '../../src/storage/blobs/s3/index.js';
import type { BlobStore } from '../../src/storage/blobs/types.js';
import { BackendUnavailable } from '../../src/storage/errors.js';
import { freePort } from '../helpers/upstreams.js';

const SECRET = `secret-${randomBytes(12).toString('hex')}`;
const MiB = 1024 * 1024;
const servers: Server[] = [];

after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function storeAt(endpoint: string, tuning: S3BlobTuning = {}): S3BlobStore {
  return new S3BlobStore(
    { endpoint, bucket: 'blobs', region: 'us-east-1', accessKey: 'gateway', secretKey: SECRET, pathStyle: true },
    { partSize: 5 * MiB, maxAttempts: 2, ...tuning },
  );
}

/** A real HTTP server answering every request with `handle`; counts requests. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ endpoint: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    handle(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

function s3ErrorBody(code: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message><RequestId>1</RequestId></Error>`;
}

/** Asserts a BackendUnavailable with `code` that names the endpoint and not the secret. */
function unavailable(code: 'ServiceUnavailable' | 'SlowDown', endpoint: string) {
  return (err: unknown): true => {
    assert.ok(err instanceof BackendUnavailable, `BackendUnavailable, not ${String(err)}`);
    assert.equal(err.status, 503);
    assert.equal(err.code, code);
    // The client's message names no address; the log's detail names the upstream, and neither the secret.
    assert.ok(!err.message.includes(endpoint), err.message);
    assert.ok(err.detail?.includes(`upstream ${endpoint} (bucket blobs)`), err.detail);
    assert.ok(![err.message, err.detail, String(err.stack)].some((t) => t?.includes(SECRET)), 'the secret key is not in the error');
    return true;
  };
}

async function writeAndFinish(store: BlobStore, size: number): Promise<number> {
  const writer = await store.createWriter();
  await pipeline(Readable.from([randomBytes(size)]), writer.stream).catch(() => {});
  return writer.finish();
}

async function listAll(store: BlobStore): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const blob of store.list()) out.push(blob);
  return out;
}

describe('s3 blob store: an upstream that is down, throttling or stalled', () => {
  it('nothing listening (connection refused): every operation is BackendUnavailable, remove() is quiet', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const store = storeAt(endpoint);
    try {
      const check = unavailable('ServiceUnavailable', endpoint);
      await assert.rejects(writeAndFinish(store, 1000), check);
      await assert.rejects(writeAndFinish(store, 6 * MiB), check, 'a multipart upload that cannot begin');
      const id = (await store.createWriter()).id;
      await assert.rejects(store.openRange(id, 0, 10), check);
      await assert.rejects(store.openReader(id, 0, 10), check);
      await assert.rejects(store.openRange(id, 0, 0), check);
      await assert.rejects(listAll(store), check);
      await assert.rejects(store.sweepLeftovers(new Date()), check);
      await store.remove([id]);
    } finally {
      await store.close();
    }
  });

  it('503 SlowDown on every request: SlowDown after exactly maxAttempts tries per request', async () => {
    const upstream = await serve((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end(s3ErrorBody('SlowDown'));
      });
    });
    const store = storeAt(upstream.endpoint, { maxAttempts: 3 });
    try {
      const check = unavailable('SlowDown', upstream.endpoint);
      await assert.rejects(writeAndFinish(store, 1000), check);
      assert.equal(upstream.requests.length, 3, 'three attempts of the PUT, no more');
      await assert.rejects(store.openRange((await store.createWriter()).id, 0, 10), check);
      assert.equal(upstream.requests.length, 6, 'three attempts of the GET');
      await assert.rejects(listAll(store), check);
    } finally {
      await store.close();
    }
  });

  it('500 InternalError is retried, then ServiceUnavailable; a success on the retry is a success', async () => {
    let failNext = 1;
    const upstream = await serve((req, res) => {
      req.resume();
      req.on('end', () => {
        if (failNext-- > 0) {
          res.writeHead(500, { 'content-type': 'application/xml' });
          res.end(s3ErrorBody('InternalError'));
          return;
        }
        res.writeHead(200, { etag: '"0"' });
        res.end();
      });
    });
    const store = storeAt(upstream.endpoint, { maxAttempts: 2 });
    try {
      assert.equal(await writeAndFinish(store, 1000), 1000, 'the second attempt stored it');
      assert.equal(upstream.requests.length, 2);
      failNext = 2;
      await assert.rejects(writeAndFinish(store, 1000), unavailable('ServiceUnavailable', upstream.endpoint));
      assert.equal(upstream.requests.length, 4);
    } finally {
      await store.close();
    }
  });

  it('an upstream that never answers: the request times out and is BackendUnavailable', async () => {
    const upstream = await serve((req) => req.resume());
    const store = storeAt(upstream.endpoint, { maxAttempts: 1, requestTimeoutMs: 500, idleTimeoutMs: 60_000 });
    try {
      const check = unavailable('ServiceUnavailable', upstream.endpoint);
      await assert.rejects(writeAndFinish(store, 1000), check);
      await assert.rejects(store.openReader((await store.createWriter()).id, 0, 10), check);
    } finally {
      await store.close();
    }
  });

  it('an upstream that stops in the middle of a body: the read fails with BackendUnavailable', async () => {
    const upstream = await serve((req, res) => {
      req.resume();
      res.writeHead(206, { 'content-length': '100', 'content-range': 'bytes 0-99/100' });
      res.write(Buffer.alloc(10, 1)); // and nothing more
    });
    const store = storeAt(upstream.endpoint, { maxAttempts: 1, idleTimeoutMs: 300 });
    try {
      const reader = await store.openReader((await store.createWriter()).id, 0, 100);
      const into = Buffer.alloc(100);
      let got = 0;
      await assert.rejects(
        async () => {
          for (let n = await reader.read(into); n > 0; n = await reader.read(into)) got += n;
        },
        unavailable('ServiceUnavailable', upstream.endpoint),
      );
      assert.equal(got, 10, 'the bytes that came were delivered');
      await reader.close();
    } finally {
      await store.close();
    }
  });

  it('the S3 layer answers BackendUnavailable as a retryable 503 with its code and message', () => {
    for (const slowDown of [false, true]) {
      const err = new BackendUnavailable('the blob store', { slowDown, detail: 'the upstream http://10.0.0.1:9000 (bucket b)' });
      const s3 = toS3Error(err);
      assert.equal(s3.status, 503);
      assert.equal(s3.code, slowDown ? 'SlowDown' : 'ServiceUnavailable');
      assert.equal(s3.message, err.message);
      assert.doesNotMatch(s3.message, /10\.0\.0\.1/);
    }
  });
});

describe('s3 blob store: options', () => {
  it('refuses a missing required option and a part size outside S3 limits', () => {
    const base = { endpoint: 'http://127.0.0.1:1', bucket: 'b', region: 'us-east-1', accessKey: 'a', secretKey: SECRET };
    assert.throws(() => new S3BlobStore({ ...base, bucket: '' }), /blobs\.s3\.bucket is required/);
    assert.throws(() => new S3BlobStore({ ...base, secretKey: '' }), /blobs\.s3\.secretKey is required/);
    assert.throws(() => new S3BlobStore(base, { partSize: 4 * MiB }), RangeError);
    assert.throws(() => new S3BlobStore(base, { partSize: 6 * 1024 * MiB }), RangeError);
    assert.equal(new S3BlobStore(base).kind, 's3');
  });
});
