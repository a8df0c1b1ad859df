// Writes one blob to the upstream bucket. Bytes are buffered up to one part: a blob that ends within it goes
// up as one PUT; a larger one becomes a multipart upload whose parts are sent while the next one fills, at
// most PARTS_IN_FLIGHT at a time, so a writer holds at most (PARTS_IN_FLIGHT + 1) parts in memory however
// slow the upstream is (the stream stops accepting bytes until a part upload finishes). Failure or abort()
// aborts the multipart upload; what a crash leaves is found by sweepLeftovers().
//
// Size limits: every upstream request carries at most one part (PART_SIZE by default), never a whole blob.
// So a client part of exactly 5 GiB, whose ciphertext exceeds S3's 5 GiB limit for one PUT or one part by
// the package overhead, is simply a few more of our parts; 10,000 parts of 16 MiB allow blobs of 156 GiB.
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BlobWriter } from '../types.js';
import type { UpstreamErrors } from './errors.js';
import { MAX_PARTS } from '../../../s3/multipart-limits.js';

const MiB = 1024 * 1024;

/**
 * The single-PUT comfort size and the multipart part size. 16 MiB: per-request overhead is negligible at this
 * size and a failed request repeats little, a 5 GiB blob needs ~320 of the 10,000 parts S3 allows, and a
 * writer holds about three parts (48 MiB) at most, so a gateway's memory grows with the number of concurrent
 * uploads, never with their size.
 */
export const PART_SIZE = 16 * MiB;
/** Concurrent part uploads per writer: one part travels while the next fills, and one more for latency. */
export const PARTS_IN_FLIGHT = 2;

export interface WriterTarget {
  client: S3Client;
  bucket: string;
  /** The upstream key: the store's prefix + the blob id. */
  key: string;
  partSize: number;
  errors: UpstreamErrors;
}

export class S3BlobWriter implements BlobWriter {
  readonly stream: Writable;
  /** Bytes accepted and not yet cut into a part. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  private written = 0;
  /** The multipart upload's id once one was started (a blob larger than one part). */
  private upload?: Promise<string>;
  private nextPart = 1;
  private readonly parts: CompletedPart[] = [];
  /** Part uploads under way; they never reject (a failure is kept in `failure`). */
  private readonly inFlight = new Set<Promise<void>>();
  private failure?: Error;
  /** The whole blob is stored upstream (PutObject or CompleteMultipartUpload answered). */
  private stored = false;
  /** finish() resolved: the blob belongs to the caller now, abort() no longer touches it. */
  private done = false;
  private aborted = false;
  private finishing?: Promise<number>;
  /** The final upload (PUT, or last part and completion) once the stream ended. */
  private storing?: Promise<void>;
  private discarding?: Promise<void>;
  /** Cancels the large requests (part and object bodies) when the writer is torn down. */
  private readonly cancel = new AbortController();

  constructor(
    readonly id: string,
    private readonly target: WriterTarget,
  ) {
    this.stream = new Writable({
      highWaterMark: 256 * 1024,
      write: (chunk: Buffer, _encoding, callback) => {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        this.written += chunk.length;
        // A part is cut only once more than a part is buffered: a blob of exactly one part is still one PUT.
        if (this.buffered <= target.partSize) return callback();
        this.sendFullParts().then(() => callback(), callback);
      },
      final: (callback) => {
        this.storing = this.storeRest();
        this.storing.then(() => callback(), callback);
      },
      destroy: (err, callback) => {
        // discard() never rejects (parts in flight record their failure instead); the stream's error is err.
        void this.discard();
        callback(err);
      },
    });
    // The error surfaces from finish(); without a listener it would crash the process when the caller
    // writes without pipeline().
    this.stream.on('error', () => {});
  }

  finish(): Promise<number> {
    this.finishing ??= this.settle();
    return this.finishing;
  }

  async abort(): Promise<void> {
    if (this.done || this.aborted) return;
    this.aborted = true;
    this.stream.destroy();
    await this.discard();
    await this.finishing?.catch(() => {});
    await this.storing?.catch(() => {});
    // The stream was ended (by pipeline) and the blob fully stored before the caller gave up on it.
    if (this.stored) await this.deleteQuietly();
  }

  private async settle(): Promise<number> {
    if (!this.aborted && !this.stream.writableEnded && !this.stream.destroyed) this.stream.end();
    try {
      await finished(this.stream);
    } catch (err) {
      // Resolve only once the upload is aborted upstream: the caller may check, or retry at once.
      await this.discard();
      throw this.aborted ? this.abortedError() : (this.failure ?? err);
    }
    if (this.aborted || !this.stored) throw this.abortedError();
    this.done = true;
    return this.written;
  }

  private abortedError(): Error {
    return new Error(`blob writer ${this.id} was aborted`);
  }

  private async sendFullParts(): Promise<void> {
    while (this.buffered > this.target.partSize) await this.sendPart(this.take(this.target.partSize));
  }

  /** The stream ended: one PUT for a blob within one part, else the last part and the completion. */
  private async storeRest(): Promise<void> {
    const { client, bucket, key } = this.target;
    if (!this.upload) {
      const body = this.take(this.buffered);
      await client
        .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }), {
          abortSignal: this.cancel.signal,
        })
        .catch((err: unknown) => this.fail('PutObject', err));
    } else {
      if (this.buffered > 0) await this.sendPart(this.take(this.buffered));
      await Promise.all([...this.inFlight]);
      if (this.failure) throw this.failure;
      const uploadId = await this.upload;
      const parts = [...this.parts].sort((a, b) => a.PartNumber! - b.PartNumber!);
      await client
        .send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }))
        .catch((err: unknown) => this.fail('CompleteMultipartUpload', err));
    }
    this.stored = true;
  }

  /** Starts one part upload once a slot is free; resolves when it is under way (that is the backpressure). */
  private async sendPart(body: Buffer): Promise<void> {
    const { client, bucket, key, errors } = this.target;
    this.upload ??= client
      .send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }))
      .then((out) => {
        if (!out.UploadId) throw new Error('the upstream answered CreateMultipartUpload without an UploadId');
        return out.UploadId;
      })
      .catch((err: unknown) => this.fail('CreateMultipartUpload', err));
    const uploadId = await this.upload;
    while (this.inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    if (this.cancel.signal.aborted) throw this.abortedError();
    const partNumber = this.nextPart++;
    if (partNumber > MAX_PARTS) {
      throw this.fail('UploadPart', new Error(`a blob of more than ${MAX_PARTS} parts of ${this.target.partSize} bytes`));
    }
    const upload: Promise<void> = client
      .send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
        { abortSignal: this.cancel.signal },
      )
      .then(
        (out) => {
          this.parts.push({ PartNumber: partNumber, ETag: out.ETag });
        },
        (err: unknown) => {
          this.failure ??= errors.map('UploadPart', err);
        },
      )
      .finally(() => this.inFlight.delete(upload));
    this.inFlight.add(upload);
  }

  /** Maps an upstream failure, keeps the first one, and throws it. */
  private fail(operation: string, err: unknown): never {
    this.failure ??= this.target.errors.map(operation, err);
    throw this.failure;
  }

  /** Exactly `n` buffered bytes as one buffer. */
  private take(n: number): Buffer {
    if (n === this.buffered && this.chunks.length <= 1) {
      const whole = this.chunks[0] ?? Buffer.alloc(0);
      this.chunks = [];
      this.buffered = 0;
      return whole;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    let used = 0;
    while (at < n) {
      const chunk = this.chunks[used]!;
      const k = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, k);
      at += k;
      if (k === chunk.length) used++;
      else this.chunks[used] = chunk.subarray(k);
    }
    this.chunks.splice(0, used);
    this.buffered -= n;
    return out;
  }

  /**
   * Tears down what is under way (idempotent): cancels part uploads and aborts the multipart upload, best
   * effort — an upload that could not be aborted is what sweepLeftovers() removes.
   */
  private discard(): Promise<void> {
    this.discarding ??= (async () => {
      this.cancel.abort();
      this.chunks = [];
      this.buffered = 0;
      await Promise.all([...this.inFlight]);
      const uploadId = await this.upload?.catch(() => undefined);
      if (uploadId && !this.stored) {
        const { client, bucket, key } = this.target;
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => {});
      }
    })();
    return this.discarding;
  }

  private async deleteQuietly(): Promise<void> {
    const { client, bucket, key } = this.target;
    // A blob that cannot be deleted is an orphan: the sweep of unreferenced blobs removes it.
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => {});
  }
}
