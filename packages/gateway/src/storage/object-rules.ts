// The S3 rules the object store applies inside a metadata transaction (the callbacks it hands the
// metadata store), and the values it generates: revisions and upload ids. Written once, for every
// metadata store.
import { uniqueRandom } from '@kesgate/dare';
import { InvalidArgument, InvalidPart, PreconditionFailed } from './errors.js';
import { unquoteETag } from './etag.js';
import {
  NULL_VERSION,
  type BucketVersioning,
  type CompletePart,
  type PartRecord,
  type UploadedPart,
  type WritePrecondition,
} from './types.js';
import { assertPartNumber, assertSize } from './validation.js';
import type { ExistingObject } from './metadata/types.js';

/**
 * Every given condition must hold for the object as it is now, else PreconditionFailed. The object is read only
 * when a condition is given: an unconditional write replaces whatever is stored, even a record that cannot be read.
 */
export function checkPrecondition(current: ExistingObject, condition: WritePrecondition | undefined): void {
  if (!condition || (condition.ifNoneMatch === undefined && condition.ifMatchEtag === undefined && condition.ifRevision === undefined))
    return;
  const existing = current();
  if (condition.ifNoneMatch === '*' && existing) {
    throw new PreconditionFailed(`The object ${existing.key} already exists`);
  }
  if (condition.ifMatchEtag !== undefined) {
    if (!existing || unquoteETag(existing.etag) !== unquoteETag(condition.ifMatchEtag)) {
      throw new PreconditionFailed('The object does not exist with the ETag given in If-Match');
    }
  }
  if (condition.ifRevision !== undefined && existing?.revision !== condition.ifRevision) {
    throw new PreconditionFailed('The object changed since it was read');
  }
}

/**
 * The parts a CompleteMultipartUpload chose, from those uploaded: each must have been uploaded and match
 * its ETag when one is given (InvalidPart). Their order was checked before (InvalidPartOrder).
 */
export function chooseParts(uploaded: readonly UploadedPart[], chosen: readonly CompletePart[], uploadId: string): PartRecord[] {
  const byNumber = new Map(uploaded.map((part) => [part.number, part]));
  return chosen.map(({ number, etag }) => {
    const part = byNumber.get(number);
    if (!part) throw new InvalidPart(`Part ${number} was not uploaded (upload ${uploadId})`);
    if (etag !== undefined && unquoteETag(etag) !== unquoteETag(part.etag)) {
      throw new InvalidPart(`Part ${number} has ETag "${unquoteETag(part.etag)}", not "${unquoteETag(etag)}"`);
    }
    const { lastModified: _uploaded, ...record } = part;
    return record;
  });
}

/** The parts handed to putObject/putPart: numbered, ascending, with sizes. A failure is the caller's bug. */
export function assertParts(parts: readonly PartRecord[]): void {
  if (parts.length === 0) throw new TypeError('an object needs at least one part (an empty object has one empty part)');
  parts.forEach((part, i) => {
    assertPartNumber(part.number);
    if (i > 0 && part.number <= parts[i - 1]!.number) {
      throw new TypeError('parts must be in strictly ascending order of part number');
    }
    assertSize('plainSize', part.plainSize);
    assertSize('encSize', part.encSize);
  });
}

export function newRevision(): string {
  return uniqueRandom(12).toString('hex');
}

/** Time-ordered (so ids sort in initiation order, as S3 lists them) and 128 random bits. */
export function newUploadId(): string {
  return Date.now().toString(16).padStart(12, '0') + uniqueRandom(16).toString('hex');
}

/** 192 random bits, base64url: opaque, unique and URL-safe (it appears in query strings and XML unescaped). */
export function newVersionId(): string {
  return uniqueRandom(24).toString('base64url');
}

const VERSION_ID = /^[A-Za-z0-9_-]{32}$/;

/** Whether this store may have issued `versionId`: "null" or one of newVersionId's. */
export function isVersionId(versionId: string): boolean {
  return versionId === NULL_VERSION || VERSION_ID.test(versionId);
}

/** A version id this store may have issued; anything else → InvalidArgument. */
export function assertVersionId(versionId: string): void {
  if (!isVersionId(versionId)) throw new InvalidArgument('Invalid version id specified');
}

/** The id a write stores its object under: a new version while versioning is Enabled, else the null version. */
export function versionIdFor(versioning: BucketVersioning): string {
  return versioning === 'Enabled' ? newVersionId() : NULL_VERSION;
}
