// The encrypting half of the package stream, independent of Node streams: fed input chunks, it emits
// header, ciphertext and tag of each package. Used by createEncryptStream and encryptBuffer.
import type { KeyObject } from 'node:crypto';
import { PACKAGE_SIZE } from './constants.js';
import { createPackageCipher, encodeHeader } from './package.js';

export type Emit = (chunk: Buffer) => void;

export class PackageEncoder {
  // Small input is gathered here; a full package of input arriving in one chunk is sealed straight from it.
  private readonly acc = Buffer.allocUnsafe(PACKAGE_SIZE);
  private accLen = 0;
  // A full package whose fate is still open: it is the final one only if no more input follows,
  // and the final flag is part of its nonce, so it cannot be sealed before that is known.
  private held: Buffer | null = null;
  private seq = 0;

  constructor(
    private readonly key: Buffer | KeyObject,
    private readonly cipher: number,
    private readonly baseNonce: Buffer,
    private readonly emit: Emit,
  ) {}

  /**
   * Takes input from `chunk[off..]` and returns the offset it got to. It stops right after sealing
   * a package, so the caller can pause on backpressure between packages. Call only with off < length.
   */
  consume(chunk: Buffer, off: number): number {
    if (this.held !== null || this.accLen === PACKAGE_SIZE) {
      // More input exists, so the waiting full package is not the last one.
      this.seal(this.held ?? this.acc, false);
      this.held = null;
      this.accLen = 0;
      return off;
    }
    const avail = chunk.length - off;
    if (this.accLen === 0 && avail >= PACKAGE_SIZE) {
      this.held = chunk.subarray(off, off + PACKAGE_SIZE);
      return off + PACKAGE_SIZE;
    }
    const n = Math.min(PACKAGE_SIZE - this.accLen, avail);
    chunk.copy(this.acc, this.accLen, off, off + n);
    this.accLen += n;
    return off + n;
  }

  /** End of input: seals the last package with the final flag. Empty input gives no package at all. */
  finish(): void {
    if (this.held !== null) this.seal(this.held, true);
    else if (this.accLen > 0) this.seal(this.acc.subarray(0, this.accLen), true);
    this.held = null;
    this.accLen = 0;
  }

  private seal(plaintext: Buffer, final: boolean): void {
    const header = encodeHeader(this.cipher, plaintext.length, this.baseNonce, final);
    const c = createPackageCipher(this.key, header, this.seq);
    const ct = c.update(plaintext);
    c.final();
    this.seq++;
    // Three chunks instead of one concatenated package: saves copying 64 KiB per package;
    // writable sinks (files, sockets) gather them again with writev.
    this.emit(header);
    this.emit(ct);
    this.emit(c.getAuthTag());
  }
}
