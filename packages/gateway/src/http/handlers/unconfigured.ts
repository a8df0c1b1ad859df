// Bucket sub-resources the gateway never configures, answered as AWS answers a bucket that has none
// (clients such as Terraform, rclone and the consoles read them all before they act), and 501 for the
// operations it does not implement. A missing bucket is NoSuchBucket first, as on AWS.
import { S3Error, type S3ErrorCode } from '../../s3/errors.js';
import type { S3Call, S3Handler } from '../services.js';
import { sendXML } from '../reply.js';

/** GET of a configuration that does not exist: AWS's 404 for it. */
function none(code: S3ErrorCode): S3Handler {
  return async (c: S3Call) => {
    await c.svc.store.headBucket(c.bucket);
    throw new S3Error(code, undefined, { extra: { BucketName: c.bucket } });
  };
}

/** GET of a configuration AWS always has: its document with nothing configured. */
function empty(root: string, body: Record<string, unknown> = {}): S3Handler {
  return async (c: S3Call) => {
    await c.svc.store.headBucket(c.bucket);
    sendXML(c.res, root, body);
  };
}

/** DELETE of a configuration there is none of: done. */
async function nothingToDelete(c: S3Call): Promise<void> {
  await c.svc.store.headBucket(c.bucket);
  c.res.status(204).end();
}

export const getBucketPolicy = none('NoSuchBucketPolicy');
export const getBucketPolicyStatus = empty('PolicyStatus', { IsPublic: false });
export const getBucketLifecycleConfiguration = none('NoSuchLifecycleConfiguration');
export const getBucketWebsite = none('NoSuchWebsiteConfiguration');
export const getBucketLogging = empty('BucketLoggingStatus');
export const getBucketReplication = none('ReplicationConfigurationNotFoundError');
export const getObjectLockConfiguration = none('ObjectLockConfigurationNotFoundError');
export const getBucketNotificationConfiguration = empty('NotificationConfiguration');
export const getBucketRequestPayment = empty('RequestPaymentConfiguration', { Payer: 'BucketOwner' });
export const getBucketAccelerateConfiguration = empty('AccelerateConfiguration');

export const deleteBucketPolicy = nothingToDelete;
export const deleteBucketLifecycle = nothingToDelete;
export const deleteBucketWebsite = nothingToDelete;
export const deleteBucketReplication = nothingToDelete;

/** An S3 operation this gateway does not implement: 501 naming it. */
export function notImplemented(operation: string): S3Handler {
  return async () => {
    throw new S3Error('NotImplemented', `${operation} is not implemented by this gateway.`);
  };
}
