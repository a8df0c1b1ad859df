// ACLs with ACLs disabled, as AWS answers for a bucket whose Object Ownership is "bucket owner enforced":
// reading an ACL answers the owner's FULL_CONTROL; setting one succeeds only when it says the same. The
// gateway stores no ACLs, so even on a bucket whose ownership controls say ObjectWriter or
// BucketOwnerPreferred (where AWS would take ACLs) any other ACL is refused, with a message saying why.
import { aclNotSupported, aclOfHeaders, type AclVerdict, ownerOnlyPolicy, parseAccessControlPolicy } from '../../s3/acl.js';
import { S3Error } from '../../s3/errors.js';
import { getRecord } from '../../object-service/read.js';
import { amzValue } from '../amz-values.js';
import type { S3Call } from '../services.js';
import { sendXML } from '../reply.js';
import { OWNER } from '../owner.js';
import { smallBody } from './buckets.js';

const ACL_BODY_LIMIT = 64 * 1024;

/** The ACL of the request's x-amz-acl / x-amz-grant-* (headers, or a presigned URL's query), if it states one. */
function aclOfRequest(c: S3Call): AclVerdict | undefined {
  return aclOfHeaders((name) => amzValue(c, name), OWNER.ID);
}

/** PutObject, CopyObject, CreateMultipartUpload: an ACL other than the owner's own is refused before anything is written. */
export function requirePrivateAcl(c: S3Call): void {
  if (aclOfRequest(c) === 'grants-others') throw aclNotSupported();
}

/** PutBucketAcl / PutObjectAcl: the ACL comes in headers or in the body, never both. */
async function requestedAcl(c: S3Call, operation: string): Promise<AclVerdict> {
  const fromHeaders = aclOfRequest(c);
  const body = await smallBody(c, ACL_BODY_LIMIT);
  const hasBody = body.toString('utf8').trim() !== '';
  if (fromHeaders !== undefined && hasBody) {
    throw new S3Error(
      'InvalidRequest',
      `${operation} takes the ACL in x-amz-acl / x-amz-grant-* headers or in the request body, not both.`,
    );
  }
  if (fromHeaders !== undefined) return fromHeaders;
  if (!hasBody)
    throw new S3Error(
      'MissingSecurityHeader',
      `${operation} needs an x-amz-acl header, x-amz-grant-* headers or an AccessControlPolicy body.`,
    );
  return parseAccessControlPolicy(body, OWNER.ID);
}

export async function getBucketAcl(c: S3Call): Promise<void> {
  await c.svc.store.headBucket(c.bucket);
  sendXML(c.res, 'AccessControlPolicy', ownerOnlyPolicy(OWNER));
}

export async function putBucketAcl(c: S3Call): Promise<void> {
  await c.svc.store.headBucket(c.bucket);
  if ((await requestedAcl(c, 'PutBucketAcl')) !== 'owner-only') throw aclNotSupported();
  c.res.status(200).end();
}

/** Reading an object's ACL needs no SSE-C key, as on AWS: it says nothing of the data. */
export async function getObjectAcl(c: S3Call): Promise<void> {
  await getRecord(c.svc.store, c.bucket, c.key);
  sendXML(c.res, 'AccessControlPolicy', ownerOnlyPolicy(OWNER));
}

export async function putObjectAcl(c: S3Call): Promise<void> {
  await getRecord(c.svc.store, c.bucket, c.key);
  if ((await requestedAcl(c, 'PutObjectAcl')) !== 'owner-only') throw aclNotSupported();
  c.res.status(200).end();
}
