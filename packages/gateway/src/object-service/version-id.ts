// Object versions as S3 requests name them and responses report them: the versionId parameter (and the
// one of a copy source), the version a GET, HEAD, copy or tagging call addresses — an object, or a delete
// marker, which S3 answers with 404 or 405 and `x-amz-delete-marker` — and the x-amz-version-id header.
import { S3Error } from '../s3/errors.js';
import { isVersionId } from '../storage/object-rules.js';
import { NULL_VERSION, type BucketVersioning, type ObjectRecord, type ObjectStore } from '../storage/types.js';

export const NULL_VERSION_ID = NULL_VERSION;

/** What AWS answers for a version id it never issues. */
function invalidVersionId(versionId: string, argumentName = 'versionId'): S3Error {
  return new S3Error('InvalidArgument', 'Invalid version id specified', {
    extra: { ArgumentName: argumentName, ArgumentValue: versionId },
  });
}

/** A versionId parameter: absent → undefined; empty or not an id this gateway issues → 400 InvalidArgument. */
export function parseVersionId(value: string | null | undefined, argumentName = 'versionId'): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (value === '') {
    throw new S3Error('InvalidArgument', 'Version id cannot be the empty string', {
      extra: { ArgumentName: argumentName, ArgumentValue: '' },
    });
  }
  if (!isVersionId(value)) throw invalidVersionId(value, argumentName);
  return value;
}

/** x-amz-version-id of a response about a stored version: sent once the bucket has been versioned. */
export function versionHeaders(versionId: string, versioning: BucketVersioning): Record<string, string> {
  return versioning === 'Unversioned' ? {} : { 'x-amz-version-id': versionId };
}

/**
 * x-amz-version-id of a write (PUT, copy, Complete, POST): the new version's id. A null version is not named,
 * as the write cannot tell a suspended bucket from one never versioned without another lookup.
 */
export function writtenVersionHeaders(record: ObjectRecord): Record<string, string> {
  return record.versionId === NULL_VERSION ? {} : { 'x-amz-version-id': record.versionId };
}

export interface ResolvedVersion {
  record: ObjectRecord;
  isLatest: boolean;
  versioning: BucketVersioning;
  /** x-amz-version-id for a response about it. */
  headers: Record<string, string>;
}

/**
 * The object version a request addresses (the latest without a version id), as S3 refuses the others: no such
 * key (404 NoSuchKey) or version (404 NoSuchVersion); the key's latest is a delete marker (404 NoSuchKey with
 * x-amz-delete-marker); a version id naming a delete marker (405 MethodNotAllowed for a GET, HEAD or tagging
 * call; 400 InvalidRequest for a copy source, as AWS).
 */
export async function resolveVersion(
  store: ObjectStore,
  bucket: string,
  key: string,
  versionId: string | undefined,
  use: 'read' | 'copy-source' = 'read',
): Promise<ResolvedVersion> {
  const found = await store.getVersion(bucket, key, versionId);
  const resource = `/${bucket}/${key}`;
  const { version, versioning } = found;
  if (!version) {
    if (versionId !== undefined) {
      throw new S3Error('NoSuchVersion', undefined, { resource, extra: { Key: key, VersionId: versionId } });
    }
    throw new S3Error('NoSuchKey', undefined, { resource, extra: { Key: key } });
  }
  if (version.deleteMarker) {
    const headers = { 'x-amz-delete-marker': 'true', 'x-amz-version-id': version.versionId };
    if (versionId === undefined) throw new S3Error('NoSuchKey', undefined, { resource, extra: { Key: key }, headers });
    if (use === 'copy-source') {
      throw new S3Error('InvalidRequest', 'The source of a copy request may not specifically refer to a delete marker by version id.');
    }
    throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
      resource,
      extra: { Method: 'GET', ResourceType: 'DeleteMarker' },
      headers: { ...headers, 'last-modified': version.lastModified.toUTCString() },
    });
  }
  return { record: version, isLatest: found.isLatest, versioning, headers: versionHeaders(version.versionId, versioning) };
}
