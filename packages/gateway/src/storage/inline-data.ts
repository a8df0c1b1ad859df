// Small objects inline: a data writer that keeps what it is given in memory while it stays within the
// inline threshold, and moves to a blob only when it grows past it; and readers over inline bytes. Which
// data ends up inline is the object store's decision (object-store.ts): only a single-part object's one
// part; multipart parts always get a blob. Inline bytes are the same encrypted packages a blob would hold.
import { uniqueRandom } from '@kesgate/dare';
import { Readable, Writable } from 'node:stream';
import type { BlobWriter } from './blobs/types.js';
import { DataUnavailable } from './errors.js';
import type { PartReader } from './types.js';

/**
 * The threshold to configure for small objects inline: a 4 KiB object's package (4,096 + 32 bytes) fits, and
 * so does anything up to 8 KiB stored.
 */
export const RECOMMENDED_INLINE_THRESHOLD = 8192;

/**
 * `backend.inlineThreshold` when the config leaves it out: the recommended threshold, so small objects take one
 * metadata commit and no data file (a 4 KiB object's data file and its fsyncs cost more than its encryption).
 */
export const DEFAULT_INLINE_THRESHOLD = RECOMMENDED_INLINE_THRESHOLD;

/** The most a part may keep inline (a row of either database stays small). */
export const MAX_INLINE_THRESHOLD = 256 * 1024;

/**
 * An inline part's data id: unique like a blob id (data_id is UNIQUE), and never a blob's name (blob ids
 * are 32 hex digits), so nothing ever mistakes it for one.
 */
export function newInlineId(): string {
  return `inline-${uniqueRandom(16).toString('hex')}`;
}

/**
 * The stream of a data writer that may stay in memory: bytes are buffered up to `threshold`; the first
 * write past it opens a blob (`open`), hands it what was buffered and passes everything after straight on.
 */
export class MemoryFirstStream extends Writable {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private blob?: BlobWriter;
  /** The blob being opened: a stream destroyed meanwhile still gets it, so its owner can discard it. */
  private opening?: Promise<BlobWriter | undefined>;

  constructor(
    private readonly threshold: number,
    private readonly open: () => Promise<BlobWriter>,
  ) {
    super();
  }

  /** The blob it moved to, if it outgrew the threshold. */
  get spilled(): BlobWriter | undefined {
    return this.blob;
  }

  /**
   * The blob it moved to, once any open still under way has settled: what an abort must discard. Without the
   * wait, a stream destroyed while its blob was being opened would leave that blob's temp file behind.
   */
  async settledBlob(): Promise<BlobWriter | undefined> {
    await this.opening;
    return this.blob;
  }

  /** What it holds in memory (all of it while not spilled). */
  bytes(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
  }

  get size(): number {
    return this.buffered;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.blob && this.buffered + chunk.length <= this.threshold) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      callback();
      return;
    }
    if (this.blob) {
      this.forward(chunk, callback);
      return;
    }
    this.opening = this.open().then(
      (blob) => {
        this.blob = blob;
        if (this.destroyed) return blob; // its owner's abort discards it (settledBlob)
        blob.stream.on('error', (err) => this.destroy(err));
        const held = this.chunks;
        this.chunks = [];
        this.buffered = 0;
        for (const c of held) blob.stream.write(c);
        this.forward(chunk, callback);
        return blob;
      },
      (err: Error) => {
        callback(err);
        return undefined;
      },
    );
  }

  private forward(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.blob!.stream.write(chunk)) callback();
    else this.blob!.stream.once('drain', () => callback());
  }
}

/** A pull reader over bytes in memory: [start, endExclusive) of an inline part. */
export function inlineReader(dataId: string, bytes: Buffer, start: number, endExclusive: number): PartReader {
  let rest = inlineSlice(dataId, bytes, start, endExclusive);
  return {
    read(into: Buffer): Promise<number> {
      const n = Math.min(into.length, rest.length);
      rest.copy(into, 0, 0, n);
      rest = rest.subarray(n);
      return Promise.resolve(n);
    },
    close: () => Promise.resolve(),
  };
}

/** The same range as a stream. */
export function inlineRange(dataId: string, bytes: Buffer, start: number, endExclusive: number): Readable {
  const slice = inlineSlice(dataId, bytes, start, endExclusive);
  return Readable.from(slice.length > 0 ? [slice] : [], { objectMode: false });
}

function inlineSlice(dataId: string, bytes: Buffer, start: number, endExclusive: number): Buffer {
  if (endExclusive > bytes.length) throw new DataUnavailable(dataId, `the inline data holds ${bytes.length} bytes, not ${endExclusive}`);
  return bytes.subarray(start, endExclusive);
}
