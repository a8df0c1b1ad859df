import type { S3Call } from '../services.js';
import { intParam } from '../request.js';
import { isoDate, sendXML } from '../reply.js';
import { quoteETag } from '../../object-service/headers.js';
import { listEncoder } from '../list-encoding.js';
import { OWNER } from '../owner.js';

function optional(name: string, v: string | null | undefined, enc: (s: string) => string): Record<string, string> {
  return v === null || v === undefined || v === '' ? {} : { [name]: enc(v) };
}

export async function listObjects(c: S3Call, version: 1 | 2): Promise<void> {
  const q = c.query;
  const enc = listEncoder(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = intParam(q, 'max-keys', 1000, 0, 1000);
  // An empty continuation-token is no token (some clients send the parameter on the first page too).
  const token = version === 2 ? q.get('continuation-token') || null : null;
  const startAfter = version === 2 ? q.get('start-after') : q.get('marker');
  // V1 lists every entry's owner; V2 only when asked (fetch-owner=true), as AWS does.
  const withOwner = version === 1 || q.get('fetch-owner') === 'true';
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
    ...(withOwner ? { Owner: OWNER } : {}),
    StorageClass: 'STANDARD',
  }));
  const common = page.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
  // ListObjects (V1) answers its Prefix as given even under encoding-type=url, as AWS does: botocore
  // decodes V1's Delimiter, Marker, NextMarker, keys and common prefixes, but not its Prefix.
  const body: Record<string, unknown> = { Name: c.bucket, Prefix: version === 2 ? enc(prefix) : prefix };
  if (version === 2) {
    Object.assign(
      body,
      optional('StartAfter', startAfter, enc),
      optional('ContinuationToken', token, (s) => s),
    );
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
  const enc = listEncoder(q);
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
      Initiator: OWNER,
      Owner: OWNER,
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
    Initiator: OWNER,
    Owner: OWNER,
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
