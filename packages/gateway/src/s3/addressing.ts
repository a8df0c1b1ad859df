// Which bucket and key a request addresses: path-style (`/bucket/key`) or virtual-host-style
// (`bucket.s3.example.com/key`). The key is percent-decoded exactly once; `+` stays a plus sign.
import { isIP } from 'node:net';
import { S3Error } from './errors.js';

export interface S3Address {
  bucket?: string;
  key?: string;
  style: 'path' | 'virtual-host';
}

/** Percent-decodes a path component once; malformed escapes or invalid UTF-8 → InvalidURI. */
function decodePathComponent(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new S3Error('InvalidURI', `Couldn't parse the specified URI: "${raw}" is not valid percent-encoded UTF-8.`);
  }
}

/** The hostname of a Host header, lowercased, without port; IPv6 brackets removed. */
function hostnameOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/** The bucket a Host header names as `<bucket>.<domain>` for one of `baseDomains`, else undefined (path-style). */
export function virtualHostBucket(host: string | undefined, baseDomains: readonly string[] = []): string | undefined {
  const hostname = host === undefined ? '' : hostnameOf(host);
  if (hostname === '' || isIP(hostname) !== 0) return undefined;
  for (const base of baseDomains) {
    const domain = base.toLowerCase();
    if (hostname.length > domain.length + 1 && hostname.endsWith(`.${domain}`)) return hostname.slice(0, -(domain.length + 1));
  }
  return undefined;
}

/**
 * @param host the Host header
 * @param rawUrl the request target as sent (`req.originalUrl`), still percent-encoded
 * @param baseDomains the gateway's own domains (e.g. `s3.example.com`); `<bucket>.<domain>` is
 *   virtual-host-style. Any other host — an IP, `localhost`, a domain not listed — is path-style.
 */
export function parseAddress(host: string | undefined, rawUrl: string, baseDomains: readonly string[] = []): S3Address {
  const q = rawUrl.indexOf('?');
  const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;

  const hostBucket = virtualHostBucket(host, baseDomains);
  if (hostBucket !== undefined) {
    const address: S3Address = { bucket: hostBucket, style: 'virtual-host' };
    if (path !== '') address.key = decodePathComponent(path);
    return address;
  }

  if (path === '') return { style: 'path' };
  const slash = path.indexOf('/');
  const bucket = decodePathComponent(slash >= 0 ? path.slice(0, slash) : path);
  const address: S3Address = { bucket, style: 'path' };
  if (slash >= 0 && slash + 1 < path.length) address.key = decodePathComponent(path.slice(slash + 1));
  return address;
}
