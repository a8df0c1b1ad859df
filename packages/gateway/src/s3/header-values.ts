// One value of a request header. Node joins most repeated headers into one string itself, but keeps some as
// arrays (set-cookie, and headers objects built by hand, as a POST form's fields): these say which value counts.
import type { IncomingHttpHeaders } from 'node:http';

/** The header's first value: for fields where a repeat is not meaningful (Range, If-Match, x-amz-copy-source…). */
export function firstHeader(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Every value of the header, comma-joined as HTTP combines a repeated field, so a repeated field is seen, not silently dropped. */
export function joinedHeader(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
}
