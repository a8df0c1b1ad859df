// The s3 blob store against moto_server: the blob store contract (without and with a key prefix, with
// foreign objects in the bucket), and what only an upstream bucket shows — opaque names, multipart uploads
// aborted on abort() and on failure, bounded memory when the upstream stalls, DeleteObjects batches.
//
// moto's quirks: it checks no signatures (any credentials work); it enforces S3's 5 MiB minimum for all
// but the last part at CompleteMultipartUpload; it reports every multipart upload as initiated at the same
// fixed date in 2010, so on moto an age-bounded sweep of leftovers takes young ones too; it ignores
// max-uploads (ListMultipartUploads answers in one page).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { BackendUnavailable } from '../../src/storage/errors.js';
import type { BlobWriter } from '../../src/storage/blobs/types.js';
import { describeBlobStore } from './contract/blob-contract.js';
import { openS3Fixture, SMALL_PART } from '../helpers/s3-blob-fixture.js';
import { motoMissing, startFaultProxy, startMoto, type Upstream } from '../helpers/upstreams.js';

const skip = motoMissing();
let moto: Upstream;
before(async () => {
  if (!skip) moto = await startMoto();
});
after(async () => {
  await moto?.close();
});

// moto answers ListMultipartUploads with a fixed Initiated date (2010-11-10T20:48:33Z) for every upload.
const leftoverDatesUnreliable = 'moto dates every multipart upload 2010-11-10';
describeBlobStore('s3 on moto', () => openS3Fixture(moto, { leftovers: true }), { skip, leftoverDatesUnreliable });
describeBlobStore(
  's3 on moto, with a prefix and foreign objects in the bucket',
  () => openS3Fixture(moto, { prefix: 'kesgate/blobs/', decoys: { multipart: true }, leftovers: true }),
  { skip, leftoverDatesUnreliable },
);

describe('s3 blob store on moto: the upstream side', { skip }, () => {
  it('the upstream holds exactly the blobs, named prefix + id, and nothing else of the gateway', async () => {
    const fixture = await openS3Fixture(moto, { prefix: 'kg/', leftovers: true });
    try {
      const blobs = [randomBytes(0), randomBytes(1000), randomBytes(2 * SMALL_PART + 1)];
      const ids: string[] = [];
      for (const data of blobs) ids.push(await writeBlob(fixture.store.createWriter(), data));
      const objects = (await moto.client.send(new ListObjectsV2Command({ Bucket: fixture.bucket }))).Contents ?? [];
      assert.deepEqual(
        objects.map((o) => ({ key: o.Key, size: o.Size })).sort((a, b) => (a.key! < b.key! ? -1 : 1)),
        ids.map((id, i) => ({ key: `kg/${id}`, size: blobs[i]!.length })).sort((a, b) => (a.key < b.key ? -1 : 1)),
      );
      assert.deepEqual(await uploadsIn(fixture.bucket), [], 'no multipart upload is left open');
    } finally {
      await fixture.cleanup();
    }
  });

  it('a blob of up to one part is one PUT; a larger one goes up in parts of the part size, never in one request', async () => {
    const proxy = await startFaultProxy(moto.endpoint, () => 'forward');
    const fixture = await openS3Fixture(moto, { store: { endpoint: proxy.endpoint }, leftovers: true });
    try {
      /** The upstream writes that storing a blob of `size` bytes took. */
      const writes = async (size: number): Promise<string[]> => {
        proxy.requests.length = 0;
        const data = randomBytes(size);
        const id = await writeBlob(fixture.store.createWriter(), data);
        assert.ok((await read(fixture.store.openRange(id, 0, size))).equals(data));
        return proxy.requests.flatMap(({ method, url, length }) => {
          if (method === 'POST' && url.searchParams.has('uploads')) return ['create'];
          if (method === 'POST' && url.searchParams.has('uploadId')) return ['complete'];
          if (method === 'PUT' && url.searchParams.has('partNumber')) return [`part ${url.searchParams.get('partNumber')}: ${length}`];
          if (method === 'PUT') return [`put: ${length}`];
          return [];
        });
      };
      assert.deepEqual(await writes(0), ['put: 0']);
      assert.deepEqual(await writes(SMALL_PART), [`put: ${SMALL_PART}`]);
      assert.deepEqual(await writes(SMALL_PART + 1), ['create', `part 1: ${SMALL_PART}`, 'part 2: 1', 'complete']);
      // Parts 1 and 2 travel at once, so their order upstream may vary.
      const three = await writes(2 * SMALL_PART + 10);
      assert.deepEqual([...three].sort(), ['complete', 'create', `part 1: ${SMALL_PART}`, `part 2: ${SMALL_PART}`, 'part 3: 10'].sort());
      assert.equal(three[0], 'create');
      assert.equal(three.at(-1), 'complete');
    } finally {
      await fixture.cleanup();
      await proxy.close();
    }
  });

  it('abort() in the middle of a multipart upload aborts it upstream', async () => {
    const fixture = await openS3Fixture(moto, { leftovers: true });
    try {
      const writer = await fixture.store.createWriter();
      // A write is accepted once its part is under way: after it, the upload exists upstream.
      await write(writer, randomBytes(SMALL_PART + 1));
      assert.equal((await uploadsIn(fixture.bucket)).length, 1, 'the multipart upload was begun');
      await writer.abort();
      assert.deepEqual(await uploadsIn(fixture.bucket), []);
      assert.deepEqual(await keysIn(fixture.bucket), []);
    } finally {
      await fixture.cleanup();
    }
  });

  for (const [what, failing] of [
    ['a part upload', (method: string, url: URL) => method === 'PUT' && url.searchParams.get('partNumber') === '2'],
    ['the completion', (method: string, url: URL) => method === 'POST' && url.searchParams.has('uploadId')],
  ] as const) {
    it(`an upstream 5xx on ${what} fails finish() with BackendUnavailable after retries and aborts the upload`, async () => {
      const proxy = await startFaultProxy(moto.endpoint, (method, url) =>
        failing(method, url) ? { status: 500, code: 'InternalError' } : 'forward',
      );
      const fixture = await openS3Fixture(moto, { store: { endpoint: proxy.endpoint }, tuning: { maxAttempts: 2 }, leftovers: true });
      try {
        const writer = await fixture.store.createWriter();
        // The failure reaches the writer's stream (so pipeline() rejects) and finish().
        await assert.rejects(pipeline(Readable.from([randomBytes(2 * SMALL_PART + 10)]), writer.stream), BackendUnavailable);
        await assert.rejects(writer.finish(), (err: unknown) => {
          assert.ok(err instanceof BackendUnavailable, String(err));
          assert.equal(err.status, 503);
          assert.equal(err.code, 'ServiceUnavailable');
          assert.match(err.detail ?? '', new RegExp(`upstream ${proxy.endpoint}`));
          return true;
        });
        const failed = proxy.requests.filter((r) => failing(r.method, r.url));
        assert.equal(failed.length, 2, 'the failing request was tried maxAttempts times, no more');
        assert.ok(
          proxy.requests.some((r) => r.method === 'DELETE' && r.url.searchParams.has('uploadId')),
          'AbortMultipartUpload was sent',
        );
        assert.deepEqual(await uploadsIn(fixture.bucket), [], 'nothing is left upstream');
        assert.deepEqual(await keysIn(fixture.bucket), []);
        await assert.rejects(fixture.store.openRange(writer.id, 0, 1), { name: 'DataUnavailable' });
      } finally {
        await fixture.cleanup();
        await proxy.close();
      }
    });
  }

  it('a stalled upstream stops the writer from accepting bytes: it holds a bounded number of parts', async () => {
    const proxy = await startFaultProxy(moto.endpoint, (method, url) =>
      method === 'PUT' && url.searchParams.has('partNumber') ? 'stall' : 'forward',
    );
    const fixture = await openS3Fixture(moto, { store: { endpoint: proxy.endpoint }, leftovers: true });
    try {
      const writer = await fixture.store.createWriter();
      let accepted = 0;
      const chunk = randomBytes(256 * 1024);
      const limit = 20 * SMALL_PART;
      // Writes one chunk at a time, each once the previous one was accepted, up to `limit`.
      const writing = (async () => {
        while (accepted < limit) {
          await new Promise<void>((resolve, reject) => writer.stream.write(chunk, (err) => (err ? reject(err) : resolve())));
          accepted += chunk.length;
        }
      })().catch(() => {});
      await proxy.whenStalled(2);
      // Wait until the writer stops accepting (it is stuck on the stalled uploads, or it took everything).
      for (let last = -1; last !== accepted;) {
        last = accepted;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      // Two parts in flight, one filling, and the write that found no free slot.
      assert.ok(accepted <= 3 * SMALL_PART + chunk.length, `accepted ${accepted} bytes while the upstream stalled`);
      assert.equal(proxy.stalled, 2, 'no more than two part uploads at once');
      await writer.abort();
      await writing;
      assert.deepEqual(await uploadsIn(fixture.bucket), [], 'abort() aborted the upload despite the stalled parts');
    } finally {
      await fixture.cleanup();
      await proxy.close();
    }
  });

  it('remove() deletes in batches of at most 1000 keys', async () => {
    const proxy = await startFaultProxy(moto.endpoint, () => 'forward');
    const fixture = await openS3Fixture(moto, { store: { endpoint: proxy.endpoint }, leftovers: true });
    try {
      const ids = [
        await writeBlob(fixture.store.createWriter(), randomBytes(10)),
        await writeBlob(fixture.store.createWriter(), randomBytes(20)),
      ];
      const kept = await writeBlob(fixture.store.createWriter(), randomBytes(30));
      // 2500 ids, most never written, with the real ones in the first and the last batch.
      const unknown = Array.from({ length: 2498 }, () => randomBytes(16).toString('hex'));
      await fixture.store.remove([ids[0]!, ...unknown, ids[1]!]);
      assert.equal(proxy.requests.filter((r) => r.method === 'POST' && r.url.searchParams.has('delete')).length, 3);
      assert.deepEqual(await keysIn(fixture.bucket), [kept]);
    } finally {
      await fixture.cleanup();
      await proxy.close();
    }
  });

  // Paging of ListMultipartUploads is tested on kesgate: moto ignores max-uploads and answers one page.
  it('list() follows the upstream listing across pages', async () => {
    const proxy = await startFaultProxy(moto.endpoint, () => 'forward');
    const fixture = await openS3Fixture(moto, {
      prefix: 'p/',
      store: { endpoint: proxy.endpoint },
      tuning: { listPageSize: 2 },
      decoys: { multipart: false },
      leftovers: true,
    });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await writeBlob(fixture.store.createWriter(), randomBytes(i)));
      proxy.requests.length = 0;
      const listed: string[] = [];
      for await (const blob of fixture.store.list()) listed.push(blob.id);
      assert.deepEqual(listed.sort(), [...ids].sort());
      assert.ok(proxy.requests.filter((r) => r.url.searchParams.get('list-type') === '2').length >= 3, 'several pages');
    } finally {
      await fixture.cleanup();
      await proxy.close();
    }
  });

  it("sweepLeftovers() never takes the multipart upload of this process's own writer, whatever date the upstream gives it", async () => {
    const fixture = await openS3Fixture(moto, { leftovers: true });
    try {
      const writer = await fixture.store.createWriter();
      const first = randomBytes(SMALL_PART + 1);
      await write(writer, first);
      assert.equal((await uploadsIn(fixture.bucket)).length, 1, 'the multipart upload was begun');
      // Every upload counts as old here (moto dates them 2010 anyway): only the writer's liveness protects it.
      assert.equal(await fixture.store.sweepLeftovers(new Date(Date.now() + 3_600_000)), 0);
      const rest = randomBytes(1000);
      writer.stream.end(rest);
      assert.equal(await writer.finish(), first.length + rest.length);
      assert.deepEqual(await read(fixture.store.openRange(writer.id, 0, first.length + rest.length)), Buffer.concat([first, rest]));
      assert.deepEqual(await uploadsIn(fixture.bucket), []);
    } finally {
      await fixture.cleanup();
    }
  });

  it('sweepLeftovers() leaves uploads outside the prefix and under names that are not blob ids', async () => {
    const fixture = await openS3Fixture(moto, { prefix: 'p/', decoys: { multipart: true }, leftovers: true });
    try {
      await fixture.leaveLeftover!();
      assert.equal((await uploadsIn(fixture.bucket)).length, 3);
      assert.equal(await fixture.store.sweepLeftovers(new Date(Date.now() + 3_600_000)), 1);
      const left = await uploadsIn(fixture.bucket);
      assert.equal(left.length, 2);
      assert.ok(left.some((k) => k.startsWith('other/')) && left.includes('p/not-an-id'), left.join(', '));
      assert.deepEqual((await keysIn(fixture.bucket)).sort(), [...fixture.decoys].sort(), 'the foreign objects are untouched');
    } finally {
      await fixture.cleanup();
    }
  });
});

async function writeBlob(writer: Promise<BlobWriter>, data: Buffer): Promise<string> {
  const w = await writer;
  await pipeline(Readable.from(data.length ? [data] : []), w.stream);
  assert.equal(await w.finish(), data.length);
  return w.id;
}

async function read(stream: Promise<Readable>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function write(writer: BlobWriter, data: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => writer.stream.write(data, (err) => (err ? reject(err) : resolve())));
}

async function uploadsIn(bucket: string): Promise<string[]> {
  const out = await moto.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (out.Uploads ?? []).map((u) => u.Key!);
}

async function keysIn(bucket: string): Promise<string[]> {
  const out = await moto.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key!);
}
