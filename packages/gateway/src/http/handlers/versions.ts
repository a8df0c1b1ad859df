import { listObjectVersions } from '../../object-service/list-versions.js';
import { quoteETag } from '../../object-service/headers.js';
import type { S3Call } from '../services.js';
import { listEncoder } from '../list-encoding.js';
import { OWNER } from '../owner.js';
import { isoDate, sendXML } from '../reply.js';
import { intParam } from '../request.js';

/** GET /bucket?versions: ListObjectVersions (ListVersionsResult), with AWS's element order. */
export async function listObjectVersionsHandler(c: S3Call): Promise<void> {
  const q = c.query;
  const enc = listEncoder(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxKeys = intParam(q, 'max-keys', 1000, 0, 1000);
  // An empty marker is no marker (clients send key-marker= on a first page).
  const keyMarker = q.get('key-marker') || undefined;
  const versionIdMarker = q.get('version-id-marker') || undefined;
  const page = await listObjectVersions(c.svc.store, {
    bucket: c.bucket,
    prefix,
    delimiter,
    maxKeys,
    ...(keyMarker !== undefined ? { keyMarker } : {}),
    ...(versionIdMarker !== undefined ? { versionIdMarker } : {}),
  });
  const versions = page.entries.filter((e) => e.kind === 'version');
  const deleteMarkers = page.entries.filter((e) => e.kind === 'deleteMarker');
  sendXML(c.res, 'ListVersionsResult', {
    Name: c.bucket,
    Prefix: enc(prefix),
    KeyMarker: enc(keyMarker ?? ''),
    VersionIdMarker: versionIdMarker ?? '',
    ...(page.nextKeyMarker !== undefined ? { NextKeyMarker: enc(page.nextKeyMarker) } : {}),
    ...(page.nextVersionIdMarker !== undefined ? { NextVersionIdMarker: page.nextVersionIdMarker } : {}),
    MaxKeys: maxKeys,
    ...(delimiter !== '' ? { Delimiter: enc(delimiter) } : {}),
    IsTruncated: page.isTruncated,
    ...(q.get('encoding-type') ? { EncodingType: 'url' } : {}),
    Version: versions.map((v) => ({
      Key: enc(v.key),
      VersionId: v.versionId,
      IsLatest: v.isLatest,
      LastModified: isoDate(v.lastModified),
      ETag: quoteETag(v.etag),
      ...(v.checksumAlgorithm ? { ChecksumAlgorithm: v.checksumAlgorithm } : {}),
      Size: v.size,
      StorageClass: 'STANDARD',
      Owner: OWNER,
    })),
    DeleteMarker: deleteMarkers.map((d) => ({
      Key: enc(d.key),
      VersionId: d.versionId,
      IsLatest: d.isLatest,
      LastModified: isoDate(d.lastModified),
      Owner: OWNER,
    })),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
}
