// decryptPull: the pull-based decryption over one reused read buffer gives exactly what the one-shot and
// stream decryptions give (whole streams, ranges, both ciphers, any read sizes), never keeps a reference to
// the read buffer (each read scribbles over all of it first), fails like the stream on damage without
// releasing the damaged package, and issues no read while a write is pending.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import {
  decryptBuffer,
  decryptPull,
  encryptBuffer,
  ENC_PACKAGE_SIZE,
  ErrTampered,
  ErrTruncated,
  mapRange,
  type CipherName,
  type DecryptOptions,
} from '../src/index.js';
import { pseudoRandom } from './helpers.js';

const key = randomBytes(32);

/** A reader over `data` that returns `sizes` bytes per call in turn, after filling the whole buffer with junk. */
function reader(data: Buffer, sizes: number[]): (into: Buffer) => Promise<number> {
  let at = 0;
  let call = 0;
  return async (into) => {
    into.fill(0xa5);
    const want = Math.min(sizes[call++ % sizes.length]!, into.length, data.length - at);
    data.copy(into, 0, at, at + want);
    at += want;
    return want;
  };
}

async function pull(
  data: Buffer,
  opts: DecryptOptions,
  sizes: number[],
  bufferSize?: number,
): Promise<{ out: Buffer; chunks: number; error?: Error }> {
  const parts: Buffer[] = [];
  try {
    await decryptPull(key, opts, reader(data, sizes), (p) => void parts.push(Buffer.from(p)), bufferSize);
    return { out: Buffer.concat(parts), chunks: parts.length };
  } catch (e) {
    return { out: Buffer.concat(parts), chunks: parts.length, error: e as Error };
  }
}

describe('decryptPull', () => {
  const ciphers: CipherName[] = ['AES-256-GCM', 'ChaCha20-Poly1305'];
  for (const cipher of ciphers) {
    it(`${cipher}: whole streams of every edge size equal decryptBuffer, for odd read sizes and buffers`, async () => {
      for (const n of [0, 1, 65535, 65536, 65537, 3 * 65536 + 7]) {
        const pt = pseudoRandom(n, n + 3);
        const enc = encryptBuffer(key, pt, { cipher });
        for (const sizes of [[ENC_PACKAGE_SIZE * 8], [1, 7, 65569], [100_000]]) {
          for (const bufferSize of [undefined, 17, ENC_PACKAGE_SIZE]) {
            const r = await pull(enc, {}, sizes, bufferSize);
            assert.equal(r.error, undefined, `${n} bytes, reads ${sizes}, buffer ${bufferSize}`);
            assert.ok(r.out.equals(pt), `${n} bytes, reads ${sizes}, buffer ${bufferSize}`);
          }
        }
      }
    });
  }

  it('ranges mapped by mapRange equal decryptBuffer with the same options', async () => {
    const n = 5 * 65536 + 123;
    const pt = pseudoRandom(n, 11);
    const enc = encryptBuffer(key, pt);
    for (const [offset, length] of [
      [0, 1],
      [65535, 2],
      [65536, 65536],
      [100_000, 200_000],
      [n - 1, 1],
      [0, n],
    ] as const) {
      const [seg] = mapRange(offset, length, [{ plainSize: n }]);
      const slice = enc.subarray(seg!.encOffset, seg!.encOffset + seg!.encLength);
      const opts = { startSeq: seg!.startSeq, skip: seg!.skip, length: seg!.take };
      const r = await pull(slice, opts, [9999]);
      assert.equal(r.error, undefined);
      assert.ok(r.out.equals(pt.subarray(offset, offset + length)), `range ${offset}+${length}`);
      assert.ok(r.out.equals(decryptBuffer(key, slice, opts)));
    }
  });

  it('a flipped bit fails with ErrTampered and releases nothing of the damaged package or after it', async () => {
    const pt = pseudoRandom(4 * 65536, 5);
    const enc = encryptBuffer(key, pt);
    const bad = Buffer.from(enc);
    bad[2 * ENC_PACKAGE_SIZE + 100]! ^= 1; // inside package 2
    const r = await pull(bad, {}, [ENC_PACKAGE_SIZE]);
    assert.ok(r.error instanceof ErrTampered, String(r.error));
    assert.ok(r.out.length <= 2 * 65536, 'at most the two verified packages before it');
    assert.ok(r.out.equals(pt.subarray(0, r.out.length)));
  });

  it('a truncated stream fails with ErrTruncated; the final package is not released early', async () => {
    const pt = pseudoRandom(2 * 65536 + 10, 6);
    const enc = encryptBuffer(key, pt);
    const r = await pull(enc.subarray(0, enc.length - 1), {}, [ENC_PACKAGE_SIZE]);
    assert.ok(r.error instanceof ErrTruncated || r.error instanceof ErrTampered, String(r.error));
    assert.ok(r.out.length <= 2 * 65536);
    const cut = await pull(enc.subarray(0, 2 * ENC_PACKAGE_SIZE), {}, [ENC_PACKAGE_SIZE]);
    assert.ok(cut.error instanceof ErrTruncated, String(cut.error));
  });

  it('reads at most one buffer ahead of a slow writer (backpressure), and never into the buffer being decrypted', async () => {
    const pt = pseudoRandom(20 * 65536, 7);
    const enc = encryptBuffer(key, pt);
    let readsSinceWriteStarted = 0;
    let maxAhead = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    let writes = 0;
    const read = reader(enc, [ENC_PACKAGE_SIZE]);
    const out: Buffer[] = [];
    await decryptPull(
      key,
      {},
      async (into) => {
        readsSinceWriteStarted++;
        if (writes > 0) maxAhead = Math.max(maxAhead, readsSinceWriteStarted);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await tick(); // a read that takes a while, as a file read does
        inFlight--;
        return read(into);
      },
      async (p) => {
        writes++;
        readsSinceWriteStarted = 0;
        out.push(Buffer.from(p));
        for (let i = 0; i < 3; i++) await tick(); // slower than the reads
      },
      ENC_PACKAGE_SIZE,
    );
    assert.ok(Buffer.concat(out).equals(pt));
    assert.equal(maxInFlight, 1, 'one read in flight at a time');
    assert.equal(maxAhead, 1, 'however slow the writer, one read runs ahead of it');
  });

  it('a failure waits for the read in flight before it returns', async () => {
    const enc = Buffer.from(encryptBuffer(key, pseudoRandom(4 * 65536, 8)));
    enc[10]! ^= 1; // package 0 is damaged
    let inFlight = 0;
    const read = reader(enc, [ENC_PACKAGE_SIZE]);
    await assert.rejects(
      decryptPull(
        key,
        {},
        async (into) => {
          inFlight++;
          await tick();
          await tick();
          const n = await read(into);
          inFlight--;
          return n;
        },
        () => {},
        ENC_PACKAGE_SIZE,
      ),
      ErrTampered,
    );
    assert.equal(inFlight, 0);
  });
});
