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

const KEPT_ON_ERROR = /^(x-amz-request-id|x-amz-id-2|access-control-.*|vary)$/;

/** Resolves once `body` has data to read (or has ended); rejects if it fails first. */
function firstData(body: Readable): Promise<void> {
  if (body.readableLength > 0 || body.readableEnded) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      body.off('readable', ok).off('end', ok).off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const ok = (): void => done();
    body.on('readable', ok).on('end', ok).on('error', done);
  });
}

/**
 * Streams a decrypted body. The first package is authenticated before the status line goes out, so a
 * tampered object of one package is a clean 500 and not a 200 with a broken body; a failure further on
 * cuts the connection, so the client sees a short body, never unauthenticated bytes.
 */
export async function sendStream(res: Response, status: number, body: Readable): Promise<void> {
  // An error between the first chunk and pipeline() must not be an unhandled 'error' event: pipeline
  // still sees it (the stream stays errored), so this listener only keeps it from crashing the process.
  body.on('error', () => {});
  try {
    await firstData(body);
  } catch (err) {
    // The error document must not carry the object's headers (ETag, Content-Type, SSE, ...); the request's
    // ids and its CORS headers stay (a browser can read the error only with the latter).
    for (const name of res.getHeaderNames()) if (!KEPT_ON_ERROR.test(name)) res.removeHeader(name);
    throw err;
  }
  res.status(status);
  try {
    await pipeline(body, res);
  } catch (err) {
    // The client went away mid-body: nothing to answer and nothing wrong with the gateway.
    if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' && res.destroyed) return;
    throw err;
  }
}

export const isoDate = (d: Date): string => d.toISOString();
