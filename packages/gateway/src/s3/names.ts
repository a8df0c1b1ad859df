// Validation of bucket names, object keys and user metadata, with the errors AWS returns.
import type { IncomingHttpHeaders } from 'node:http';
import { MAX_KEY_BYTES } from '../storage/validation.js';
import { S3Error } from './errors.js';

const RESERVED_PREFIXES = ['xn--', 'sthree-', 'amzn-s3-demo-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3'];
const IPV4_LIKE = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** Why `name` is not a valid bucket name, or undefined when it is (AWS general-purpose bucket rules). */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be between 3 and 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may contain only lowercase letters, digits, dots and hyphens';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'must begin and end with a letter or digit';
  if (name.includes('..')) return 'must not contain two adjacent dots';
  // Each dot-separated label must be a DNS label, or virtual-host-style addressing breaks.
  if (name.includes('.-') || name.includes('-.')) return 'must not have a hyphen next to a dot';
  if (IPV4_LIKE.test(name)) return 'must not be formatted as an IP address';
  const prefix = RESERVED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `must not start with the reserved prefix "${prefix}"`;
  const suffix = RESERVED_SUFFIXES.find((s) => name.endsWith(s));
  if (suffix) return `must not end with the reserved suffix "${suffix}"`;
  return undefined;
}

export function validateBucketName(name: string): void {
  const problem = bucketNameProblem(name);
  if (problem !== undefined) {
    throw new S3Error('InvalidBucketName', `The specified bucket is not valid: a bucket name ${problem}.`, {
      extra: { BucketName: name },
    });
  }
}

/**
 * Object keys: 1..1024 bytes of UTF-8 (KeyTooLongError). Beyond AWS, and as MinIO does, keys with
 * `.` or `..` path segments or NUL characters are refused: they are a path-traversal attempt in every
 * tool that maps keys to files, and this gateway would rather say so than store them.
 */
export function validateObjectKey(key: string): void {
  if (key.length === 0) throw new S3Error('InvalidArgument', 'The object key must not be empty.');
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new S3Error('KeyTooLongError', `Your key is too long: ${bytes} bytes of UTF-8, the limit is ${MAX_KEY_BYTES}.`, {
      extra: { Size: String(bytes), MaxSizeAllowed: String(MAX_KEY_BYTES) },
    });
  }
  if (key.includes('\0')) throw new S3Error('InvalidArgument', 'The object key must not contain a NUL character.');
  if (key.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw new S3Error('InvalidArgument', 'The object key must not contain "." or ".." path segments.', {
      extra: { ArgumentName: 'key' },
    });
  }
}

const USER_METADATA_PREFIX = 'x-amz-meta-';
const MAX_USER_METADATA_BYTES = 2048;

/**
 * The `x-amz-meta-*` headers as `{name (without prefix, lowercase): value}`. Their size — the UTF-8
 * bytes of every name and value — must be at most 2 KiB, as AWS counts it (MetadataTooLarge).
 */
export function extractUserMetadata(headers: IncomingHttpHeaders): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith(USER_METADATA_PREFIX) || raw === undefined) continue;
    const short = name.slice(USER_METADATA_PREFIX.length);
    if (short === '') throw new S3Error('InvalidArgument', 'A user metadata header needs a name after "x-amz-meta-".');
    meta[short] = Array.isArray(raw) ? raw.join(',') : raw;
  }
  validateUserMetadata(meta);
  return meta;
}

export function validateUserMetadata(meta: Record<string, string>): void {
  let size = 0;
  // Header text arrives as latin1 (one char per byte received) and is stored and sent back as those bytes:
  // counting its latin1 length counts the bytes the client sent, e.g. the UTF-8 of a non-ASCII value.
  for (const [name, value] of Object.entries(meta)) size += Buffer.byteLength(name, 'latin1') + Buffer.byteLength(value, 'latin1');
  if (size > MAX_USER_METADATA_BYTES) {
    throw new S3Error(
      'MetadataTooLarge',
      `Your metadata headers exceed the maximum allowed metadata size: ${size} bytes, the limit is ${MAX_USER_METADATA_BYTES}.`,
      { extra: { Size: String(size), MaxSizeAllowed: String(MAX_USER_METADATA_BYTES) } },
    );
  }
}
