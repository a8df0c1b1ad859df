// The blob store contract: encrypted bytes under fresh random ids, written once, read by range, removed
// when no metadata references them. It knows nothing of buckets, keys or S3 rules (the object store above
// owns those) and nothing of cryptography (it only ever sees ciphertext). Implementations: fs (a directory),
// s3 (an upstream bucket).
import type { Readable, Writable } from 'node:stream';
import type { PartReader } from '../types.js';

/**
 * Receives one blob. Write the bytes to `stream` (e.g. with stream.pipeline), then `finish()`: once it
 * resolves the blob is durable under `id` and may be referenced by metadata. `abort()` discards it
 * (idempotent; a no-op after finish() resolved — removing a finished blob is `BlobStore.remove`'s job).
 */
export interface BlobWriter {
  /** Fresh, random, never reused: a blob id never names two different byte strings. */
  readonly id: string;
  readonly stream: Writable;
  /** Ends the stream if needed and makes the blob durable; resolves with its byte count. */
  finish(): Promise<number>;
  abort(): Promise<void>;
}

/** A blob as the sweep sees it. */
export interface StoredBlob {
  id: string;
  size: number;
  /** When it was written: the sweep leaves young blobs alone (their metadata may be about to commit). */
  modified: Date;
}

export interface BlobStore {
  /** 'fs' or 's3', for status pages and logs (never a path or a credential). */
  readonly kind: string;
  createWriter(): Promise<BlobWriter>;
  /**
   * The bytes [start, endExclusive) of a blob. The blob is opened (or its first bytes requested) before
   * this resolves. → DataUnavailable when it does not exist or is shorter than endExclusive.
   */
  openRange(id: string, start: number, endExclusive: number): Promise<Readable>;
  /** The same range as a pull reader into the caller's buffer. → DataUnavailable */
  openReader(id: string, start: number, endExclusive: number): Promise<PartReader>;
  /** Removes blobs. Best effort: a blob that could not be removed is an orphan the next sweep finds. */
  remove(ids: readonly string[]): Promise<void>;
  /** Every stored blob, in no particular order (the sweep's input). */
  list(): AsyncIterable<StoredBlob>;
  /**
   * Removes what unfinished writers left behind (fs temp files, upstream multipart uploads never completed)
   * that started before `olderThan`; resolves with how many were removed.
   */
  sweepLeftovers(olderThan: Date): Promise<number>;
  close(): Promise<void>;
}
