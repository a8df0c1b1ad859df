// Request headers that choose an object's encryption, as S3 clients send them.
import { createHash } from 'node:crypto';

export function sseS3(): Record<string, string> {
  return { 'x-amz-server-side-encryption': 'AES256' };
}

export function sseKms(keyId: string): Record<string, string> {
  return { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': keyId };
}

/** S3 Bucket Keys on a write (SSE-S3 or SSE-KMS): one kes data key for many objects of a bucket. */
export function bucketKey(headers: Record<string, string>): Record<string, string> {
  return { ...headers, 'x-amz-server-side-encryption-bucket-key-enabled': 'true' };
}

/** SSE-C: the customer's 256-bit key and its MD5, both base64; sent on PUT and on every GET. */
export function sseC(key: Buffer): Record<string, string> {
  return {
    'x-amz-server-side-encryption-customer-algorithm': 'AES256',
    'x-amz-server-side-encryption-customer-key': key.toString('base64'),
    'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
  };
}
