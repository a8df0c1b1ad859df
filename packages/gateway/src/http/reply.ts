import type { Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { toXML } from '../s3/xml.js';

export function sendXML(res: Response, root: string, body: Record<string, unknown>, status = 200): void {
  res.status(status).setHeader('Content-Type', 'application/xml');
  res.send(toXML(root, body));
}

export function setHeaders(res: Response, headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
}

/** Stream a body; an error after the headers went out cuts the connection so the client sees a short body. */
export async function sendStream(res: Response, body: Readable): Promise<void> {
  await pipeline(body, res);
}

export const isoDate = (d: Date): string => d.toISOString();
