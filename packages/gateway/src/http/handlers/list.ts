import { S3Error } from '../../s3/errors.js';
import type { S3Call } from '../context.js';
import { intParam } from '../request.js';
import { isoDate, sendXML } from '../reply.js';
import { quoteETag } from '../../objects/headers.js';

/** encoding-type=url: keys and prefixes are URL-encoded in the answer (the AWS CLI always asks for it). */
function encoder(q: URLSearchParams): (s: string) => string {
  const t = q.get('encoding-type');
  if (t === null) return (s) => s;
  if (t !== 'url') throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { extra: { ArgumentName: 'encoding-type', ArgumentValue: t } });
  return (s) => encodeURIComponent(s).replace(/%2F/g, '/');
}

function optional(name: string, v: string | null | undefined, enc: (s: string) => string): Record<string, string> {
  return v === null || v === undefined || v === '' ? {} : { [name]: enc(v) };
}

export async function listObjects(c: S3Call, version: 1 | 2): Promise<void> {
  const q = c.query;
  const enc = encoder(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = intParam(q, 'max-keys', 1000, 0, 1000);
  const token = version === 2 ? q.get('continuation-token') : null;
  const startAfter = version === 2 ? q.get('start-after') : q.get('marker');
  if (token === '') throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { extra: { ArgumentName: 'continuation-token' } });
  const page = await c.svc.store.listObjects({
    bucket: c.bucket,
    prefix,
    delimiter,
    maxKeys,
    ...(startAfter ? { startAfter } : {}),
    ...(token ? { continuationToken: token } : {}),
  });
  const contents = page.contents.map((o) => ({
    Key: enc(o.key),
    LastModified: isoDate(o.lastModified),
    ETag: quoteETag(o.etag),
    ...(o.checksumAlgorithm ? { ChecksumAlgorithm: o.checksumAlgorithm } : {}),
    Size: o.size,
    StorageClass: 'STANDARD',
  }));
  const common = page.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
  const body: Record<string, unknown> = { Name: c.bucket, Prefix: enc(prefix) };
  if (version === 2) {
    Object.assign(body, optional('StartAfter', startAfter, enc), optional('ContinuationToken', token, (s) => s));
    Object.assign(body, { KeyCount: contents.length + common.length, MaxKeys: maxKeys });
    Object.assign(body, optional('Delimiter', delimiter, enc), { IsTruncated: page.isTruncated });
    if (page.isTruncated && page.nextToken) body.NextContinuationToken = page.nextToken;
  } else {
    Object.assign(body, { Marker: enc(startAfter ?? '') }, page.isTruncated && page.nextMarker ? { NextMarker: enc(page.nextMarker) } : {});
    Object.assign(body, { MaxKeys: maxKeys }, optional('Delimiter', delimiter, enc), { IsTruncated: page.isTruncated });
  }
  if (q.get('encoding-type')) body.EncodingType = 'url';
  body.Contents = contents;
  body.CommonPrefixes = common;
  sendXML(c.res, 'ListBucketResult', body);
}

export async function listUploads(c: S3Call): Promise<void> {
  const q = c.query;
  const enc = encoder(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const uploadIdMarker = q.get('upload-id-marker') ?? '';
  const maxUploads = intParam(q, 'max-uploads', 1000, 0, 1000);
  const page = await c.svc.store.listUploads({
    bucket: c.bucket,
    prefix,
    delimiter,
    maxUploads,
    ...(keyMarker ? { keyMarker } : {}),
    ...(keyMarker && uploadIdMarker ? { uploadIdMarker } : {}),
  });
  sendXML(c.res, 'ListMultipartUploadsResult', {
    Bucket: c.bucket,
    KeyMarker: enc(keyMarker),
    UploadIdMarker: uploadIdMarker,
    ...(page.nextKeyMarker ? { NextKeyMarker: enc(page.nextKeyMarker) } : {}),
    ...(page.nextUploadIdMarker ? { NextUploadIdMarker: page.nextUploadIdMarker } : {}),
    Prefix: enc(prefix),
    ...optional('Delimiter', delimiter, enc),
    MaxUploads: maxUploads,
    IsTruncated: page.isTruncated,
    ...(q.get('encoding-type') ? { EncodingType: 'url' } : {}),
    Upload: page.uploads.map((u) => ({
      Key: enc(u.key),
      UploadId: u.uploadId,
      Initiator: { ID: 'kesgate', DisplayName: 'kesgate' },
      Owner: { ID: 'kesgate', DisplayName: 'kesgate' },
      StorageClass: 'STANDARD',
      Initiated: isoDate(u.initiated),
    })),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

export async function listParts(c: S3Call): Promise<void> {
  const q = c.query;
  const uploadId = q.get('uploadId') ?? '';
  const marker = intParam(q, 'part-number-marker', 0, 0, 10000);
  const maxParts = intParam(q, 'max-parts', 1000, 0, 1000);
  const ref = { bucket: c.bucket, key: c.key, uploadId };
  const upload = await c.svc.store.getUpload(ref);
  const page = await c.svc.store.listParts(ref, { partNumberMarker: marker, maxParts });
  sendXML(c.res, 'ListPartsResult', {
    Bucket: c.bucket,
    Key: c.key,
    UploadId: uploadId,
    Initiator: { ID: 'kesgate', DisplayName: 'kesgate' },
    Owner: { ID: 'kesgate', DisplayName: 'kesgate' },
    StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    ...(page.nextPartNumberMarker !== undefined ? { NextPartNumberMarker: page.nextPartNumberMarker } : {}),
    MaxParts: maxParts,
    IsTruncated: page.isTruncated,
    ...(upload.checksumAlgorithm ? { ChecksumAlgorithm: upload.checksumAlgorithm } : {}),
    Part: page.parts.map((p) => ({
      PartNumber: p.number,
      LastModified: isoDate(p.lastModified),
      ETag: quoteETag(p.etag),
      // Sizes are plaintext sizes: what the client uploaded.
      Size: p.plainSize,
    })),
  });
}
