// The two ETag rules of new data (docs/object-format.md, "ETags"); each mode says which is its own.
import { uniqueRandom } from '@kesgate/dare';

/** The hex MD5 of the plaintext, as AWS returns for SSE-S3. */
export const md5ETag = (digests: { md5Hex: string }): string => digests.md5Hex;

/** Random (the shape of an MD5), as AWS's SSE-C and SSE-KMS ETags: it tells nothing about the plaintext. */
export const randomETag = (): string => uniqueRandom(16).toString('hex');
