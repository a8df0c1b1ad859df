import type { Readable } from 'node:stream';
import { S3Error } from '../s3/errors.js';
import type { CustomerKey, SSERequest } from '../sse/types.js';
import type { ObjectMetadata, ObjectRecord, Tag } from '../storage/types.js';
import { checkConditions, type Conditions } from './conditions.js';
import type { ObjectServiceDeps } from './deps.js';
import { toS3Error } from './errors.js';
import { objectHeaders } from './headers.js';
import { decryptRange } from './read.js';
import { NULL_VERSION_ID, resolveVersion, writtenVersionHeaders } from './version-id.js';
import { putObject, sealTarget, verified } from './write.js';

/** AWS's limit for a single CopyObject; larger objects are copied with UploadPartCopy. */
const MAX_COPY_SIZE = 5 * 1024 ** 3;

export interface CopyRequest {
  source: { bucket: string; key: string; versionId?: string; customer?: CustomerKey; conditions?: Conditions };
  target: {
    bucket: string;
    key: string;
    sse: SSERequest | undefined;
    directive: 'COPY' | 'REPLACE';
    /** Used with REPLACE. */
    metadata: ObjectMetadata;
    /** The target's tag set (x-amz-tagging-directive REPLACE); absent, the source's tags are copied. */
    tags?: Tag[];
  };
}

export interface CopyResult {
  record: ObjectRecord;
  headers: Record<string, string>;
}

const metadataOf = (r: ObjectRecord): ObjectMetadata => ({
  ...(r.contentType !== undefined ? { contentType: r.contentType } : {}),
  userMetadata: r.userMetadata,
  standardHeaders: r.standardHeaders,
});

/**
 * CopyObject between any two SSE modes: the source is decrypted and the target encrypted under a fresh OEK.
 * The one exception is an SSE-C key change of an unversioned object onto itself, which reseals its key:
 * metadata only. In a versioning-enabled bucket that copy makes a new version under the new key (a real copy),
 * and the old version keeps the old key.
 */
export async function copyObject(ctx: ObjectServiceDeps, req: CopyRequest): Promise<CopyResult> {
  try {
    const { source: src, target: dst } = req;
    const source = await resolveVersion(ctx.store, src.bucket, src.key, src.versionId, 'copy-source');
    const { record } = source;
    if (src.conditions) checkConditions(src.conditions, record.etag, record.lastModified, true);
    const stored = record.sse;
    // The same object: the key's latest version onto itself (an older version copied onto its key restores it).
    const same = src.bucket === dst.bucket && src.key === dst.key && source.isLatest;
    const sourceHeaders: Record<string, string> =
      source.versioning === 'Unversioned' ? {} : { 'x-amz-copy-source-version-id': record.versionId };

    // A key change the object's mode can make in place (SSE-C onto SSE-C): only the record changes.
    const rekeyed =
      same && dst.directive === 'COPY' && dst.sse && source.versioning !== 'Enabled' && record.versionId === NULL_VERSION_ID
        ? ctx.enc.mode(stored.sse).rekeyInPlace(stored, { bucket: dst.bucket, key: dst.key }, src.customer, dst.sse)
        : undefined;
    if (rekeyed) {
      const resealed = await rekeyed;
      let updated = await ctx.store.updateObjectSSE(dst.bucket, dst.key, record.revision, resealed, record.versionId);
      if (dst.tags) updated = await ctx.store.putObjectTags(dst.bucket, dst.key, dst.tags, record.versionId);
      return { record: updated, headers: { ...copyHeaders(ctx, updated), ...sourceHeaders } };
    }
    if (same && dst.directive === 'COPY' && !dst.sse) {
      throw new S3Error(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    if (record.size > MAX_COPY_SIZE) {
      throw new S3Error(
        'InvalidRequest',
        `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_COPY_SIZE}`,
      );
    }

    // The destination (key, bucket, its object key from kes) is settled before the source is opened: a refused
    // destination then has nothing to close.
    const sealed = await sealTarget(ctx, dst.bucket, dst.key, dst.sse);
    const tags = dst.tags ?? record.tags ?? [];
    let plaintext: Readable | undefined;
    try {
      const oek = await ctx.enc.unseal(stored, { bucket: src.bucket, key: src.key }, src.customer);
      plaintext = decryptRange(ctx.store, record, stored, oek, { offset: 0, length: record.size });
      const put = await putObject(ctx, {
        bucket: dst.bucket,
        key: dst.key,
        sse: dst.sse,
        metadata: { ...(dst.directive === 'COPY' ? metadataOf(record) : dst.metadata), ...(tags.length > 0 ? { tags } : {}) },
        body: verified(plaintext, { expectedSize: record.size }),
        sealed,
      });
      return { record: put.record, headers: { ...copyHeaders(ctx, put.record), ...sourceHeaders, ...writtenVersionHeaders(put.record) } };
    } finally {
      sealed.oek.fill(0);
      plaintext?.destroy();
    }
  } catch (err) {
    throw toS3Error(err);
  }
}

function copyHeaders(ctx: ObjectServiceDeps, record: ObjectRecord): Record<string, string> {
  const all = objectHeaders(record, ctx.enc, false);
  return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('x-amz-server-side-encryption')));
}
