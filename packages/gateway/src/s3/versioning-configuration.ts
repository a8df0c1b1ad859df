// The VersioningConfiguration document of Put/GetBucketVersioning.
import type { BucketVersioning } from '../storage/types.js';
import { S3Error } from './errors.js';
import { parseXML, rootOf, textOf } from './xml.js';

export interface VersioningRequest {
  /** Absent: the state stays as it is (a document naming only MfaDelete). */
  status?: 'Enabled' | 'Suspended';
}

/**
 * `<VersioningConfiguration><Status>Enabled|Suspended</Status><MfaDelete>…</MfaDelete></VersioningConfiguration>`.
 * → MalformedXML; NotImplemented for MFA delete, which needs an MFA device this gateway does not have.
 */
export function parseVersioningConfiguration(body: string | Buffer): VersioningRequest {
  const root = rootOf(parseXML(body), 'VersioningConfiguration');
  const status = textOf(root, 'Status', 'VersioningConfiguration')?.trim();
  const mfa = textOf(root, 'MfaDelete', 'VersioningConfiguration')?.trim();
  if (mfa !== undefined && mfa !== 'Disabled' && mfa !== 'Enabled') {
    throw new S3Error('MalformedXML', `MfaDelete must be Enabled or Disabled; got "${mfa.slice(0, 64)}".`);
  }
  if (mfa === 'Enabled') throw new S3Error('NotImplemented', 'MFA delete is not supported by this gateway.');
  if (status === undefined) return {};
  if (status !== 'Enabled' && status !== 'Suspended') {
    throw new S3Error('MalformedXML', `Status must be Enabled or Suspended; got "${status.slice(0, 64)}".`);
  }
  return { status };
}

/** The document GetBucketVersioning answers: empty for a bucket never versioned, as AWS. */
export function versioningDocument(state: BucketVersioning): Record<string, unknown> {
  return state === 'Unversioned' ? {} : { Status: state };
}
