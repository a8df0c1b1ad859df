// ListObjectVersions over the store's object listing. Without versioning every object is one version,
// "null" and the latest; the page types already carry what versioned buckets will need (several
// versions per key, delete markers, a version-id marker) so that real versions change this module,
// not the handler or the clients.
import { S3Error } from '../s3/errors.js';
import type { ChecksumAlgorithm, ObjectStore } from '../storage/types.js';
import { invalidVersionId, NULL_VERSION_ID } from './version-id.js';

export interface ListVersionsQuery {
  bucket: string;
  prefix: string;
  delimiter: string;
  maxKeys: number;
  /** Entries after this key (after this key's version `versionIdMarker`, when one is given). */
  keyMarker?: string;
  versionIdMarker?: string;
}

export interface ObjectVersionEntry {
  kind: 'version';
  key: string;
  versionId: string;
  isLatest: boolean;
  lastModified: Date;
  etag: string;
  size: number;
  checksumAlgorithm?: ChecksumAlgorithm;
}

export interface DeleteMarkerEntry {
  kind: 'deleteMarker';
  key: string;
  versionId: string;
  isLatest: boolean;
  lastModified: Date;
}

export interface ListVersionsPage {
  /** In key order, newest version first within a key. */
  entries: (ObjectVersionEntry | DeleteMarkerEntry)[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** When truncated: the last key or common prefix returned. */
  nextKeyMarker?: string;
  /** When truncated after a version (not after a common prefix): its id. */
  nextVersionIdMarker?: string;
}

/** The markers' rules, as AWS words its refusals. */
function checkMarkers(keyMarker: string | undefined, versionIdMarker: string | undefined): void {
  if (versionIdMarker === undefined) return;
  if (keyMarker === undefined) {
    throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', {
      extra: { ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker },
    });
  }
  if (versionIdMarker !== NULL_VERSION_ID) throw invalidVersionId(versionIdMarker, 'version-id-marker');
}

export async function listObjectVersions(store: ObjectStore, q: ListVersionsQuery): Promise<ListVersionsPage> {
  checkMarkers(q.keyMarker, q.versionIdMarker);
  // The one version of the marker's key is "null", so "after (key, null)" and "after key" are the same
  // place: the listing resumes at the next key (or past the whole common prefix the marker names).
  const page = await store.listObjects({
    bucket: q.bucket,
    prefix: q.prefix,
    delimiter: q.delimiter,
    maxKeys: q.maxKeys,
    ...(q.keyMarker !== undefined ? { startAfter: q.keyMarker } : {}),
  });
  const entries: ObjectVersionEntry[] = page.contents.map((o) => ({
    kind: 'version',
    key: o.key,
    versionId: NULL_VERSION_ID,
    isLatest: true,
    lastModified: o.lastModified,
    etag: o.etag,
    size: o.size,
    ...(o.checksumAlgorithm ? { checksumAlgorithm: o.checksumAlgorithm } : {}),
  }));
  const result: ListVersionsPage = { entries, commonPrefixes: page.commonPrefixes, isTruncated: page.isTruncated };
  if (page.isTruncated && page.nextMarker !== undefined) {
    result.nextKeyMarker = page.nextMarker;
    const last = entries.at(-1);
    if (last !== undefined && last.key === page.nextMarker) result.nextVersionIdMarker = last.versionId;
  }
  return result;
}
