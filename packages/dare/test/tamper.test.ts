// Tampering: every bit of a small stream, every truncation, reordered, duplicated, dropped, spliced and
// appended packages, and malformed headers — each rejected with a typed error, and nothing unauthenticated
// ever comes out of the stream.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  createDecryptStream,
  decryptBuffer,
  encryptBuffer,
  ENC_PACKAGE_SIZE,
  ErrTampered,
  ErrTruncated,
  PACKAGE_SIZE,
} from '../src/index.js';
import { chunksOf, pseudoRandom, run } from './helpers.js';

const key = randomBytes(32);

/** Asserts that both the one-shot and the stream reject `data`, and that the stream emits at most `allowed` (authentic) bytes. */
async function assertRejected(
  data: Buffer,
  errorClass: typeof ErrTampered,
  allowed: Buffer = Buffer.alloc(0),
  chunk = 4096,
): Promise<Error> {
  assert.throws(() => decryptBuffer(key, data), errorClass);
  const got = await run(createDecryptStream(key), chunksOf(data, chunk));
  assert.ok(got.error instanceof errorClass, `stream error ${String(got.error)}`);
  assert.ok(got.output.equals(allowed), `stream emitted ${got.output.length} bytes, expected ${allowed.length} authentic bytes`);
  return got.error;
}

function flipBit(b: Buffer, bit: number): Buffer {
  const c = Buffer.from(b);
  const i = bit >> 3;
  c[i] = (c[i] as number) ^ (1 << (bit & 7));
  return c;
}

function pkg(stream: Buffer, i: number): Buffer {
  return stream.subarray(i * ENC_PACKAGE_SIZE, Math.min(stream.length, (i + 1) * ENC_PACKAGE_SIZE));
}

describe('a one-package stream of 100 bytes', () => {
  const pt = pseudoRandom(100, 9);
  for (const cipher of ['AES-256-GCM', 'ChaCha20-Poly1305'] as const) {
    const enc = encryptBuffer(key, pt, { cipher });
    it(`${cipher}: every flipped bit is rejected, with no output`, async () => {
      assert.equal(enc.length, 132);
      for (let bit = 0; bit < enc.length * 8; bit++) {
        const bad = flipBit(enc, bit);
        assert.throws(() => decryptBuffer(key, bad), ErrTampered, `bit ${bit}`);
        const got = await run(createDecryptStream(key), [bad]);
        assert.ok(got.error instanceof ErrTampered, `bit ${bit}: ${String(got.error)}`);
        assert.equal(got.output.length, 0, `bit ${bit}`);
      }
    });
  }

  const enc = encryptBuffer(key, pt);
  it('every truncation is rejected as ErrTruncated, with no output', async () => {
    for (let len = 1; len < enc.length; len++) {
      await assertRejected(enc.subarray(0, len), ErrTruncated, Buffer.alloc(0), 7);
    }
  });

  it('decodes zero bytes as the empty plaintext (callers check the stored size: see FORMAT.md)', () => {
    assert.equal(decryptBuffer(key, Buffer.alloc(0)).length, 0);
  });

  it('appended bytes are rejected, and the final package is not released', async () => {
    await assertRejected(Buffer.concat([enc, Buffer.from([0])]), ErrTampered);
    await assertRejected(Buffer.concat([enc, enc]), ErrTampered);
    // Appended in a later chunk than the final package: still nothing released.
    const got = await run(createDecryptStream(key), [enc, Buffer.from('x')]);
    assert.ok(got.error instanceof ErrTampered);
    assert.equal(got.output.length, 0);
  });

  it('the wrong key is rejected', async () => {
    assert.throws(() => decryptBuffer(randomBytes(32), enc), /failed authentication/);
  });

  it('unknown version and cipher bytes are rejected by name', async () => {
    const v = Buffer.from(enc);
    v[0] = 0x10;
    assert.match((await assertRejected(v, ErrTampered)).message, /unknown version/);
    const c = Buffer.from(enc);
    c[1] = 0x02;
    assert.match((await assertRejected(c, ErrTampered)).message, /unknown cipher/);
  });
});

describe('a three-package stream', () => {
  const pt = pseudoRandom(2 * PACKAGE_SIZE + 100, 11);
  const enc = encryptBuffer(key, pt);
  const [p0, p1, p2] = [pkg(enc, 0), pkg(enc, 1), pkg(enc, 2)];
  const first = pt.subarray(0, PACKAGE_SIZE);

  it('decrypts intact (control)', () => {
    assert.ok(decryptBuffer(key, enc).equals(pt));
  });

  it('swapped packages are rejected; only authentic packages before the damage come out', async () => {
    await assertRejected(Buffer.concat([p1, p0, p2]), ErrTampered);
    await assertRejected(Buffer.concat([p0, p2, p1]), ErrTampered, first);
  });

  it('a duplicated package is rejected', async () => {
    await assertRejected(Buffer.concat([p0, p0, p1, p2]), ErrTampered, first);
    await assertRejected(Buffer.concat([p0, p1, p1, p2]), ErrTampered, pt.subarray(0, 2 * PACKAGE_SIZE));
  });

  it('a dropped package is rejected', async () => {
    await assertRejected(Buffer.concat([p0, p2]), ErrTampered, first);
    await assertRejected(Buffer.concat([p0, p1]), ErrTruncated, pt.subarray(0, 2 * PACKAGE_SIZE));
  });

  it('a package spliced in from another stream under the same key is rejected as a nonce change', async () => {
    const other = encryptBuffer(key, pseudoRandom(2 * PACKAGE_SIZE + 100, 12));
    const err = await assertRejected(Buffer.concat([p0, pkg(other, 1), p2]), ErrTampered, first);
    assert.match(err.message, /nonce/);
  });

  it('a package from a stream with the same nonce but another key is rejected', async () => {
    const nonce = Buffer.from(enc.subarray(4, 16));
    const other = encryptBuffer(randomBytes(32), pseudoRandom(2 * PACKAGE_SIZE + 100, 13), { nonce });
    await assertRejected(Buffer.concat([p0, pkg(other, 1), p2]), ErrTampered, first);
  });

  it('a cipher change mid-stream is rejected', async () => {
    const c = Buffer.from(enc);
    c[ENC_PACKAGE_SIZE + 1] = 0x01;
    assert.match((await assertRejected(c, ErrTampered, first)).message, /cipher changed/);
  });

  it('a short non-final package is rejected before decryption', async () => {
    const c = Buffer.from(enc);
    c.writeUInt16LE(99, 2); // package 0 now claims 100 bytes but is not final
    assert.match((await assertRejected(c, ErrTampered)).message, /not final/);
  });

  it('a damaged middle package releases nothing of it', async () => {
    const c = flipBit(enc, (ENC_PACKAGE_SIZE + 5000) * 8);
    await assertRejected(c, ErrTampered, first, 1000);
  });

  it('a final flag set on the first package is rejected', async () => {
    const c = Buffer.from(enc);
    c[4] = (c[4] as number) | 0x80;
    await assertRejected(c, ErrTampered);
  });

  it('truncation at each package boundary and inside each package is ErrTruncated', async () => {
    for (const len of [ENC_PACKAGE_SIZE, 2 * ENC_PACKAGE_SIZE, 16, ENC_PACKAGE_SIZE + 20, enc.length - 1, enc.length - 16]) {
      const authentic = pt.subarray(0, Math.floor(len / ENC_PACKAGE_SIZE) * PACKAGE_SIZE);
      await assertRejected(enc.subarray(0, len), ErrTruncated, authentic, 5000);
    }
  });
});
