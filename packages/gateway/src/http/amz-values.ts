import type { S3Call } from './services.js';
import { firstHeader } from '../s3/header-values.js';

/**
 * An x-amz-* request value (lower-case name): the header, else the query parameter of that name. SDK
 * presigners move x-amz-* headers into a presigned URL's signed query (x-amz-tagging, x-amz-acl), and S3
 * applies them from there; ignoring them would drop a client's tags or ACL without a word.
 */
export function amzValue(c: S3Call, name: string): string | undefined {
  return firstHeader(c.req.headers, name) ?? c.query.get(name) ?? undefined;
}
