// The s3 blob store: encrypted blobs as objects of an upstream S3-compatible bucket, named prefix + blob id.
// The upstream sees only ciphertext under random names; every bucket, key and S3 rule of the gateway lives
// in its metadata store.
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DataUnavailable } from '../../errors.js';
import type { PartReader } from '../../types.js';
import type { BlobStore, BlobWriter, StoredBlob } from '../types.js';
import { isBlobId, newBlobId } from '../blob-id.js';
import { createUpstreamClient, describeEndpoint, type S3BlobStoreOptions, type S3BlobTuning } from './client.js';
import { isMissing, isNotImplemented, isRangeNotSatisfiable, UpstreamErrors } from './errors.js';
import { pullReader } from './pull-reader.js';
import { PART_SIZE, S3BlobWriter } from './writer.js';
import { MAX_PART_SIZE, MIN_PART_SIZE } from '../../../s3/multipart-limits.js';

/** DeleteObjects takes at most 1000 keys per request. */
const DELETE_BATCH = 1000;

export class S3BlobStore implements BlobStore {
  readonly kind = 's3';
  // Private fields: neither the client (which holds the credentials) nor the options show up when the
  // store is logged or inspected.
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #pageSize: number;
  readonly #errors: UpstreamErrors;
  /**
   * Upstream keys of this process's writers whose stream is still open: their multipart uploads are live, whatever
   * date the upstream reports for them (moto dates every upload 2010), so the leftover sweep never takes them.
   */
  readonly #writing = new Set<string>();

  constructor(options: S3BlobStoreOptions, tuning: S3BlobTuning = {}) {
    for (const name of ['endpoint', 'bucket', 'region', 'accessKey', 'secretKey'] as const) {
      if (typeof options[name] !== 'string' || options[name] === '') throw new TypeError(`blobs.s3.${name} is required`);
    }
    const partSize = tuning.partSize ?? PART_SIZE;
    if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw new RangeError(`the part size must be between ${MIN_PART_SIZE} and ${MAX_PART_SIZE} bytes (S3's part limits), not ${partSize}`);
    }
    this.#client = createUpstreamClient(options, tuning);
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? '';
    this.#partSize = partSize;
    this.#pageSize = tuning.listPageSize ?? 1000;
    this.#errors = new UpstreamErrors(describeEndpoint(options.endpoint), options.bucket, options.secretKey);
  }

  async createWriter(): Promise<BlobWriter> {
    const id = newBlobId();
    const key = this.#prefix + id;
    const writer = new S3BlobWriter(id, {
      client: this.#client,
      bucket: this.#bucket,
      key,
      partSize: this.#partSize,
      errors: this.#errors,
    });
    this.#writing.add(key);
    writer.stream.once('close', () => this.#writing.delete(key));
    return writer;
  }

  async openRange(id: string, start: number, endExclusive: number): Promise<Readable> {
    const body = await this.get(id, start, endExclusive);
    return body ?? Readable.from([]);
  }

  async openReader(id: string, start: number, endExclusive: number): Promise<PartReader> {
    const body = await this.get(id, start, endExclusive);
    if (!body) return { read: async () => 0, close: async () => {} };
    return pullReader(
      body,
      endExclusive - start,
      (received) => new DataUnavailable(id, `the upstream ended its bytes after ${received} of the ${endExclusive - start} asked for`),
      (err) => this.#errors.map('GetObject', err),
    );
  }

  /**
   * A ranged GET whose response headers arrived and were checked: the body holds exactly the range.
   * undefined for an empty range of an existing blob (S3 has no empty Range; a HEAD checks the blob).
   */
  private async get(id: string, start: number, endExclusive: number): Promise<Readable | undefined> {
    if (!isBlobId(id)) throw new DataUnavailable(id, 'not a blob id of this store');
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endExclusive) || start < 0 || endExclusive < start) {
      throw new RangeError(`invalid byte range [${start}, ${endExclusive}) of blob ${id}`);
    }
    const key = this.#prefix + id;
    if (start === endExclusive) {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key })).catch((err: unknown) => {
        throw this.readFailure(id, 'HeadObject', err);
      });
      const size = head.ContentLength ?? 0;
      if (size < endExclusive) throw new DataUnavailable(id, `it holds ${size} bytes, bytes up to ${endExclusive} were asked for`);
      return undefined;
    }
    const out = await this.#client
      .send(new GetObjectCommand({ Bucket: this.#bucket, Key: key, Range: `bytes=${start}-${endExclusive - 1}` }))
      .catch((err: unknown) => {
        throw this.readFailure(id, 'GetObject', err);
      });
    const body = out.Body as Readable;
    const expected = endExclusive - start;
    const range = parseContentRange(out.ContentRange);
    let problem: string | undefined;
    if (range && range.total < endExclusive) {
      // S3 answers a range that runs past the end with the bytes it has (206, shorter).
      problem = `it holds ${range.total} bytes, bytes up to ${endExclusive} were asked for`;
    } else if (range ? range.start !== start || range.end < endExclusive - 1 : start !== 0 || (out.ContentLength ?? 0) < expected) {
      problem = `the upstream answered ${out.ContentRange ?? 'without Content-Range'} for bytes ${start}-${endExclusive - 1}`;
    }
    if (problem) {
      body.destroy();
      throw new DataUnavailable(id, problem);
    }
    // More than asked for, from the right start: s3rver reads "bytes=0-0" as "bytes=0-" (it takes an end of 0
    // for none), and a server that ignores Range sends the whole blob. The first bytes are the range.
    const answered = range ? range.end - range.start + 1 : (out.ContentLength ?? expected);
    return answered > expected ? Readable.from(firstBytes(body, expected)) : body;
  }

  private readFailure(id: string, operation: string, err: unknown): Error {
    if (isMissing(err)) return new DataUnavailable(id, 'it does not exist upstream (the object was overwritten or deleted: read it again)');
    if (isRangeNotSatisfiable(err)) return new DataUnavailable(id, 'it is shorter than the range asked for');
    return this.#errors.map(operation, err);
  }

  async remove(ids: readonly string[]): Promise<void> {
    const keys = ids.filter(isBlobId).map((id) => ({ Key: this.#prefix + id }));
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      // Best effort, per the contract: a blob left behind is an orphan the next sweep lists and removes.
      await this.#client.send(new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: batch, Quiet: true } })).catch(() => {});
    }
  }

  async *list(): AsyncIterable<StoredBlob> {
    let token: string | undefined;
    do {
      // The delimiter keeps the listing at the prefix's own level: ids contain no '/', so anything in a
      // "folder" below it is not ours and is not even listed.
      const page = await this.#client
        .send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: this.#prefix || undefined,
            Delimiter: '/',
            MaxKeys: this.#pageSize,
            ContinuationToken: token,
          }),
        )
        .catch((err: unknown) => {
          throw this.#errors.map('ListObjectsV2', err);
        });
      for (const object of page.Contents ?? []) {
        const id = object.Key?.slice(this.#prefix.length);
        if (!object.Key?.startsWith(this.#prefix) || !id || !isBlobId(id)) continue;
        yield { id, size: object.Size ?? 0, modified: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async sweepLeftovers(olderThan: Date): Promise<number> {
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.#client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.#bucket,
            Prefix: this.#prefix || undefined,
            MaxUploads: this.#pageSize,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
      } catch (err) {
        // An upstream without multipart listing (s3rver) cannot show leftovers: there is nothing to sweep.
        if (isNotImplemented(err)) return removed;
        throw this.#errors.map('ListMultipartUploads', err);
      }
      for (const upload of page.Uploads ?? []) {
        const id = upload.Key?.slice(this.#prefix.length);
        if (!upload.Key?.startsWith(this.#prefix) || !id || !isBlobId(id) || !upload.UploadId) continue;
        if (!upload.Initiated || upload.Initiated >= olderThan || this.#writing.has(upload.Key)) continue;
        try {
          await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: upload.Key, UploadId: upload.UploadId }));
          removed++;
        } catch (err) {
          // Gone meanwhile (another gateway's sweep, or its writer finished it): not ours to count.
          if (!isMissing(err)) throw this.#errors.map('AbortMultipartUpload', err);
        }
      }
      if (!page.IsTruncated) return removed;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
      if (!keyMarker && !uploadIdMarker) return removed;
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}

/** `bytes a-b/total` → its numbers; undefined when absent (a 200 answer) or malformed. */
function parseContentRange(value: string | undefined): { start: number; end: number; total: number } | undefined {
  const m = value ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value) : null;
  return m ? { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) } : undefined;
}

/** The first `length` bytes of a body; the rest is not read (the body is destroyed). */
async function* firstBytes(body: Readable, length: number): AsyncGenerator<Buffer> {
  let left = length;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      yield buf.length <= left ? buf : buf.subarray(0, left);
      left -= Math.min(left, buf.length);
      if (left === 0) return;
    }
  } finally {
    body.destroy();
  }
}
