import { bodyStream, MAX_SINGLE_PUT } from '../../s3/body.js';
import { S3Error } from '../../s3/errors.js';
import { authOf } from '../../s3/middleware.js';
import { parseDeleteObjects } from '../../s3/xml.js';
import { parseConditions } from '../../object-service/conditions.js';
import { copyObject } from '../../object-service/copy.js';
import { quoteETag } from '../../object-service/headers.js';
import { openObject } from '../../object-service/read.js';
import { parseVersionId, resolveVersion } from '../../object-service/version-id.js';
import { unquoteETag } from '../../storage/etag.js';
import { isVersionId } from '../../storage/object-rules.js';
import { putObject } from '../../object-service/write.js';
import { parseCopySourceKey, parseReadSSE, parseWriteSSE } from '../../sse/headers.js';
import type { WritePrecondition } from '../../storage/types.js';
import type { S3Call } from '../services.js';
import { firstHeader } from '../../s3/header-values.js';
import { objectMetadata, parseCopySource } from '../request.js';
import { isoDate, sendStream, sendXML, setHeaders } from '../reply.js';
import { requirePrivateAcl } from './acl.js';
import { smallBody } from './buckets.js';
import { copyTags, tagsOfRequest } from './tagging.js';

/** If-None-Match: * and If-Match of a write (PUT, CompleteMultipartUpload), checked in the commit's transaction. */
export function writePrecondition(c: S3Call): WritePrecondition | undefined {
  const inm = firstHeader(c.req.headers, 'if-none-match');
  const im = firstHeader(c.req.headers, 'if-match');
  if (inm === undefined && im === undefined) return undefined;
  if (inm !== undefined && inm.trim() !== '*') throw new S3Error('NotImplemented', 'If-None-Match on a write only supports "*".');
  return {
    ...(inm !== undefined ? { ifNoneMatch: '*' as const } : {}),
    ...(im !== undefined ? { ifMatchEtag: unquoteETag(im) } : {}),
  };
}

export async function putObjectHandler(c: S3Call): Promise<void> {
  requirePrivateAcl(c);
  const metadata = { ...objectMetadata(c.req.headers), ...tagsOfRequest(c) };
  // The mode is chosen before the body flows: only SSE-S3 needs the (costly) MD5 of the data, for its ETag.
  const sse = c.svc.enc.choose(parseWriteSSE(c.req.headers), await c.svc.store.getBucketEncryption(c.bucket));
  const body = bodyStream(c.req, authOf(c.res), { maxSize: MAX_SINGLE_PUT, requireLength: true, md5: c.svc.enc.mode(sse.kind).etagIsMD5 });
  const precondition = writePrecondition(c);
  const r = await putObject(c.svc, { bucket: c.bucket, key: c.key, sse, metadata, body, ...(precondition ? { precondition } : {}) });
  setHeaders(c.res, r.headers);
  c.res.status(200).end();
}

/** Query parameters that override response headers on GET (AWS: response-*). */
const OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

async function open(c: S3Call, metadataOnly: boolean) {
  const versionId = parseVersionId(c.query.get('versionId'));
  const customer = parseReadSSE(c.req.headers);
  const pn = c.query.get('partNumber');
  if (pn !== null && !/^\d+$/.test(pn)) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      extra: { ArgumentName: 'partNumber', ArgumentValue: pn },
    });
  }
  const range = firstHeader(c.req.headers, 'range');
  return openObject(c.svc, {
    bucket: c.bucket,
    key: c.key,
    ...(versionId !== undefined ? { versionId } : {}),
    ...(customer ? { customer } : {}),
    ...(range !== undefined ? { range } : {}),
    ...(pn !== null ? { partNumber: Number(pn) } : {}),
    conditions: parseConditions(c.req.headers),
    withChecksum: firstHeader(c.req.headers, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED',
    metadataOnly,
  });
}

export async function getObjectHandler(c: S3Call): Promise<void> {
  const opened = await open(c, false);
  // Small objects stored inline are decrypted here, before any header is set: a failure is a clean error.
  const bytes = opened.bytes();
  setHeaders(c.res, opened.headers);
  for (const [param, name] of Object.entries(OVERRIDES)) {
    const v = c.query.get(param);
    if (v !== null) c.res.setHeader(name, v);
  }
  c.svc.metrics.bytesOut.inc(opened.range.length);
  if (bytes) c.res.status(opened.status).end(bytes);
  else await sendStream(c.res, opened.status, opened.body());
}

export async function headObjectHandler(c: S3Call): Promise<void> {
  const opened = await open(c, true);
  setHeaders(c.res, opened.headers);
  c.res.status(opened.status).end();
}

/**
 * DeleteObject: without a version id, the key as the bucket's versioning says (a delete marker once versioned);
 * with one, that version for good. The headers say which: x-amz-delete-marker and x-amz-version-id.
 */
export async function deleteObjectHandler(c: S3Call): Promise<void> {
  const versionId = parseVersionId(c.query.get('versionId'));
  const r = await c.svc.store.deleteObject(c.bucket, c.key, versionId);
  if (r.deleteMarker) c.res.setHeader('x-amz-delete-marker', 'true');
  const id = r.versionId ?? r.deleteMarkerVersionId;
  if (id !== undefined) c.res.setHeader('x-amz-version-id', id);
  c.res.status(204).end();
}

export async function deleteObjectsHandler(c: S3Call): Promise<void> {
  // AWS requires Content-MD5 or a checksum on DeleteObjects: a corrupted key list must not delete other objects.
  const request = parseDeleteObjects(await smallBody(c, 1024 * 1024, true));
  // A version id this gateway never issues is an error for that entry alone; the rest are deleted.
  const valid = request.objects.filter((o) => o.versionId === undefined || isVersionId(o.versionId));
  const invalid = request.objects.filter((o) => !valid.includes(o));
  const results =
    valid.length > 0
      ? await c.svc.store.deleteObjects(
          c.bucket,
          valid.map((o) => ({ key: o.key, ...(o.versionId !== undefined ? { versionId: o.versionId } : {}) })),
        )
      : [];
  sendXML(c.res, 'DeleteResult', {
    Deleted: request.quiet
      ? []
      : results.map((r) => ({
          Key: r.key,
          ...(r.versionId !== undefined ? { VersionId: r.versionId } : {}),
          ...(r.deleteMarker ? { DeleteMarker: true } : {}),
          ...(r.deleteMarkerVersionId !== undefined ? { DeleteMarkerVersionId: r.deleteMarkerVersionId } : {}),
        })),
    Error: invalid.map((o) => ({ Key: o.key, VersionId: o.versionId, Code: 'InvalidArgument', Message: 'Invalid version id specified' })),
  });
}

export async function copyObjectHandler(c: S3Call): Promise<void> {
  const source = parseCopySource(firstHeader(c.req.headers, 'x-amz-copy-source') ?? '');
  const directive = (firstHeader(c.req.headers, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 'Unknown metadata directive.', {
      extra: { ArgumentName: 'x-amz-metadata-directive', ArgumentValue: directive },
    });
  }
  requirePrivateAcl(c);
  const tags = copyTags(c);
  const srcCustomer = parseCopySourceKey(c.req.headers);
  const r = await copyObject(c.svc, {
    source: {
      ...source,
      ...(srcCustomer ? { customer: srcCustomer } : {}),
      conditions: parseConditions(c.req.headers, 'x-amz-copy-source-'),
    },
    target: {
      bucket: c.bucket,
      key: c.key,
      sse: parseWriteSSE(c.req.headers),
      directive,
      metadata: objectMetadata(c.req.headers),
      ...(tags ? { tags } : {}),
    },
  });
  setHeaders(c.res, r.headers);
  sendXML(c.res, 'CopyObjectResult', { LastModified: isoDate(r.record.lastModified), ETag: quoteETag(r.record.etag) });
}

const ATTRIBUTES = new Set(['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize']);

export async function getObjectAttributesHandler(c: S3Call): Promise<void> {
  const wanted = (firstHeader(c.req.headers, 'x-amz-object-attributes') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (wanted.length === 0 || wanted.some((a) => !ATTRIBUTES.has(a))) {
    throw new S3Error('InvalidArgument', `x-amz-object-attributes must list some of: ${[...ATTRIBUTES].join(', ')}.`, {
      extra: { ArgumentName: 'x-amz-object-attributes' },
    });
  }
  const versionId = parseVersionId(c.query.get('versionId'));
  const customer = parseReadSSE(c.req.headers);
  const { record, headers: versionHeaders } = await resolveVersion(c.svc.store, c.bucket, c.key, versionId);
  // The SSE-C key is checked as on GET: attributes of an SSE-C object need its key.
  const stored = record.sse;
  await c.svc.enc.checkMetadataAccess(stored, { bucket: c.bucket, key: c.key }, customer);
  const body: Record<string, unknown> = {};
  if (wanted.includes('ETag')) body.ETag = record.etag;
  if (wanted.includes('Checksum') && record.checksum) {
    body.Checksum = { [`Checksum${record.checksum.algorithm}`]: record.checksum.value, ChecksumType: record.checksum.type };
  }
  if (wanted.includes('ObjectParts') && (stored.multipart || record.parts.length > 1)) {
    body.ObjectParts = {
      // TotalPartsCount in the API reference; PartsCount on the wire.
      PartsCount: record.parts.length,
      PartNumberMarker: 0,
      MaxParts: 1000,
      IsTruncated: false,
      Part: record.parts.map((p) => ({ PartNumber: p.number, Size: p.plainSize })),
    };
  }
  if (wanted.includes('StorageClass')) body.StorageClass = 'STANDARD';
  if (wanted.includes('ObjectSize')) body.ObjectSize = record.size;
  c.res.setHeader('last-modified', record.lastModified.toUTCString());
  setHeaders(c.res, { ...c.svc.enc.responseHeaders(stored), ...versionHeaders });
  sendXML(c.res, 'GetObjectAttributesResponse', body);
}
