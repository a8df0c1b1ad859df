import { objectPath } from '@kesgate/dare';

/**
 * The KMS context bound to an object's data key: `{"<bucket>": "<bucket>/<object>"}` merged with the client's
 * SSE-KMS context, as canonical JSON (keys sorted, no whitespace). The bucket entry is always the gateway's,
 * so a data key cannot be replayed onto another object.
 */
export function kmsContext(bucket: string, key: string, client?: Record<string, string>): Buffer {
  const merged: Record<string, string> = { ...(client ?? {}), [bucket]: objectPath(bucket, key) };
  return Buffer.from(canonicalJSON(merged), 'utf8');
}

export function canonicalJSON(obj: Record<string, string>): string {
  const sorted = Object.keys(obj).sort();
  return `{${sorted.map((k) => `${JSON.stringify(k)}:${JSON.stringify(obj[k])}`).join(',')}}`;
}

/** The stored form of a client's context (base64 canonical JSON), and back. */
export function encodeClientContext(ctx: Record<string, string> | undefined): string | undefined {
  return ctx ? Buffer.from(canonicalJSON(ctx), 'utf8').toString('base64') : undefined;
}

export function decodeClientContext(stored: string | undefined): Record<string, string> | undefined {
  return stored ? (JSON.parse(Buffer.from(stored, 'base64').toString('utf8')) as Record<string, string>) : undefined;
}
