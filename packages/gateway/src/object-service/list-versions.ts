// ListObjectVersions: every version and delete marker under a prefix, in S3's order (key ascending, newest
// version first), paged by key-marker and version-id-marker. The store does the paging over its index; this
// module turns S3's request rules into storage arguments and the store's page into entries.
import { S3Error } from '../s3/errors.js';
import type { ChecksumAlgorithm, ObjectStore } from '../storage/types.js';
import { parseVersionId } from './version-id.js';

export interface ListVersionsQuery {
  bucket: string;
  prefix: string;
  delimiter: string;
  maxKeys: number;
  /** Entries after this key (after this key's version `versionIdMarker`, when one is given). */
  keyMarker?: string;
  versionIdMarker?: string;
}

interface ObjectVersionEntry {
  kind: 'version';
  key: string;
  versionId: string;
  isLatest: boolean;
  lastModified: Date;
  etag: string;
  size: number;
  checksumAlgorithm?: ChecksumAlgorithm;
}

interface DeleteMarkerEntry {
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
  parseVersionId(versionIdMarker, 'version-id-marker');
}

export async function listObjectVersions(store: ObjectStore, q: ListVersionsQuery): Promise<ListVersionsPage> {
  checkMarkers(q.keyMarker, q.versionIdMarker);
  const page = await store.listVersions({
    bucket: q.bucket,
    prefix: q.prefix,
    delimiter: q.delimiter,
    maxKeys: q.maxKeys,
    ...(q.keyMarker !== undefined ? { keyMarker: q.keyMarker } : {}),
    ...(q.versionIdMarker !== undefined ? { versionIdMarker: q.versionIdMarker } : {}),
  });
  const entries = page.versions.map((v): ObjectVersionEntry | DeleteMarkerEntry =>
    v.deleteMarker
      ? { kind: 'deleteMarker', key: v.key, versionId: v.versionId, isLatest: v.isLatest, lastModified: v.lastModified }
      : {
          kind: 'version',
          key: v.key,
          versionId: v.versionId,
          isLatest: v.isLatest,
          lastModified: v.lastModified,
          etag: v.etag,
          size: v.size,
          ...(v.checksumAlgorithm ? { checksumAlgorithm: v.checksumAlgorithm } : {}),
        },
  );
  const result: ListVersionsPage = { entries, commonPrefixes: page.commonPrefixes, isTruncated: page.isTruncated };
  if (page.nextKeyMarker !== undefined) result.nextKeyMarker = page.nextKeyMarker;
  if (page.nextVersionIdMarker !== undefined) result.nextVersionIdMarker = page.nextVersionIdMarker;
  return result;
}
