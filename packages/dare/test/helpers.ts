// Test helpers: an independent, by-hand DARE 2.0 encoder built straight from the formulas of
// ../FORMAT.md (not from the package's code), and stream plumbing.
import { createCipheriv } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';

/** Encrypts `pt` exactly as FORMAT.md writes it down, one createCipheriv per package. */
export function handEncrypt(key: Buffer, nonce: Buffer, pt: Buffer, cipherByte: 0 | 1 = 0): Buffer {
  const algo = cipherByte === 0 ? 'aes-256-gcm' : 'chacha20-poly1305';
  const out: Buffer[] = [];
  const count = Math.ceil(pt.length / 65536);
  for (let i = 0; i < count; i++) {
    const body = pt.subarray(i * 65536, Math.min(pt.length, (i + 1) * 65536));
    const final = i === count - 1;
    const len1 = body.length - 1;
    const flagged = final ? (nonce[0] as number) | 0x80 : (nonce[0] as number) & 0x7f;
    const header = Buffer.from([0x20, cipherByte, len1 & 0xff, len1 >> 8, flagged, ...nonce.subarray(1, 12)]);
    const aeadNonce = Buffer.from(header.subarray(4, 16));
    const last4 =
      (aeadNonce[8] as number) | ((aeadNonce[9] as number) << 8) | ((aeadNonce[10] as number) << 16) | ((aeadNonce[11] as number) << 24);
    const x = (last4 ^ i) >>> 0;
    aeadNonce[8] = x & 0xff;
    aeadNonce[9] = (x >>> 8) & 0xff;
    aeadNonce[10] = (x >>> 16) & 0xff;
    aeadNonce[11] = (x >>> 24) & 0xff;
    const c = createCipheriv(algo as 'aes-256-gcm', key, aeadNonce, { authTagLength: 16 });
    c.setAAD(header.subarray(0, 4));
    out.push(header, c.update(body), c.final(), c.getAuthTag());
  }
  return Buffer.concat(out);
}

/** Cuts a buffer into chunks of `size` bytes (the last may be shorter). */
export function chunksOf(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < buf.length; o += size) out.push(buf.subarray(o, o + size));
  return out;
}

export interface RunResult {
  output: Buffer;
  error: Error | null;
}

/** Feeds `chunks` through `t` and collects everything it emitted, plus the error it failed with, if any. */
export function run(t: Transform, chunks: Buffer[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    let settled = false;
    const done = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      resolve({ output: Buffer.concat(got), error });
    };
    t.on('data', (b: Buffer) => got.push(b));
    t.on('end', () => done(null));
    t.on('error', (e) => done(e));
    const src = Readable.from(chunks, { objectMode: false });
    src.on('error', (e) => t.destroy(e));
    src.pipe(t);
  });
}

/** Deterministic pseudo-random bytes (xorshift), so a failing case can be reproduced. */
export function pseudoRandom(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
