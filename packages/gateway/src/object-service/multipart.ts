import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { partKey, parseRangeHeader } from '@kesgate/dare';
import { S3Error } from '../s3/errors.js';
import { validateObjectKey } from '../s3/names.js';
import type { CustomerKey, SSERequest } from '../sse/types.js';
import type {
  ChecksumAlgorithm,
  CompletePart,
  ObjectMetadata,
  ObjectRecord,
  UploadRecord,
  UploadRef,
  WritePrecondition,
  UploadedPart,
} from '../storage/types.js';
import { checkConditions, type Conditions } from './conditions.js';
import type { ObjectServiceDeps } from './deps.js';
import { toS3Error } from './errors.js';
import { decryptRange } from './read.js';
import { resolveVersion, writtenVersionHeaders } from './version-id.js';
import { verified, writeEncrypted, type WriteBody } from './write.js';
import { unquoteETag } from '../storage/etag.js';
import { MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE } from '../s3/multipart-limits.js';

export interface CreateUploadRequest {
  bucket: string;
  key: string;
  sse: SSERequest | undefined;
  metadata: ObjectMetadata;
  checksumAlgorithm?: ChecksumAlgorithm;
}

/** CreateMultipartUpload: the object key is made and sealed now; each part is encrypted under partKey(OEK, n). */
export async function createUpload(
  ctx: ObjectServiceDeps,
  req: CreateUploadRequest,
): Promise<{ upload: UploadRecord; headers: Record<string, string> }> {
  try {
    validateObjectKey(req.key);
    const bucketDefault = await ctx.store.getBucketEncryption(req.bucket);
    const choice = ctx.enc.choose(req.sse, bucketDefault);
    const { oek, stored } = await ctx.enc.seal(choice, { bucket: req.bucket, key: req.key });
    oek.fill(0);
    const upload = await ctx.store.createUpload({
      bucket: req.bucket,
      key: req.key,
      ...req.metadata,
      sse: { ...stored, multipart: true },
      ...(req.checksumAlgorithm ? { checksumAlgorithm: req.checksumAlgorithm, checksumType: 'COMPOSITE' as const } : {}),
    });
    return { upload, headers: ctx.enc.responseHeaders(stored) };
  } catch (err) {
    throw toS3Error(err);
  }
}

function checkPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) {
    throw new S3Error('InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`, {
      extra: { ArgumentName: 'partNumber', ArgumentValue: String(n) },
    });
  }
}

/** The upload's OEK, the part's key checked by the upload's mode (SSE-C: the upload's key on every part). */
async function uploadKey(ctx: ObjectServiceDeps, upload: UploadRecord, customer: CustomerKey | undefined): Promise<Buffer> {
  ctx.enc.mode(upload.sse.sse).checkPartKey(upload.sse, customer);
  return ctx.enc.unseal(upload.sse, { bucket: upload.bucket, key: upload.key }, customer);
}

export interface UploadPartRequest {
  ref: UploadRef;
  partNumber: number;
  customer?: CustomerKey;
  body: WriteBody;
}

/** UploadPart: a fresh random nonce per upload, so re-uploading a part never reuses a (key, nonce) pair. */
export async function uploadPart(
  ctx: ObjectServiceDeps,
  req: UploadPartRequest,
): Promise<{ part: UploadedPart; headers: Record<string, string> }> {
  try {
    const target = await partTarget(ctx, req.ref, req.partNumber, req.customer);
    return await writePart(ctx, req.ref, req.partNumber, target, req.body);
  } catch (err) {
    throw toS3Error(err);
  }
}

/** Where a part goes: the upload (NoSuchUpload) and the part's key, the SSE-C rule checked. The caller owns `key`. */
interface PartTarget {
  upload: UploadRecord;
  key: Buffer;
}

async function partTarget(
  ctx: ObjectServiceDeps,
  ref: UploadRef,
  partNumber: number,
  customer: CustomerKey | undefined,
): Promise<PartTarget> {
  checkPartNumber(partNumber);
  const upload = await ctx.store.getUpload(ref);
  const oek = await uploadKey(ctx, upload, customer);
  const key = partKey(oek, partNumber);
  oek.fill(0);
  return { upload, key };
}

/** Encrypts `body` under the part's key (wiped here) and records the part. */
async function writePart(
  ctx: ObjectServiceDeps,
  ref: UploadRef,
  partNumber: number,
  target: PartTarget,
  body: WriteBody,
): Promise<{ part: UploadedPart; headers: Record<string, string> }> {
  let data;
  try {
    data = await writeEncrypted(ctx.store, ref.bucket, body, target.key);
  } finally {
    target.key.fill(0);
  }
  const stored = target.upload.sse;
  const part = await ctx.store.putPart(ref, partNumber, data.dataId, {
    plainSize: data.digests.size,
    encSize: data.encSize,
    etag: ctx.enc.mode(stored.sse).etag(data.digests),
    ...(data.digests.checksum ? { extra: { checksum: data.digests.checksum } } : {}),
  });
  const headers = ctx.enc.responseHeaders(stored);
  if (data.digests.checksum) headers[`x-amz-checksum-${data.digests.checksum.algorithm}`] = data.digests.checksum.value;
  return { part, headers };
}

export interface UploadPartCopyRequest {
  ref: UploadRef;
  partNumber: number;
  customer?: CustomerKey;
  source: { bucket: string; key: string; versionId?: string; customer?: CustomerKey; conditions?: Conditions; range?: string };
}

/** UploadPartCopy: a byte range of any object, decrypted, re-encrypted as a part of this upload. */
export async function uploadPartCopy(
  ctx: ObjectServiceDeps,
  req: UploadPartCopyRequest,
): Promise<{ part: UploadedPart; headers: Record<string, string> }> {
  try {
    checkPartNumber(req.partNumber);
    await ctx.store.getUpload(req.ref); // NoSuchUpload before any source byte is read
    const source = await resolveVersion(ctx.store, req.source.bucket, req.source.key, req.source.versionId, 'copy-source');
    const { record } = source;
    if (req.source.conditions) checkConditions(req.source.conditions, record.etag, record.lastModified, true);
    const range = copySourceRange(req.source.range, record.size);
    if (range.length > MAX_PART_SIZE)
      throw new S3Error('InvalidRequest', `The specified copy range is larger than the maximum part size of ${MAX_PART_SIZE} bytes.`);
    const stored = record.sse;
    // The part's own key (the upload's SSE-C rule) is settled before the source is opened: a refused part
    // then has nothing to close.
    const target = await partTarget(ctx, req.ref, req.partNumber, req.customer);
    let plaintext: Readable | undefined;
    try {
      const srcKey = await ctx.enc.unseal(stored, { bucket: req.source.bucket, key: req.source.key }, req.source.customer);
      plaintext = decryptRange(ctx.store, record, stored, srcKey, range);
      const written = await writePart(ctx, req.ref, req.partNumber, target, verified(plaintext, { expectedSize: range.length }));
      if (source.versioning !== 'Unversioned') written.headers['x-amz-copy-source-version-id'] = record.versionId;
      return written;
    } finally {
      target.key.fill(0);
      plaintext?.destroy();
    }
  } catch (err) {
    throw toS3Error(err);
  }
}

/** x-amz-copy-source-range must be `bytes=first-last` inside the object (AWS: 400 InvalidArgument / 416 InvalidRange). */
function copySourceRange(header: string | undefined, size: number): { offset: number; length: number } {
  if (header === undefined) return { offset: 0, length: size };
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw new S3Error(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      { extra: { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: header } },
    );
  }
  if (Number(m[2]) >= size) {
    throw new S3Error('InvalidRange', undefined, { extra: { ActualObjectSize: String(size) } });
  }
  const r = parseRangeHeader(header, size);
  return r ?? { offset: 0, length: size };
}

/** The ETag AWS gives a multipart object: MD5 of the concatenated binary part ETags, then "-N". */
function multipartETag(etags: readonly string[]): string {
  const md5 = createHash('md5');
  for (const e of etags) md5.update(Buffer.from(unquoteETag(e), 'hex'));
  return `${md5.digest('hex')}-${etags.length}`;
}

/** CompleteMultipartUpload: sizes checked here (every part but the last ≥ 5 MiB), the rest atomically in the store. */
export async function completeUpload(
  ctx: ObjectServiceDeps,
  ref: UploadRef,
  chosen: readonly CompletePart[],
  precondition?: WritePrecondition,
): Promise<{ record: ObjectRecord; headers: Record<string, string> }> {
  try {
    if (chosen.length === 0) throw new S3Error('MalformedXML', 'You must specify at least one part');
    await ctx.store.getUpload(ref); // NoSuchUpload before anything else, as AWS
    const uploaded = new Map<number, UploadedPart>();
    let marker = 0;
    for (;;) {
      const page = await ctx.store.listParts(ref, { partNumberMarker: marker, maxParts: 1000 });
      for (const p of page.parts) uploaded.set(p.number, p);
      if (!page.isTruncated || page.nextPartNumberMarker === undefined) break;
      marker = page.nextPartNumberMarker;
    }
    // As AWS: every listed part must exist with its ETag, in ascending order, before sizes are looked at.
    const parts = chosen.map((c, i) => {
      const p = uploaded.get(c.number);
      if (!p || (c.etag !== undefined && unquoteETag(c.etag) !== p.etag)) {
        throw new S3Error('InvalidPart', undefined, { extra: { PartNumber: String(c.number), ...(c.etag ? { ETag: c.etag } : {}) } });
      }
      if (i > 0 && c.number <= chosen[i - 1]!.number) throw new S3Error('InvalidPartOrder');
      return p;
    });
    parts.slice(0, -1).forEach((p) => {
      if (p.plainSize < MIN_PART_SIZE) {
        throw new S3Error('EntityTooSmall', undefined, {
          extra: { ProposedSize: String(p.plainSize), MinSizeAllowed: String(MIN_PART_SIZE), PartNumber: String(p.number), ETag: p.etag },
        });
      }
    });
    const etags = parts.map((p) => p.etag);
    // The object takes the upload's SSE fields as they are at the commit, not as read above: a rotation job
    // may re-wrap the upload in between.
    const record = await ctx.store.completeUpload(ref, chosen, { etag: multipartETag(etags), ...(precondition && { precondition }) });
    return { record, headers: { ...ctx.enc.responseHeaders(record.sse), ...writtenVersionHeaders(record) } };
  } catch (err) {
    throw toS3Error(err);
  }
}
