// Checks on the strings storage is handed. Bucket names and other S3 rules are checked above;
// here only what storage itself depends on.
import { InvalidArgument, KeyTooLong } from './errors.js';

export const MAX_KEY_BYTES = 1024;
export const MAX_PART_NUMBER = 10000;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A string storage can keep exactly: one with an unpaired surrogate has no UTF-8 form and would
 * come back altered (SQLite stores UTF-8).
 */
export function isWellFormed(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

/** Object keys: non-empty, valid UTF-8, at most 1024 bytes. Otherwise opaque (`../x` is a key). */
export function assertObjectKey(key: string): void {
  if (key.length === 0) throw new InvalidArgument('An object key must not be empty');
  if (!isWellFormed(key)) {
    throw new InvalidArgument('An object key must be valid UTF-8 (it has an unpaired surrogate)');
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) throw new KeyTooLong(bytes);
}

/** Prefixes, delimiters and markers of listing requests. */
export function assertListArgument(name: string, value: string | undefined): void {
  if (value !== undefined && !isWellFormed(value)) {
    throw new InvalidArgument(`${name} must be valid UTF-8 (it has an unpaired surrogate)`);
  }
}

export function assertPartNumber(number: number): void {
  if (!Number.isInteger(number) || number < 1 || number > MAX_PART_NUMBER) {
    throw new InvalidArgument(`Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive (got ${number})`);
  }
}

export function assertMaxCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new InvalidArgument(`${name} must be a non-negative integer (got ${value})`);
  }
}

export function assertSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative integer (got ${value})`);
  }
}
