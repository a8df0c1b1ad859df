import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Request } from 'express';
import { parseVersionId } from '../object-service/version-id.js';
import { S3Error } from '../s3/errors.js';
import { firstHeader } from '../s3/header-values.js';
import { extractUserMetadata, validateUserMetadata } from '../s3/names.js';
import { STANDARD_HEADERS, type ObjectMetadata, type StandardHeaders } from '../storage/types.js';

export function query(req: Request): URLSearchParams {
  const q = req.originalUrl.indexOf('?');
  return new URLSearchParams(q >= 0 ? req.originalUrl.slice(q + 1) : '');
}

/** Content-Type, x-amz-meta-* and the standard headers that are stored with an object. */
export function objectMetadata(h: IncomingHttpHeaders): ObjectMetadata {
  const userMetadata = extractUserMetadata(h);
  validateUserMetadata(userMetadata);
  const standardHeaders: StandardHeaders = {};
  for (const name of STANDARD_HEADERS) {
    let v = firstHeader(h, name);
    // aws-chunked is a transfer detail of this request, not a property of the object (AWS drops it too).
    if (name === 'content-encoding' && v !== undefined) {
      v =
        v
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '' && s !== 'aws-chunked')
          .join(', ') || undefined;
    }
    if (v !== undefined) standardHeaders[name] = v;
  }
  const contentType = firstHeader(h, 'content-type');
  return { ...(contentType !== undefined ? { contentType } : {}), userMetadata, standardHeaders };
}

const SSEC_HEADER = /^x-amz-(copy-source-)?server-side-encryption-customer-/;

/**
 * SSE-C sends the key itself: refuse it over plain HTTP, unless configured for local tests. `names`: where
 * the SSE-C fields are (the request's headers, or the fields of a form upload).
 */
export function requireTLSForSSEC(req: Request, allowInsecure: boolean, names: Iterable<string> = Object.keys(req.headers)): void {
  if (allowInsecure || (req.socket as TLSSocket).encrypted) return;
  if ([...names].some((n) => SSEC_HEADER.test(n))) {
    throw new S3Error(
      'InvalidRequest',
      'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.',
    );
  }
}

/** Parses an integer query parameter in [min, max], else InvalidArgument naming it. */
export function intParam(q: URLSearchParams, name: string, def: number, min: number, max: number): number {
  const v = q.get(name);
  if (v === null || v === '') return def;
  if (!/^-?\d+$/.test(v) || Number(v) < min) {
    throw new S3Error('InvalidArgument', `${name} must be an integer between ${min} and ${max}.`, {
      extra: { ArgumentName: name, ArgumentValue: v },
    });
  }
  return Math.min(Number(v), max);
}

/** `x-amz-copy-source: /bucket/key[?versionId=...]` (URL-encoded), as AWS clients send it. */
export function parseCopySource(value: string): { bucket: string; key: string; versionId?: string } {
  let v = value.trim();
  const q = v.indexOf('?');
  let versionId: string | undefined;
  if (q >= 0) {
    versionId = parseVersionId(new URLSearchParams(v.slice(q + 1)).get('versionId'), 'x-amz-copy-source');
    v = v.slice(0, q);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(v);
  } catch {
    throw new S3Error('InvalidArgument', 'Invalid copy source encoding.', { extra: { ArgumentName: 'x-amz-copy-source' } });
  }
  if (decoded.startsWith('/')) decoded = decoded.slice(1);
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey.', {
      extra: { ArgumentName: 'x-amz-copy-source' },
    });
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), ...(versionId !== undefined ? { versionId } : {}) };
}
