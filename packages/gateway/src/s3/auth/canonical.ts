// The building blocks of AWS Signature Version 4: URI encoding, the canonical request, the string
// to sign and the signing key. Pure functions, tested against AWS's published examples.
import { createHash, createHmac } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmacSha256(key: string | Uint8Array, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, every other UTF-8 byte `%XX` (uppercase). */
export function uriEncode(value: string, encodeSlash = true): string {
  const encoded = encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return encodeSlash ? encoded : encoded.replace(/%2F/g, '/');
}

function decodeOr(raw: string, fallback: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return fallback;
  }
}

/**
 * The canonical URI for a path as the client sent it. S3 signs the path exactly as sent (no
 * double encoding, no dot-segment removal), so the raw path is the first candidate; clients that
 * send some reserved characters unencoded (`$`, `+`, `=`, `:`...) sign the fully encoded form, so
 * each segment decoded once and re-encoded is the second (only when it differs).
 */
export function canonicalUriCandidates(rawPath: string): string[] {
  const path = rawPath === '' ? '/' : rawPath;
  const normalised = path
    .split('/')
    .map((segment) => uriEncode(decodeOr(segment, segment)))
    .join('/');
  return normalised === path ? [path] : [path, normalised];
}

/**
 * The canonical query string: every parameter name and value decoded once and re-encoded with
 * `uriEncode`, sorted by name then value. `plusIsSpace` decodes `+` as a space (form encoding, as
 * the query parser of the HTTP layer does); false keeps it a literal plus sign.
 */
export function canonicalQueryString(rawQuery: string, exclude: (name: string) => boolean = () => false, plusIsSpace = true): string {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const rawName = eq >= 0 ? piece.slice(0, eq) : piece;
    const rawValue = eq >= 0 ? piece.slice(eq + 1) : '';
    const decode = (s: string): string => {
      const t = plusIsSpace ? s.replace(/\+/g, ' ') : s;
      return decodeOr(t, t);
    };
    const name = decode(rawName);
    if (exclude(name)) continue;
    pairs.push([uriEncode(name), uriEncode(decode(rawValue))]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** `name:value\n` for each signed header, values trimmed with inner whitespace runs collapsed, repeats joined by `,`. */
export function canonicalHeaders(
  headers: Readonly<Record<string, readonly string[] | undefined>>,
  signedHeaders: readonly string[],
): string {
  return signedHeaders
    .map((name) => {
      const values = headers[name] ?? [];
      return `${name}:${values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`;
    })
    .join('');
}

export interface CanonicalRequestParts {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  canonicalHeaders: string;
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function canonicalRequest(p: CanonicalRequestParts): string {
  return [p.method, p.canonicalUri, p.canonicalQuery, p.canonicalHeaders, p.signedHeaders.join(';'), p.payloadHash].join('\n');
}

export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`;
}

/**
 * @param canonicalRequestText the canonical request; as a string it is hashed as UTF-8. A server
 *   verifying a request passes `canonicalRequestBytes(text)`: header values arrive as bytes (Node
 *   reads them as latin1), and the client signed exactly those bytes.
 */
export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string | Uint8Array): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequestText)}`;
}

/** The bytes of a canonical request built from Node-parsed (latin1) header values. */
export function canonicalRequestBytes(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

export function deriveSigningKey(secretKey: string, date: string, region: string, service: string): Buffer {
  const kDate = hmacSha256(`AWS4${secretKey}`, date);
  const kRegion = hmacSha256(kDate, region);
  const kService = hmacSha256(kRegion, service);
  return hmacSha256(kService, 'aws4_request');
}

export function signatureHex(signingKey: Uint8Array, text: string): string {
  return hmacSha256(signingKey, text).toString('hex');
}

/** The string to sign for one chunk of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body. */
export function chunkStringToSign(amzDate: string, scope: string, previousSignature: string, chunkSha256Hex: string): string {
  return `AWS4-HMAC-SHA256-PAYLOAD\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
}

/** The string to sign for the trailing headers of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER body. */
export function trailerStringToSign(amzDate: string, scope: string, previousSignature: string, canonicalTrailers: string): string {
  return `AWS4-HMAC-SHA256-TRAILER\n${amzDate}\n${scope}\n${previousSignature}\n${sha256Hex(canonicalTrailers)}`;
}

/** `YYYYMMDDTHHMMSSZ` → Date, or undefined when malformed. */
export function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Reject rollovers such as month 13 or second 61.
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || date.getUTCHours() !== h) return undefined;
  if (date.getUTCMinutes() !== mi || date.getUTCSeconds() !== s) return undefined;
  return date;
}

export function formatAmzDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}
