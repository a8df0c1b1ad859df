// The decrypting half of the package stream, independent of Node streams: fed encrypted chunks in any
// sizes, it checks every rule of the format and emits a package's plaintext only after its tag verified.
import type { DecipherGCM, KeyObject } from 'node:crypto';
import { HEADER_SIZE, MAX_SEQ, NODE_CIPHERS, PACKAGE_SIZE, TAG_SIZE } from './constants.js';
import { ErrInvalidArgument, ErrInvalidRange, ErrTampered, ErrTruncated } from './errors.js';
import type { Emit } from './encoder.js';
import { createPackageDecipher, parseHeader, sameBaseNonce } from './package.js';

export interface DecryptOptions {
  /** Sequence number of the first package in the input (the package index within the stream). Default 0. */
  startSeq?: number;
  /** Plaintext bytes to drop from the start of the decrypted output. Default 0. */
  skip?: number;
  /**
   * Plaintext bytes to deliver after `skip`. When given, the input need not reach the final package;
   * once `length` bytes are out, the rest of the input is ignored (neither decrypted nor checked).
   * Without it the whole stream must be present, up to and including its final package.
   */
  length?: number;
}

type State = 'header' | 'body' | 'tag' | 'after-final' | 'satisfied' | 'failed';

export class PackageDecoder {
  private state: State = 'header';
  private readonly hdr = Buffer.allocUnsafe(HEADER_SIZE);
  private hdrLen = 0;
  private readonly tag = Buffer.allocUnsafe(TAG_SIZE);
  private tagLen = 0;
  /** Header of the first package read: the cipher and base nonce every later package must repeat. */
  private ref: Buffer | null = null;
  private decipher: DecipherGCM | null = null;
  private final = false;
  private bodyLeft = 0;
  private outs: Buffer[] = [];
  private seq: number;
  private skip: number;
  private remaining: number;
  private readonly ranged: boolean;
  /** Full-stream mode holds the final package back until the input ends, so appended bytes release nothing. */
  private held: Buffer[] = [];

  constructor(
    private readonly key: Buffer | KeyObject,
    opts: DecryptOptions,
    private readonly emit: Emit,
  ) {
    this.seq = checkCount(opts.startSeq ?? 0, 'startSeq');
    if (this.seq > MAX_SEQ) throw new ErrInvalidArgument(`startSeq ${this.seq} does not fit in 32 bits`);
    this.skip = checkCount(opts.skip ?? 0, 'skip');
    this.ranged = opts.length !== undefined;
    this.remaining = opts.length === undefined ? Infinity : checkCount(opts.length, 'length');
    if (this.remaining === 0) this.state = 'satisfied';
  }

  /** Takes input from `chunk[off..]`; returns the offset it got to. Stops after each package. Call with off < length. */
  consume(chunk: Buffer, off: number): number {
    try {
      return this.step(chunk, off);
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }

  /** End of input: releases a held final package, or throws if the stream is incomplete. */
  finish(): void {
    const state = this.state;
    this.state = 'failed';
    if (state === 'satisfied') return;
    if (state === 'after-final') {
      if (this.skip > 0) throw new ErrInvalidRange(`skip reaches ${this.skip} bytes past the end of the stream`);
      for (const b of this.held) this.emit(b);
      this.held = [];
      return;
    }
    if (state === 'header' && this.hdrLen === 0 && this.ref === null && this.seq === 0 && !this.ranged) {
      if (this.skip > 0) throw new ErrInvalidRange(`skip of ${this.skip} bytes on an empty stream`);
      return; // no packages at all: the encryption of an empty plaintext
    }
    if (state === 'failed') throw new ErrTampered('the stream already failed');
    const where = state === 'header' && this.hdrLen === 0 ? `before package ${this.seq}` : `inside package ${this.seq}`;
    throw new ErrTruncated(
      this.ranged
        ? `the encrypted data ended ${where}, ${this.remaining} bytes short of the requested range`
        : `the encrypted data ended ${where}, before a final package`,
    );
  }

  private step(chunk: Buffer, off: number): number {
    const avail = chunk.length - off;
    switch (this.state) {
      case 'satisfied':
        return chunk.length;
      case 'after-final':
        throw new ErrTampered(`${avail} or more bytes follow the final package (package ${this.seq - 1})`);
      case 'failed':
        throw new ErrTampered('the stream already failed');
      case 'header': {
        if (this.hdrLen === 0 && avail >= HEADER_SIZE) {
          this.startPackage(chunk.subarray(off, off + HEADER_SIZE));
          return off + HEADER_SIZE;
        }
        const n = Math.min(HEADER_SIZE - this.hdrLen, avail);
        chunk.copy(this.hdr, this.hdrLen, off, off + n);
        this.hdrLen += n;
        if (this.hdrLen === HEADER_SIZE) {
          this.hdrLen = 0;
          this.startPackage(this.hdr);
        }
        return off + n;
      }
      case 'body': {
        // Ciphertext goes through the cipher as it arrives (no reassembly copy); the plaintext pieces
        // wait in `outs` until the tag has been checked.
        const n = Math.min(this.bodyLeft, avail);
        const piece = off === 0 && n === chunk.length ? chunk : chunk.subarray(off, off + n);
        this.outs.push((this.decipher as DecipherGCM).update(piece));
        this.bodyLeft -= n;
        if (this.bodyLeft === 0) this.state = 'tag';
        return off + n;
      }
      case 'tag': {
        if (this.tagLen === 0 && avail >= TAG_SIZE) {
          this.endPackage(chunk.subarray(off, off + TAG_SIZE));
          return off + TAG_SIZE;
        }
        const n = Math.min(TAG_SIZE - this.tagLen, avail);
        chunk.copy(this.tag, this.tagLen, off, off + n);
        this.tagLen += n;
        if (this.tagLen === TAG_SIZE) {
          this.tagLen = 0;
          this.endPackage(this.tag);
        }
        return off + n;
      }
    }
  }

  private startPackage(h: Buffer): void {
    const seq = this.seq;
    if (seq > MAX_SEQ) throw new ErrTampered(`more than 2^32 packages in one stream`);
    const info = parseHeader(h, seq);
    if (this.ref === null) {
      this.ref = Buffer.from(h);
    } else {
      if (h[1] !== this.ref[1]) {
        throw new ErrTampered(
          `package ${seq}: cipher changed from ${NODE_CIPHERS[this.ref[1] as number]} to ${NODE_CIPHERS[info.cipher]} mid-stream`,
        );
      }
      if (!sameBaseNonce(h, this.ref))
        throw new ErrTampered(`package ${seq}: nonce differs from the stream's (a package of another stream was spliced in)`);
    }
    if (!info.final && info.length !== PACKAGE_SIZE) {
      throw new ErrTampered(`package ${seq}: not final but carries ${info.length} bytes (non-final packages carry ${PACKAGE_SIZE})`);
    }
    this.final = info.final;
    this.bodyLeft = info.length;
    this.decipher = createPackageDecipher(this.key, h, seq);
    this.state = 'body';
  }

  private endPackage(tag: Buffer): void {
    const d = this.decipher as DecipherGCM;
    this.decipher = null;
    d.setAuthTag(tag);
    try {
      const rest = d.final();
      if (rest.length > 0) this.outs.push(rest);
    } catch {
      this.outs = [];
      throw new ErrTampered(`package ${this.seq} failed authentication: the data was modified or reordered, or this is not its key`);
    }
    this.seq++;
    const outs = this.outs;
    this.outs = [];
    this.deliver(outs);
  }

  private deliver(outs: Buffer[]): void {
    const keep = this.final && !this.ranged;
    for (let b of outs) {
      if (this.remaining === 0) break;
      if (this.skip >= b.length) {
        this.skip -= b.length;
        continue;
      }
      if (this.skip > 0) {
        b = b.subarray(this.skip);
        this.skip = 0;
      }
      if (b.length > this.remaining) b = b.subarray(0, this.remaining);
      this.remaining -= b.length;
      if (keep) this.held.push(b);
      else this.emit(b);
    }
    if (this.ranged && this.remaining === 0) this.state = 'satisfied';
    else if (this.final) {
      if (this.ranged) {
        throw new ErrInvalidRange(`the requested range reaches ${this.remaining + this.skip} bytes past the end of the stream`);
      }
      this.state = 'after-final';
    } else this.state = 'header';
  }
}

function checkCount(v: number, name: string): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new ErrInvalidArgument(`${name} must be a non-negative integer, got ${v}`);
  return v;
}
