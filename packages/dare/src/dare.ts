// DARE 2.0 package streams: Node Transform streams for large data, one-shot functions for small data.
import type { Transform } from 'node:stream';
import { ChunkedTransform } from './chunked-transform.js';
import { ENC_PACKAGE_SIZE, NONCE_SIZE, type CipherName } from './constants.js';
import { PackageDecoder, type DecryptOptions } from './decoder.js';
import { PackageEncoder } from './encoder.js';
import { checkKey, checkNonce, cipherIdOf } from './package.js';
import { encryptedSize } from './size.js';
import { uniqueRandom } from './unique-random.js';

export type { DecryptOptions } from './decoder.js';

export interface EncryptOptions {
  /** The stream's 12-byte base nonce; random when omitted. Its top bit is replaced by the final flag. */
  nonce?: Buffer;
  /** Default AES-256-GCM. */
  cipher?: CipherName;
}

function makeEncoder(key: Buffer, opts: EncryptOptions, emit: (b: Buffer) => void): PackageEncoder {
  checkKey(key);
  const nonce = opts.nonce ?? uniqueRandom(NONCE_SIZE);
  checkNonce(nonce);
  // Copies: the caller may reuse its buffers while the stream still runs.
  return new PackageEncoder(Buffer.from(key), cipherIdOf(opts.cipher ?? 'AES-256-GCM'), Buffer.from(nonce), emit);
}

function makeDecoder(key: Buffer, opts: DecryptOptions, emit: (b: Buffer) => void): PackageDecoder {
  checkKey(key);
  return new PackageDecoder(Buffer.from(key), opts, emit);
}

class EncryptStream extends ChunkedTransform {
  private readonly encoder: PackageEncoder;
  constructor(key: Buffer, opts: EncryptOptions) {
    super();
    this.encoder = makeEncoder(key, opts, (b) => this.push(b));
  }
  protected consume(chunk: Buffer, off: number): number {
    return this.encoder.consume(chunk, off);
  }
  protected finish(): void {
    this.encoder.finish();
  }
}

class DecryptStream extends ChunkedTransform {
  private readonly decoder: PackageDecoder;
  constructor(key: Buffer, opts: DecryptOptions) {
    super();
    this.decoder = makeDecoder(key, opts, (b) => this.push(b));
  }
  protected consume(chunk: Buffer, off: number): number {
    return this.decoder.consume(chunk, off);
  }
  protected finish(): void {
    this.decoder.finish();
  }
}

/** Plaintext in, DARE 2.0 package stream out. */
export function createEncryptStream(key: Buffer, opts: EncryptOptions = {}): Transform {
  return new EncryptStream(key, opts);
}

/**
 * Package stream in, plaintext out. Each package's plaintext is released only after its tag verified;
 * any violation of the format fails the stream with ErrTampered (ErrTruncated when data is missing).
 * For a range read pass the first package's sequence number, the bytes to drop and the bytes to deliver.
 */
export function createDecryptStream(key: Buffer, opts: DecryptOptions = {}): Transform {
  return new DecryptStream(key, opts);
}

/**
 * Pull-based decryption: reads the package stream through `read` into two buffers that are reused for the
 * whole stream (the decoder copies what it keeps), one read ahead of the one being decrypted, and hands each
 * verified plaintext chunk to `write`, awaiting it (backpressure: at most one read runs ahead of the writes).
 * Same checks and errors as createDecryptStream, without a buffer allocated per read, so a server streaming
 * large objects makes half the garbage of a stream pipeline. `read` resolves with the bytes it put at the start
 * of the buffer, 0 at the end of the input.
 */
export async function decryptPull(
  key: Buffer,
  opts: DecryptOptions,
  read: (into: Buffer) => Promise<number>,
  write: (plaintext: Buffer) => Promise<void> | void,
  bufferSize = 8 * ENC_PACKAGE_SIZE,
): Promise<void> {
  const ready: Buffer[] = [];
  const decoder = makeDecoder(key, opts, (b) => ready.push(b));
  const buffers = [Buffer.allocUnsafe(bufferSize), Buffer.allocUnsafe(bufferSize)] as const;
  const release = async (): Promise<void> => {
    for (let i = 0; i < ready.length; i++) await write(ready[i]!);
    ready.length = 0;
  };
  let which = 0;
  let pending = read(buffers[0]);
  try {
    for (;;) {
      const n = await pending;
      if (n === 0) break;
      const current = buffers[which]!;
      which ^= 1;
      // The next read fills the other buffer while this one is decrypted and written.
      pending = read(buffers[which]!);
      const chunk = n === current.length ? current : current.subarray(0, n);
      for (let off = 0; off < n;) off = decoder.consume(chunk, off);
      await release();
    }
    decoder.finish();
    await release();
  } finally {
    // A failure leaves a read in flight: let it settle before the caller closes what it reads from.
    await pending.catch(() => 0);
  }
}

/** One-shot encryption for small data (sealed keys, tests). */
export function encryptBuffer(key: Buffer, plaintext: Buffer, opts: EncryptOptions = {}): Buffer {
  const out = Buffer.allocUnsafe(encryptedSize(plaintext.length));
  let at = 0;
  const enc = makeEncoder(key, opts, (b) => {
    at += b.copy(out, at);
  });
  let off = 0;
  while (off < plaintext.length) off = enc.consume(plaintext, off);
  enc.finish();
  return out;
}

/** One-shot decryption for small data; throws like createDecryptStream and returns nothing unauthenticated. */
export function decryptBuffer(key: Buffer, data: Buffer, opts: DecryptOptions = {}): Buffer {
  const parts: Buffer[] = [];
  const dec = makeDecoder(key, opts, (b) => parts.push(b));
  let off = 0;
  while (off < data.length) off = dec.consume(data, off);
  dec.finish();
  return Buffer.concat(parts);
}
