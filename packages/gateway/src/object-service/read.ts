import { PassThrough, type Readable } from 'node:stream';
import {
  decryptBuffer,
  decryptPull,
  ENC_PACKAGE_SIZE,
  encryptedSize,
  ErrInvalidRange,
  mapRange,
  partKey,
  partRange,
  parseRangeHeader,
  type ByteRange,
} from '@kesgate/dare';
import { S3Error } from '../s3/errors.js';
import { objectTampered } from '../sse/kms-backed.js';
import type { CustomerKey, StoredSSE } from '../sse/types.js';
import type { ObjectRecord, ObjectStore } from '../storage/types.js';
import { checkConditions, type Conditions } from './conditions.js';
import type { ObjectServiceDeps } from './deps.js';
import { toS3Error } from './errors.js';
import { objectHeaders } from './headers.js';
import { resolveVersion } from './version-id.js';

/** An unsatisfiable Range as AWS answers it: 416 InvalidRange naming the range and the size, with a Content-Range of the size alone. */
function unsatisfiableAsS3<T>(parse: () => T, header: string | undefined, size: number): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof ErrInvalidRange)) throw err;
    throw new S3Error('InvalidRange', undefined, {
      cause: err,
      extra: { ...(header !== undefined ? { RangeRequested: header } : {}), ActualObjectSize: String(size) },
      headers: { 'content-range': `bytes */${size}` },
    });
  }
}

export interface ReadRequest {
  bucket: string;
  key: string;
  /** The version to read; the latest when absent. */
  versionId?: string;
  customer?: CustomerKey;
  /** The Range header as sent. */
  range?: string;
  partNumber?: number;
  conditions?: Conditions;
  /** x-amz-checksum-mode: ENABLED */
  withChecksum?: boolean;
  /** HEAD: check access and compute headers, but recover no key (see ObjectEncryption.checkMetadataAccess). */
  metadataOnly?: boolean;
}

export interface OpenedObject {
  record: ObjectRecord;
  status: 200 | 206;
  /** The plaintext bytes served. */
  range: ByteRange;
  headers: Record<string, string>;
  /** The decrypted bytes of `range`; each package is authenticated before any of its bytes is emitted. */
  body(): Readable;
  /**
   * The decrypted bytes of `range` at once, when the object's data is in its record (inline): no stream, no
   * file. Undefined otherwise (then read `body()`). Throws, before anything is sent, if a package fails.
   */
  bytes(): Buffer | undefined;
}

/** The stored object, or NoSuchKey. */
export async function getRecord(store: ObjectStore, bucket: string, key: string): Promise<ObjectRecord> {
  const record = await store.getObject(bucket, key);
  if (!record) throw new S3Error('NoSuchKey', undefined, { resource: `/${bucket}/${key}`, extra: { Key: key } });
  return record;
}

/**
 * GET/HEAD semantics: conditions, Range or partNumber, and the object key recovered (kes or the SSE-C key)
 * before a single header is sent, so every key error is a clean S3 error and not a broken body.
 */
export async function openObject(ctx: ObjectServiceDeps, req: ReadRequest): Promise<OpenedObject> {
  try {
    const { record, headers: versionHeaders } = await resolveVersion(ctx.store, req.bucket, req.key, req.versionId);
    const stored = record.sse;
    if (req.conditions) checkConditions(req.conditions, record.etag, record.lastModified);
    const path = { bucket: req.bucket, key: req.key };
    let oek: Buffer | undefined;
    if (req.metadataOnly) await ctx.enc.checkMetadataAccess(stored, path, req.customer);
    else oek = await ctx.enc.unseal(stored, path, req.customer);

    let range: ByteRange = { offset: 0, length: record.size };
    let status: 200 | 206 = 200;
    if (req.partNumber !== undefined) {
      if (req.range !== undefined) throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter.');
      range = partRange(req.partNumber, record.parts);
      status = record.parts.length > 1 || stored.multipart ? 206 : 200;
    } else {
      const r = unsatisfiableAsS3(() => parseRangeHeader(req.range, record.size), req.range, record.size);
      if (r) {
        range = r;
        status = 206;
      }
    }
    const headers = { ...objectHeaders(record, ctx.enc, req.withChecksum === true && status === 200), ...versionHeaders };
    headers['content-length'] = String(range.length);
    if (status === 206) headers['content-range'] = `bytes ${range.offset}-${range.offset + range.length - 1}/${record.size}`;
    const body = (): Readable => {
      if (!oek) throw new Error('an object opened for its metadata only has no body');
      return decryptRange(ctx.store, record, stored, oek, range);
    };
    const bytes = (): Buffer | undefined => {
      if (!oek) throw new Error('an object opened for its metadata only has no body');
      return decryptInline(record, stored, oek, range);
    };
    return { record, status, range, headers, body, bytes };
  } catch (err) {
    throw toS3Error(err);
  }
}

/** Reads per call: 8 DARE packages, so reads end on package boundaries (the decoder never splits one). */
const READ_BUFFER = 8 * ENC_PACKAGE_SIZE;

/**
 * A body that starts producing when it is first read, so that a body nobody reads (a copy whose write was
 * refused) opens no file; `stop` runs instead of `start` when it is destroyed unread.
 */
class LazyBody extends PassThrough {
  constructor(
    private start: (() => void) | undefined,
    private readonly stop: () => void,
  ) {
    super({ highWaterMark: 4 * 65536 });
  }

  override _read(size: number): void {
    const start = this.start;
    this.start = undefined;
    start?.();
    super._read(size);
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.start) {
      this.start = undefined;
      this.stop();
    }
    super._destroy(err, callback);
  }
}

/**
 * Reads only the packages that overlap `range`, part by part, through the DARE decoder. Each part is pulled
 * into two reused buffers (decryptPull) rather than through a stream pipeline: a large GET then makes half the
 * short-lived buffers, which is what a streaming server's memory peak is made of. Nothing is opened before the
 * body is read; destroying it closes the part being read. Owns `oek` (wiped when done, failed or destroyed).
 */
export function decryptRange(store: ObjectStore, record: ObjectRecord, stored: StoredSSE, oek: Buffer, range: ByteRange): Readable {
  checkPartSizes(record, oek);
  const segments = mapRange(range.offset, range.length, record.parts);
  // Parts are decrypted one after another into one stream; no plaintext is emitted before its package verified.
  const pump = async (): Promise<void> => {
    try {
      for (const [i, seg] of segments.entries()) {
        const part = record.parts[seg.part - 1]!;
        const key = stored.multipart ? partKey(oek, part.number) : oek;
        const reader = await store.openPartReader(part, seg.encOffset, seg.encOffset + seg.encLength);
        try {
          const opts = { startSeq: seg.startSeq, skip: seg.skip, length: seg.take };
          await decryptPull(
            key,
            opts,
            (into) => reader.read(into),
            (plain) => writeOrWait(out, plain),
            Math.max(1, Math.min(READ_BUFFER, seg.encLength)),
          );
          // The body ends as soon as its last byte is decrypted, not after the file is closed, so the response
          // is complete on the server by the time the client, holding every byte, reuses the connection.
          if (i === segments.length - 1) out.end();
        } finally {
          await reader.close();
        }
      }
      if (segments.length === 0) out.end();
    } catch (err) {
      out.destroy(err as Error);
    } finally {
      // The OEK is needed only while this body is read.
      oek.fill(0);
    }
  };
  const out = new LazyBody(
    () => void pump(),
    () => oek.fill(0),
  );
  return out;
}

/** The package format cannot tell "no data" from "all data cut away": the sizes recorded at write time must agree. */
function checkPartSizes(record: ObjectRecord, oek: Buffer): void {
  for (const p of record.parts) {
    if (p.encSize !== encryptedSize(p.plainSize)) {
      oek.fill(0);
      throw objectTampered(
        `part ${p.number} has ${p.encSize} stored bytes where ${p.plainSize} plaintext bytes need ${encryptedSize(p.plainSize)}`,
      );
    }
  }
}

/**
 * decryptRange for data held in the record (inline parts): decrypted in one call, since the bytes are already
 * in memory. A stream, a pump and a pipeline per 4 KiB GET cost more than its decryption. Undefined, with the
 * OEK left as it was, when the object has a part in a data file (its range is then mapped once, by decryptRange).
 * Wipes `oek` otherwise.
 */
export function decryptInline(record: ObjectRecord, stored: StoredSSE, oek: Buffer, range: ByteRange): Buffer | undefined {
  if (record.parts.some((p) => p.inline === undefined)) return undefined;
  const segments = mapRange(range.offset, range.length, record.parts);
  try {
    checkPartSizes(record, oek);
    const plain = segments.map((seg) => {
      const part = record.parts[seg.part - 1]!;
      const key = stored.multipart ? partKey(oek, part.number) : oek;
      const inline = part.inline!;
      if (inline.length !== part.encSize) {
        throw objectTampered(`part ${part.number} has ${inline.length} bytes inline where its record says ${part.encSize}`);
      }
      const data = inline.subarray(seg.encOffset, seg.encOffset + seg.encLength);
      return decryptBuffer(key, data, { startSeq: seg.startSeq, skip: seg.skip, length: seg.take });
    });
    return plain.length === 1 ? plain[0]! : Buffer.concat(plain);
  } finally {
    oek.fill(0);
  }
}

/** Writes to the body, waiting while it is full; fails once the body is gone (the client left), so reading stops. */
async function writeOrWait(out: PassThrough, chunk: Buffer): Promise<void> {
  if (out.destroyed) throw new Error('the response body was closed before the object was read');
  if (out.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (err?: Error): void => {
      out.off('drain', onDrain);
      out.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => settle();
    const onClose = (): void => settle(new Error('the response body was closed before the object was read'));
    out.once('drain', onDrain);
    out.once('close', onClose);
  });
}
