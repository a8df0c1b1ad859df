import type { Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { toXML } from '../s3/xml.js';

export function sendXML(res: Response, root: string, body: Record<string, unknown>, status = 200): void {
  res.status(status).setHeader('Content-Type', 'application/xml');
  res.send(toXML(root, body));
}

export function setHeaders(res: Response, headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
}

/**
 * Streams a decrypted body. The first package is authenticated before the status line goes out, so a
 * tampered object of one package is a clean 500 and not a 200 with a broken body; a failure further on
 * cuts the connection, so the client sees a short body, never unauthenticated bytes.
 */
export async function sendStream(res: Response, status: number, body: Readable): Promise<void> {
  const it = body[Symbol.asyncIterator]();
  let first: IteratorResult<Buffer>;
  try {
    first = (await it.next()) as IteratorResult<Buffer>;
  } catch (err) {
    // The error document must not carry the object's headers (ETag, Content-Type, SSE, ...).
    for (const name of res.getHeaderNames()) if (name !== 'x-amz-request-id' && name !== 'x-amz-id-2') res.removeHeader(name);
    throw err;
  }
  res.status(status);
  async function* rest(): AsyncGenerator<Buffer> {
    if (!first.done) yield first.value;
    for (;;) {
      const n = (await it.next()) as IteratorResult<Buffer>;
      if (n.done) return;
      yield n.value;
    }
  }
  await pipeline(Readable.from(rest()), res);
}

export const isoDate = (d: Date): string => d.toISOString();
