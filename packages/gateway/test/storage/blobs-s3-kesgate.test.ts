// The s3 blob store against a second kesgate (real kes, real gateway, fs backend) as the upstream, over its
// HTTPS listener with its own CA (`ca` given as PEM text and as a file path) and path-style addressing: the
// blob store contract, and the errors an operator meets when the credentials or the CA are wrong.
//
// kesgate's quirks as an upstream: it checks SigV4 signatures (wrong credentials are refused, as by AWS);
// DeleteObjects needs an integrity checksum (the SDK sends one even with 'WHEN_REQUIRED'); parts below 5 MiB
// but the last are refused (EntityTooSmall), as by AWS.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tls from 'node:tls';
import { CreateBucketCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { BlobUpstreamError, S3BlobStore } from '../../src/storage/blobs/s3/index.js';
import { BackendUnavailable } from '../../src/storage/errors.js';
import { describeBlobStore } from './contract/blob-contract.js';
import { openS3Fixture } from '../helpers/s3-blob-fixture.js';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { startFaultProxy, type Upstream } from '../helpers/upstreams.js';

let stack: Stack;
let upstream: Upstream;
let bucketCounter = 0;

before(async () => {
  stack = await startStack();
  upstream = {
    endpoint: stack.gw.httpsUrl!,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    region: 'us-east-1',
    client: stack.s3tls,
    async newBucket() {
      const bucket = `upstream-${++bucketCounter}`;
      await stack.s3tls.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    close: async () => {},
  };
});
after(async () => {
  await stack?.close();
});

describeBlobStore('s3 on a second kesgate (HTTPS, CA as PEM text)', () =>
  openS3Fixture(upstream, { store: { ca: stack.caPem, pathStyle: true }, leftovers: true }),
);
describeBlobStore('s3 on a second kesgate (HTTPS, CA as a file, a prefix and foreign objects)', () =>
  openS3Fixture(upstream, {
    prefix: 'gw1/',
    store: { ca: join(stack.dir, 'ca.crt'), pathStyle: true },
    decoys: { multipart: true },
    leftovers: true,
  }),
);

describe('s3 blob store on a second kesgate: listing leftovers across pages', () => {
  it('sweepLeftovers() follows ListMultipartUploads across pages and takes only blob uploads under the prefix', async () => {
    const proxy = await startFaultProxy(stack.gw.url, () => 'forward');
    const fixture = await openS3Fixture(upstream, {
      prefix: 'p/',
      store: { endpoint: proxy.endpoint, ca: stack.caPem },
      tuning: { listPageSize: 2 },
      decoys: { multipart: true },
      leftovers: true,
    });
    try {
      for (let i = 0; i < 5; i++) await fixture.leaveLeftover!();
      assert.equal(await fixture.store.sweepLeftovers(new Date(Date.now() - 3_600_000)), 0, 'young uploads stay');
      proxy.requests.length = 0;
      assert.equal(await fixture.store.sweepLeftovers(new Date(Date.now() + 3_600_000)), 5);
      assert.ok(proxy.requests.filter((r) => r.method === 'GET' && r.url.searchParams.has('uploads')).length >= 3, 'several pages');
      const left = (await stack.s3tls.send(new ListMultipartUploadsCommand({ Bucket: fixture.bucket }))).Uploads ?? [];
      assert.deepEqual(
        left.map((u) => u.Key!.startsWith('other/') || u.Key === 'p/not-an-id'),
        [true, true],
        'the foreign uploads remain',
      );
    } finally {
      await fixture.cleanup();
      await proxy.close();
    }
  });
});

describe("s3 blob store on a second kesgate: TLS with the operator's CA", () => {
  it('builds its TLS context once: concurrent requests on new connections parse no certificate again', async () => {
    const store = new S3BlobStore({
      endpoint: stack.gw.httpsUrl!,
      bucket: await upstream.newBucket(),
      region: 'us-east-1',
      accessKey: ACCESS_KEY,
      secretKey: SECRET_KEY,
      pathStyle: true,
      ca: stack.caPem,
    });
    // Counted through the module object that Node's HTTPS agent and tls.connect call.
    const { connect, createSecureContext } = tls;
    let connections = 0;
    let contexts = 0;
    tls.connect = ((...args: Parameters<typeof connect>) => (connections++, connect(...args))) as typeof connect;
    tls.createSecureContext = (options) => (contexts++, createSecureContext(options));
    try {
      const listings = Array.from({ length: 6 }, async () => {
        const blobs: string[] = [];
        for await (const blob of store.list()) blobs.push(blob.id);
        return blobs;
      });
      assert.deepEqual(
        await Promise.all(listings),
        Array.from({ length: 6 }, () => []),
      );
    } finally {
      tls.connect = connect;
      tls.createSecureContext = createSecureContext;
      await store.close();
    }
    assert.ok(connections > 1, `the listings opened ${connections} connection(s)`);
    assert.equal(contexts, 0, `${connections} connections built ${contexts} TLS contexts`);
  });
});

describe('s3 blob store on a second kesgate: what the operator sees when it is misconfigured', () => {
  /** `ca: null`: no CA given (the upstream's certificate then needs a public root). */
  const storeWith = async (overrides: { secretKey?: string; ca?: null }): Promise<S3BlobStore> =>
    new S3BlobStore(
      {
        endpoint: stack.gw.httpsUrl!,
        bucket: await upstream.newBucket(),
        region: 'us-east-1',
        accessKey: ACCESS_KEY,
        secretKey: overrides.secretKey ?? SECRET_KEY,
        pathStyle: true,
        ...(overrides.ca === null ? {} : { ca: stack.caPem }),
      },
      { maxAttempts: 1 },
    );

  it('a wrong secret key: a configuration error naming what to check, not a retryable one, and the key is nowhere', async () => {
    const wrongSecret = `wrong-${randomBytes(12).toString('hex')}`;
    const store = await storeWith({ secretKey: wrongSecret });
    try {
      const writer = await store.createWriter();
      await pipeline(Readable.from([randomBytes(100)]), writer.stream).catch(() => {});
      const err = await writer.finish().then(
        () => assert.fail('finish() succeeded with a wrong secret key'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof BlobUpstreamError, String(err));
      assert.ok(!(err instanceof BackendUnavailable));
      assert.match(err.message, /SignatureDoesNotMatch/);
      assert.match(err.message, /check blobs\.s3\.accessKey and blobs\.s3\.secretKey/);
      assert.match(err.message, new RegExp(`upstream ${stack.gw.httpsUrl!}`));
      for (const shown of [err.message, String(err.stack), inspect(store, { depth: 10 }), JSON.stringify(store)]) {
        assert.ok(!shown.includes(wrongSecret), 'the secret key appears in no message and no dump of the store');
      }
      await assert.rejects(
        (async () => {
          for await (const blob of store.list()) void blob;
        })(),
        BlobUpstreamError,
      );
    } finally {
      await store.close();
    }
  });

  it('an HTTPS upstream whose CA is not given: a configuration error that says to set blobs.s3.ca', async () => {
    const store = await storeWith({ ca: null });
    try {
      await assert.rejects(
        (async () => {
          for await (const blob of store.list()) void blob;
        })(),
        (err: unknown) => {
          assert.ok(err instanceof BlobUpstreamError, String(err));
          assert.match(err.message, /set blobs\.s3\.ca/);
          return true;
        },
      );
    } finally {
      await store.close();
    }
  });

  it('a CA file that does not exist is refused when the store is made', () => {
    assert.throws(
      () =>
        new S3BlobStore({
          endpoint: stack.gw.httpsUrl!,
          bucket: 'b',
          region: 'us-east-1',
          accessKey: ACCESS_KEY,
          secretKey: SECRET_KEY,
          ca: join(stack.dir, 'no-such-ca.pem'),
        }),
      /blobs\.s3\.ca: cannot read the CA certificate file .*no-such-ca\.pem/,
    );
  });
});
