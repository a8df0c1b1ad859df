// Round trips through the streams and the one-shot functions: sizes around every package edge, both
// ciphers, input in awkward chunk sizes, and the memory bound under backpressure.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, it } from 'node:test';
import {
  createDecryptStream,
  createEncryptStream,
  decryptBuffer,
  encryptBuffer,
  encryptedSize,
  ENC_PACKAGE_SIZE,
  ErrInvalidArgument,
  type CipherName,
} from '../src/index.js';
import { chunksOf, pseudoRandom, run } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const key = randomBytes(32);

describe('round trips', () => {
  const ciphers: CipherName[] = ['AES-256-GCM', 'ChaCha20-Poly1305'];
  const sizes = [0, 1, 65535, 65536, 65537, 3 * 65536, 1234567, 10 * MiB - 12345];
  for (const cipher of ciphers) {
    for (const n of sizes) {
      it(`${cipher}, ${n} bytes, in 7-byte, 100 KiB (and for small sizes 1-byte) chunks`, async () => {
        const pt = pseudoRandom(n, n + 1);
        const chunkings = n <= 65537 ? [1, 7, 100 * KiB] : n <= 3 * 65536 ? [7, 100 * KiB] : [100 * KiB, 1 * MiB];
        let reference: Buffer | null = null;
        for (const size of chunkings) {
          const enc = await run(createEncryptStream(key, { cipher }), chunksOf(pt, size));
          assert.equal(enc.error, null);
          assert.equal(enc.output.length, encryptedSize(n));
          reference ??= enc.output;
          // The encrypted stream re-cut into different odd sizes on the way back.
          for (const decSize of [size === 1 ? 1 : 13, 65569]) {
            if (n > 3 * 65536 && decSize < 1000) continue; // small cuts of a large stream only cost time
            const dec = await run(createDecryptStream(key), chunksOf(enc.output, decSize));
            assert.equal(dec.error, null);
            assert.ok(dec.output.equals(pt), `decrypt of ${n} bytes fed in ${decSize}-byte chunks`);
          }
        }
        // One-shot functions agree with the streams.
        assert.ok(decryptBuffer(key, reference as Buffer).equals(pt));
        assert.ok(decryptBuffer(key, encryptBuffer(key, pt, { cipher })).equals(pt));
      });
    }
  }

  it('uses a fresh random nonce per stream unless one is given', () => {
    const pt = Buffer.from('same plaintext');
    const a = encryptBuffer(key, pt);
    const b = encryptBuffer(key, pt);
    assert.notDeepEqual(a.subarray(4, 16), b.subarray(4, 16));
    const nonce = randomBytes(12);
    assert.deepEqual(encryptBuffer(key, pt, { nonce }), encryptBuffer(key, pt, { nonce }));
  });

  it('rejects keys and nonces of the wrong length', () => {
    assert.throws(() => createEncryptStream(Buffer.alloc(16)), ErrInvalidArgument);
    assert.throws(() => createDecryptStream(Buffer.alloc(31)), ErrInvalidArgument);
    assert.throws(() => encryptBuffer(key, Buffer.alloc(1), { nonce: Buffer.alloc(8) }), ErrInvalidArgument);
    assert.throws(() => createDecryptStream(key, { skip: -1 }), ErrInvalidArgument);
    assert.throws(() => createDecryptStream(key, { startSeq: 2 ** 32 }), ErrInvalidArgument);
  });
});

describe('backpressure', () => {
  // One 1 MiB input chunk is 16 packages; while nobody reads, the streams must not turn it all into output.
  it('the encrypt stream holds at most two packages while its reader is paused', async () => {
    const pt = pseudoRandom(MiB, 3);
    const enc = createEncryptStream(key);
    enc.write(pt);
    enc.end();
    for (let i = 0; i < 5; i++) await tick();
    assert.ok(enc.readableLength <= 2 * ENC_PACKAGE_SIZE, `buffered ${enc.readableLength} bytes`);
    const got: Buffer[] = [];
    for await (const c of enc) got.push(c as Buffer);
    assert.ok(decryptBuffer(key, Buffer.concat(got)).equals(pt));
  });

  it('the decrypt stream holds at most two packages while its reader is paused', async () => {
    const pt = pseudoRandom(MiB, 4);
    const dec = createDecryptStream(key);
    dec.write(encryptBuffer(key, pt));
    dec.end();
    for (let i = 0; i < 5; i++) await tick();
    assert.ok(dec.readableLength <= 2 * ENC_PACKAGE_SIZE, `buffered ${dec.readableLength} bytes`);
    const got: Buffer[] = [];
    for await (const c of dec) got.push(c as Buffer);
    assert.ok(Buffer.concat(got).equals(pt));
  });
});
