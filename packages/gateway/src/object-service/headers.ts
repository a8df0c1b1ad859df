import type { ObjectRecord } from '../storage/types.js';
import type { ObjectEncryption } from '../sse/encryption.js';

export const quoteETag = (etag: string): string => `"${etag}"`;

/** The headers that describe a stored object on GET, HEAD (and, for SSE, PUT/Copy). */
export function objectHeaders(record: ObjectRecord, enc: ObjectEncryption, withChecksum: boolean): Record<string, string> {
  const h: Record<string, string> = {
    etag: quoteETag(record.etag),
    'last-modified': record.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
    'content-type': record.contentType ?? 'binary/octet-stream',
    ...enc.responseHeaders(record.sse),
  };
  for (const [name, value] of Object.entries(record.standardHeaders)) if (value !== undefined) h[name] = value;
  for (const [name, value] of Object.entries(record.userMetadata)) h[`x-amz-meta-${name}`] = value;
  if (record.parts.length > 1 || record.sse.multipart) h['x-amz-mp-parts-count'] = String(record.parts.length);
  if (record.tags && record.tags.length > 0) h['x-amz-tagging-count'] = String(record.tags.length);
  if (withChecksum && record.checksum) {
    h[`x-amz-checksum-${record.checksum.algorithm.toLowerCase()}`] = record.checksum.value;
    h['x-amz-checksum-type'] = record.checksum.type;
  }
  return h;
}
