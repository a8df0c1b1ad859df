// Object versions, as far as this gateway has them: buckets are never versioned yet, so every object
// has exactly one version, whose id is the literal "null" (as AWS names the version of an object
// written while versioning was off). Clients that work version by version (emptying a bucket with
// DeleteObjects of every listed version, a copy from an explicit source version) name that id.
import { S3Error } from '../s3/errors.js';

export const NULL_VERSION_ID = 'null';

/** What AWS answers for a version id a bucket never issued (on a bucket that was never versioned). */
export function invalidVersionId(versionId: string, argumentName = 'versionId'): S3Error {
  return new S3Error('InvalidArgument', 'Invalid version id specified', { extra: { ArgumentName: argumentName, ArgumentValue: versionId } });
}

/**
 * A versionId of a GET, HEAD, DELETE or copy source: absent or "null" both mean the current (and only)
 * version; anything else is refused, never taken for the current object.
 */
export function requireCurrentVersion(versionId: string | null | undefined, argumentName = 'versionId'): void {
  if (versionId === null || versionId === undefined || versionId === NULL_VERSION_ID) return;
  if (versionId === '') {
    throw new S3Error('InvalidArgument', 'Version id cannot be the empty string', { extra: { ArgumentName: argumentName, ArgumentValue: '' } });
  }
  throw invalidVersionId(versionId, argumentName);
}
