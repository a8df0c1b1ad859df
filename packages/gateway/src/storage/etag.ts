// ETags are stored bare (hex, or hex-N for a multipart object); clients send them quoted, as HTTP writes them
// (If-Match, a CompleteMultipartUpload part list), and some tools send them bare.

/** An ETag as a client sent it, trimmed and without its surrounding quotes: the form stored and compared. */
export function unquoteETag(etag: string): string {
  const t = etag.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}
