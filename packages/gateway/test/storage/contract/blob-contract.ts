// The BlobStore contract as tests, run once per implementation (blobs-fs.test.ts, blobs-s3-*.test.ts):
// what the object store above may rely on, whatever holds the bytes. Every test opens a fresh, empty store.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore, BlobWriter, StoredBlob } from '../../../src/storage/blobs/types.js';
import { DataUnavailable } from '../../../src/storage/errors.js';
import type { PartReader } from '../../../src/storage/types.js';

export interface BlobStoreFixture {
  /** A fresh store that holds no blobs. */
  store: BlobStore;
  /** Closes the store and removes everything it stored. */
  cleanup(): Promise<void>;
  /**
   * The size of a blob that takes the implementation's path for large blobs (s3: several upstream multipart
   * parts, with the store built with a small part size). Default: 3 MiB.
   */
  largeBlobSize?: number;
  /**
   * Leaves behind what a writer that crashed in the middle of a blob leaves (fs: a temp file; s3: an upstream
   * multipart upload begun and never completed), dated now. Absent where the backend cannot hold such a
   * thing; the sweep test is then skipped with `BlobContractOptions.noLeftovers` as the reason.
   */
  leaveLeftover?(): Promise<void>;
}

export interface BlobContractOptions {
  /** Skip the whole suite, with this reason (e.g. a server binary is missing). */
  skip?: string;
  /** Why the fixture has no leaveLeftover. */
  noLeftovers?: string;
  /**
   * Why the backend's dates for leftovers cannot be trusted (moto dates every multipart upload 2010): the
   * sweep test then checks only that old leftovers go, not that young ones stay.
   */
  leftoverDatesUnreliable?: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;
/** Read sizes for pull readers: a byte, odd, a page, one DARE package, more than most ranges. */
const READ_SIZES = [1, 7, 4096, 65568, MiB];

export function describeBlobStore(name: string, open: () => Promise<BlobStoreFixture>, options: BlobContractOptions = {}): void {
  /** Runs `fn` on a fresh store and cleans up whatever happens. */
  const withStore = async (fn: (store: BlobStore, fixture: BlobStoreFixture) => Promise<void>): Promise<void> => {
    const fixture = await open();
    try {
      await fn(fixture.store, fixture);
    } finally {
      await fixture.cleanup();
    }
  };

  describe(`blob store contract: ${name}`, { skip: options.skip ?? false }, () => {
    it('a finished blob reads back whole, and finish() resolves with its byte count', async () => {
      await withStore(async (store) => {
        const data = randomBytes(200_003);
        // Chunks of every size, so the store sees writes smaller and larger than its buffers.
        const writer = await store.createWriter();
        await pipeline(Readable.from(chunked(data, [1, 100, 65536, 3, 70_000])), writer.stream);
        assert.equal(await writer.finish(), data.length);
        assert.equal(await writer.finish(), data.length, 'finish() again answers the same');
        assert.deepEqual(await readRange(store, writer.id, 0, data.length), data);
        assert.deepEqual(await pullRange(store, writer.id, 0, data.length, 65568), data);
      });
    });

    it('reads any range through openRange and openReader, at any read size', async () => {
      await withStore(async (store) => {
        const data = randomBytes(300_000);
        const id = await writeBlob(store, data);
        const ranges: [number, number][] = [
          [0, 1],
          [1, 2],
          [65567, 65569],
          [100, 299_999],
          [65_000, 131_500],
          [299_999, 300_000],
          [0, 300_000],
          [150_000, 150_000],
          [300_000, 300_000],
        ];
        for (const [start, end] of ranges) {
          const want = data.subarray(start, end);
          assert.deepEqual(await readRange(store, id, start, end), want, `openRange [${start}, ${end})`);
          for (const size of READ_SIZES) {
            // Tiny reads only over ranges of up to a few packages: on fs each read is a system call, and
            // 300 000 of them take most of a minute without proving more than a few thousand do.
            if (end - start > size * 10_000) continue;
            assert.deepEqual(await pullRange(store, id, start, end, size), want, `openReader [${start}, ${end}) by ${size}`);
          }
        }
      });
    });

    it('a pull reader answers 0 at the end of its range, and again after that', async () => {
      await withStore(async (store) => {
        const data = randomBytes(10_000);
        const id = await writeBlob(store, data);
        const reader = await store.openReader(id, 1000, 3000);
        try {
          const into = Buffer.alloc(5000);
          let got = 0;
          for (let n = await reader.read(into); n > 0; n = await reader.read(into.subarray(got))) got += n;
          assert.deepEqual(into.subarray(0, got), data.subarray(1000, 3000));
          assert.equal(await reader.read(into), 0);
          assert.equal(await reader.read(into), 0);
        } finally {
          await reader.close();
        }
      });
    });

    it('an empty blob: finished with 0 bytes, listed with size 0, read as an empty range', async () => {
      await withStore(async (store) => {
        const writer = await store.createWriter();
        assert.equal(await writer.finish(), 0, 'finish() alone ends the stream');
        assert.deepEqual(await listAll(store), [{ id: writer.id, size: 0 }]);
        assert.deepEqual(await readRange(store, writer.id, 0, 0), Buffer.alloc(0));
        assert.deepEqual(await pullRange(store, writer.id, 0, 0, 100), Buffer.alloc(0));
        await assertUnavailable(store.openRange(writer.id, 0, 1), writer.id);
        await assertUnavailable(store.openReader(writer.id, 0, 1), writer.id);
      });
    });

    it('a large blob (past the threshold for large blobs) reads back whole and across its internal boundaries', async () => {
      await withStore(async (store, fixture) => {
        // Odd sizes, so the store's internal boundaries (parts) fall inside chunks rather than between them.
        const size = (fixture.largeBlobSize ?? 3 * MiB) + 12_345;
        const data = randomBytes(size);
        const writer = await store.createWriter();
        await pipeline(Readable.from(chunked(data, [MiB + 17, 333_333, 65568])), writer.stream);
        assert.equal(await writer.finish(), size);
        assert.deepEqual(await listAll(store), [{ id: writer.id, size }]);
        assert.ok((await pullRange(store, writer.id, 0, size, 8 * 65568)).equals(data), 'the whole blob through openReader');
        assert.ok((await readRange(store, writer.id, 0, size)).equals(data), 'the whole blob through openRange');
        for (let boundary = MiB; boundary < size; boundary += MiB) {
          const start = boundary - 10;
          const end = Math.min(size, boundary + 10);
          assert.deepEqual(await readRange(store, writer.id, start, end), data.subarray(start, end), `around byte ${boundary}`);
          assert.deepEqual(await pullRange(store, writer.id, start, end, 7), data.subarray(start, end), `around byte ${boundary}, pulled`);
        }
      });
    });

    it('finish() ends a stream the caller did not end', async () => {
      await withStore(async (store) => {
        const data = randomBytes(5000);
        const writer = await store.createWriter();
        await write(writer, data);
        assert.equal(await writer.finish(), data.length);
        assert.deepEqual(await readRange(store, writer.id, 0, data.length), data);
      });
    });

    it('abort() before finish leaves nothing listed or readable, for small and large blobs', async () => {
      await withStore(async (store, fixture) => {
        const kept = randomBytes(1000);
        const keptId = await writeBlob(store, kept);

        const small = await store.createWriter();
        await write(small, randomBytes(1000));
        await small.abort();

        const large = await store.createWriter();
        await write(large, randomBytes((fixture.largeBlobSize ?? 3 * MiB) + 1));
        await large.abort();
        await large.abort(); // idempotent

        // Ended by pipeline (as a request handler does) but given up on before finish().
        const ended = await store.createWriter();
        await pipeline(Readable.from([randomBytes(2000)]), ended.stream);
        await ended.abort();

        await assert.rejects(small.finish(), 'finish() after abort() fails');
        await assert.rejects(ended.finish(), 'finish() after abort() fails');
        assert.deepEqual(await listAll(store), [{ id: keptId, size: kept.length }]);
        for (const writer of [small, large, ended]) await assertUnavailable(store.openRange(writer.id, 0, 1), writer.id);
        assert.deepEqual(await readRange(store, keptId, 0, kept.length), kept, 'other blobs are untouched');
      });
    });

    it('abort() after finish() resolved is a no-op', async () => {
      await withStore(async (store) => {
        const data = randomBytes(3000);
        const writer = await store.createWriter();
        await write(writer, data);
        await writer.finish();
        await writer.abort();
        assert.deepEqual(await listAll(store), [{ id: writer.id, size: data.length }]);
        assert.deepEqual(await readRange(store, writer.id, 0, data.length), data);
      });
    });

    it('every writer gets a fresh, URL-safe id', async () => {
      await withStore(async (store) => {
        const writers = await Promise.all(Array.from({ length: 100 }, () => store.createWriter()));
        const ids = writers.map((w) => w.id);
        assert.equal(new Set(ids).size, ids.length, 'no id twice');
        for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{16,}$/, 'random, URL-safe');
        await Promise.all(writers.map((w) => w.abort()));
        assert.deepEqual(await listAll(store), []);
      });
    });

    it('remove() deletes the blobs named; unknown and malformed ids are quietly ignored', async () => {
      await withStore(async (store) => {
        const [a, b, c] = [randomBytes(10), randomBytes(20), randomBytes(30)];
        const ids = [await writeBlob(store, a), await writeBlob(store, b), await writeBlob(store, c)];
        const unknown = await neverWrittenId(store);
        await store.remove([ids[0]!, unknown, ids[1]!, 'not a blob id', '../escape']);
        assert.deepEqual(await listAll(store), [{ id: ids[2]!, size: c.length }]);
        await assertUnavailable(store.openRange(ids[0]!, 0, 1), ids[0]!);
        await assertUnavailable(store.openReader(ids[1]!, 0, 1), ids[1]!);
        await store.remove([ids[0]!, ids[1]!]); // removed already: quiet
        await store.remove([]);
        assert.deepEqual(await readRange(store, ids[2]!, 0, c.length), c);
      });
    });

    it('list() shows exactly the finished blobs, with their sizes and when they were written', async () => {
      await withStore(async (store) => {
        const before = Date.now();
        const sizes = [0, 1, 1000, 65568, 200_000];
        const want: { id: string; size: number }[] = [];
        for (const size of sizes) want.push({ id: await writeBlob(store, randomBytes(size)), size });
        // A writer still writing and one aborted are not stored blobs.
        const open = await store.createWriter();
        await write(open, randomBytes(500));
        const aborted = await store.createWriter();
        await write(aborted, randomBytes(500));
        await aborted.abort();

        const listed = await listWithDates(store);
        assert.deepEqual(
          listed.map(({ id, size }) => ({ id, size })),
          sortById(want),
        );
        for (const { modified } of listed) {
          assert.ok(modified instanceof Date && !Number.isNaN(modified.getTime()), 'modified is a date');
          // Upstream clocks and second-granular timestamps: only "today, not the epoch" is checked.
          assert.ok(Math.abs(modified.getTime() - before) < 3_600_000, `modified ${modified.toISOString()} is about now`);
        }
        await open.abort();
      });
    });

    it('a missing blob, a malformed id and a range past the end are DataUnavailable', async () => {
      await withStore(async (store) => {
        const data = randomBytes(1000);
        const id = await writeBlob(store, data);
        const unknown = await neverWrittenId(store);
        for (const open of [store.openRange.bind(store), store.openReader.bind(store)]) {
          await assertUnavailable(open(unknown, 0, 1), unknown);
          await assertUnavailable(open(unknown, 0, 0), unknown);
          await assertUnavailable(open('../../etc/passwd', 0, 1), '../../etc/passwd');
          await assertUnavailable(open(id, 0, 1001), id);
          await assertUnavailable(open(id, 999, 1001), id);
          await assertUnavailable(open(id, 1000, 1001), id);
          await assertUnavailable(open(id, 5000, 6000), id);
          await assertUnavailable(open(id, 1001, 1001), id);
        }
        assert.deepEqual(await readRange(store, id, 0, 1000), data, 'the blob itself is unchanged');
      });
    });

    it('an inverted or negative range is a RangeError (a bug in the caller)', async () => {
      await withStore(async (store) => {
        const id = await writeBlob(store, randomBytes(100));
        await assert.rejects(store.openRange(id, 10, 5), RangeError);
        await assert.rejects(store.openReader(id, -1, 5), RangeError);
      });
    });

    it('sweepLeftovers() with nothing left over removes nothing', async () => {
      await withStore(async (store) => {
        const data = randomBytes(100);
        const id = await writeBlob(store, data);
        assert.equal(await store.sweepLeftovers(new Date(Date.now() + 3_600_000)), 0);
        assert.deepEqual(await listAll(store), [{ id, size: 100 }]);
        assert.deepEqual(await readRange(store, id, 0, 100), data);
      });
    });

    it("sweepLeftovers() removes a crashed writer's leftovers once they are older than the bound", async (t) => {
      await withStore(async (store, fixture) => {
        if (!fixture.leaveLeftover) {
          t.skip(options.noLeftovers ?? 'the fixture cannot leave a crashed writer behind');
          return;
        }
        const data = randomBytes(1000);
        const id = await writeBlob(store, data);
        await fixture.leaveLeftover();
        if (options.leftoverDatesUnreliable) t.diagnostic(`not checked that a young leftover stays: ${options.leftoverDatesUnreliable}`);
        else assert.equal(await store.sweepLeftovers(new Date(Date.now() - 3_600_000)), 0, 'a young leftover stays');
        assert.equal(await store.sweepLeftovers(new Date(Date.now() + 3_600_000)), 1, 'an old one goes');
        assert.equal(await store.sweepLeftovers(new Date(Date.now() + 3_600_000)), 0, 'and is gone');
        assert.deepEqual(await listAll(store), [{ id, size: data.length }], 'finished blobs are not leftovers');
        assert.deepEqual(await readRange(store, id, 0, data.length), data);
      });
    });

    it('concurrent writers each store their own bytes', async () => {
      await withStore(async (store, fixture) => {
        const blobs = [
          randomBytes(0),
          randomBytes(1),
          randomBytes(70_000),
          randomBytes(300_001),
          randomBytes((fixture.largeBlobSize ?? 3 * MiB) + 99),
          randomBytes(65568),
          randomBytes(12_345),
          randomBytes(2 * MiB),
        ];
        const writers = await Promise.all(blobs.map(() => store.createWriter()));
        // Interleaved small writes from all writers at once.
        const sizes = await Promise.all(
          writers.map(async (writer, i) => {
            await pipeline(Readable.from(chunked(blobs[i]!, [4096 + i, 65536])), writer.stream);
            return writer.finish();
          }),
        );
        assert.deepEqual(
          sizes,
          blobs.map((b) => b.length),
        );
        assert.deepEqual(await listAll(store), sortById(writers.map((w, i) => ({ id: w.id, size: blobs[i]!.length }))));
        await Promise.all(
          writers.map(async (writer, i) => {
            assert.ok((await pullRange(store, writer.id, 0, blobs[i]!.length, 65568)).equals(blobs[i]!), `blob ${i}`);
          }),
        );
      });
    });
  });
}

// ------------------------------------------------------------------ helpers

/** Splits `data` into chunks cycling through `sizes`. */
function chunked(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    out.push(data.subarray(at, at + size));
    at += size;
  }
  return out;
}

/** Writes to the stream without ending it, waiting for each write to be accepted. */
async function write(writer: BlobWriter, data: Buffer): Promise<void> {
  for (const chunk of chunked(data, [MiB])) {
    await new Promise<void>((resolve, reject) => writer.stream.write(chunk, (err) => (err ? reject(err) : resolve())));
  }
}

async function writeBlob(store: BlobStore, data: Buffer): Promise<string> {
  const writer = await store.createWriter();
  await pipeline(Readable.from(data.length ? [data] : []), writer.stream);
  assert.equal(await writer.finish(), data.length);
  return writer.id;
}

/** An id of the store's own shape that names no blob: a writer's, aborted before it wrote anything. */
async function neverWrittenId(store: BlobStore): Promise<string> {
  const writer = await store.createWriter();
  await writer.abort();
  return writer.id;
}

async function readRange(store: BlobStore, id: string, start: number, end: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.openRange(id, start, end)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Pulls a range through openReader with a buffer of `size` bytes, copying out what each read filled. */
async function pullRange(store: BlobStore, id: string, start: number, end: number, size: number): Promise<Buffer> {
  const reader: PartReader = await store.openReader(id, start, end);
  const into = Buffer.alloc(size);
  const out: Buffer[] = [];
  try {
    for (let n = await reader.read(into); n > 0; n = await reader.read(into)) {
      assert.ok(n <= size, 'a read fills at most the buffer');
      out.push(Buffer.from(into.subarray(0, n)));
    }
  } finally {
    await reader.close();
  }
  return Buffer.concat(out);
}

async function listWithDates(store: BlobStore): Promise<StoredBlob[]> {
  const out: StoredBlob[] = [];
  for await (const blob of store.list()) out.push(blob);
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function listAll(store: BlobStore): Promise<{ id: string; size: number }[]> {
  return (await listWithDates(store)).map(({ id, size }) => ({ id, size }));
}

function sortById<T extends { id: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

async function assertUnavailable(promise: Promise<unknown>, id: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DataUnavailable, `DataUnavailable, not ${String(err)}`);
    assert.equal(err.dataId, id);
    return true;
  });
}
