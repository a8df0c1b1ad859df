// Range arithmetic: which encrypted bytes of which part a plaintext range needs, and the HTTP Range header.
import { ENC_PACKAGE_SIZE, PACKAGE_SIZE } from './constants.js';
import { ErrInvalidPartNumber, ErrInvalidRange } from './errors.js';
import { encryptedSize } from './size.js';

export interface PartSize {
  plainSize: number;
}

/** What to read from one part and how to decrypt it: createDecryptStream(key, {startSeq, skip, length: take}). */
export interface RangeSegment {
  /** 1-based part number. */
  part: number;
  /** Offset of the first package to read, within the part's encrypted data. */
  encOffset: number;
  /** Encrypted bytes to read: whole packages, ending at the package holding the range's last byte. */
  encLength: number;
  /** The same offset within the object's encrypted data (all parts concatenated). */
  objectEncOffset: number;
  /** Sequence number of the first package read. */
  startSeq: number;
  /** Plaintext bytes to drop from the first package. */
  skip: number;
  /** Plaintext bytes to deliver from this part. */
  take: number;
}

export interface ByteRange {
  offset: number;
  length: number;
}

function checkSizes(parts: readonly PartSize[]): number {
  let total = 0;
  for (const p of parts) {
    if (!Number.isSafeInteger(p.plainSize) || p.plainSize < 0) throw new ErrInvalidRange(`invalid part size ${p.plainSize}`);
    total += p.plainSize;
  }
  return total;
}

/** Maps the plaintext range [offset, offset+length) of an object onto its parts' package streams. */
export function mapRange(offset: number, length: number, parts: readonly PartSize[]): RangeSegment[] {
  const total = checkSizes(parts);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new ErrInvalidRange(`invalid range: offset ${offset}, length ${length}`, total);
  }
  if (offset + length > total) {
    throw new ErrInvalidRange(`range [${offset}, ${offset + length}) exceeds the object size ${total}`, total);
  }
  const out: RangeSegment[] = [];
  if (length === 0) return out;
  const end = offset + length;
  let partStart = 0;
  let encPartStart = 0;
  for (let i = 0; i < parts.length && partStart < end; i++) {
    const size = (parts[i] as PartSize).plainSize;
    const partEnd = partStart + size;
    if (partEnd > offset && size > 0) {
      const a = Math.max(offset, partStart) - partStart; // first byte, within the part
      const b = Math.min(end, partEnd) - partStart; // one past the last byte, within the part
      const first = Math.floor(a / PACKAGE_SIZE);
      const last = Math.floor((b - 1) / PACKAGE_SIZE);
      const encOffset = first * ENC_PACKAGE_SIZE;
      const encEnd = Math.min((last + 1) * ENC_PACKAGE_SIZE, encryptedSize(size));
      out.push({
        part: i + 1,
        encOffset,
        encLength: encEnd - encOffset,
        objectEncOffset: encPartStart + encOffset,
        startSeq: first,
        skip: a - first * PACKAGE_SIZE,
        take: b - a,
      });
    }
    partStart = partEnd;
    encPartStart += encryptedSize(size);
  }
  return out;
}

/** The plaintext range of part `partNumber` (1-based), for GET ?partNumber=N. */
export function partRange(partNumber: number, parts: readonly PartSize[]): ByteRange {
  checkSizes(parts);
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > parts.length) {
    throw new ErrInvalidPartNumber(`part number ${partNumber} is not in 1..${parts.length}`);
  }
  let offset = 0;
  for (let i = 0; i < partNumber - 1; i++) offset += (parts[i] as PartSize).plainSize;
  return { offset, length: (parts[partNumber - 1] as PartSize).plainSize };
}

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/i;

/**
 * HTTP/S3 Range semantics for an object of `size` bytes.
 * Returns the range to serve, or null to serve the whole object (200) — as S3 does when the header is
 * absent, malformed (e.g. `bytes=5-3`, `bytes=-`, another unit) or lists several ranges (S3 serves no
 * multi-range requests; it ignores such a header). Throws ErrInvalidRange (416) when a well-formed
 * range starts at or past the end: `bytes=a-` / `bytes=a-b` with a ≥ size, `bytes=-0`, and any
 * first-byte range on an empty object. `bytes=-n` with n > size means the whole object, as does
 * a suffix range on an empty object (RFC 9110 counts it satisfiable; there are no bytes to cut).
 * A last byte past the end is clamped to size - 1.
 */
export function parseRangeHeader(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const m = SINGLE_RANGE.exec(header.trim());
  if (m === null) return null;
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return null;
  if (first === '') {
    const n = Number(last);
    if (n === 0) throw new ErrInvalidRange('the suffix range bytes=-0 selects no bytes', size);
    if (size === 0) return null;
    const length = Math.min(n, size);
    return { offset: size - length, length };
  }
  const a = Number(first);
  if (last !== '' && Number(last) < a) return null;
  if (a >= size) throw new ErrInvalidRange(`the range starts at byte ${first}, but the object has ${size} bytes`, size);
  const b = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { offset: a, length: b - a + 1 };
}
