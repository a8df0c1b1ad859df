import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../s3/errors.js';
import { quoteETag } from './headers.js';
import { firstHeader } from '../s3/header-values.js';
import { unquoteETag } from '../storage/etag.js';

export interface Conditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: Date;
  ifUnmodifiedSince?: Date;
}

function date(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v);
  // An unparseable date is ignored, as HTTP says (and S3 does).
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The If-* headers of a GET/HEAD, or the x-amz-copy-source-if-* headers of a copy (prefix). */
export function parseConditions(h: IncomingHttpHeaders, prefix = ''): Conditions {
  const c: Conditions = {};
  const m = firstHeader(h, `${prefix}if-match`);
  const n = firstHeader(h, `${prefix}if-none-match`);
  const ms = date(firstHeader(h, `${prefix}if-modified-since`));
  const us = date(firstHeader(h, `${prefix}if-unmodified-since`));
  if (m !== undefined) c.ifMatch = m;
  if (n !== undefined) c.ifNoneMatch = n;
  if (ms) c.ifModifiedSince = ms;
  if (us) c.ifUnmodifiedSince = us;
  return c;
}

function etagListMatches(list: string, etag: string): boolean {
  return list.split(',').some((t) => {
    const v = unquoteETag(t.trim().replace(/^W\//, ''));
    return v === '*' || v === etag;
  });
}

/** Whole seconds: Last-Modified is sent with one-second precision, so comparisons must use it too. */
const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);

/**
 * RFC 9110 precedence as S3 applies it: If-Match, else If-Unmodified-Since (412); then If-None-Match, else
 * If-Modified-Since (304 for reads). A copy (`forCopy`) answers 412 where a read answers 304.
 */
export function checkConditions(c: Conditions, etag: string, lastModified: Date, forCopy = false): void {
  if (c.ifMatch !== undefined) {
    if (!etagListMatches(c.ifMatch, etag)) throw new S3Error('PreconditionFailed', undefined, { extra: { Condition: 'If-Match' } });
  } else if (c.ifUnmodifiedSince && seconds(lastModified) > seconds(c.ifUnmodifiedSince)) {
    throw new S3Error('PreconditionFailed', undefined, { extra: { Condition: 'If-Unmodified-Since' } });
  }
  // A 304 still describes the object it did not send (RFC 9110 15.4.5): caches and clients read its validators.
  const notModified = forCopy
    ? (cond: string) => new S3Error('PreconditionFailed', undefined, { extra: { Condition: cond } })
    : () => new S3Error('NotModified', undefined, { headers: { etag: quoteETag(etag), 'last-modified': lastModified.toUTCString() } });
  if (c.ifNoneMatch !== undefined) {
    if (etagListMatches(c.ifNoneMatch, etag)) throw notModified('If-None-Match');
  } else if (c.ifModifiedSince && seconds(lastModified) <= seconds(c.ifModifiedSince)) {
    throw notModified('If-Modified-Since');
  }
}
