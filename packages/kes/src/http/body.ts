// Request bodies: read up to the route's limit (413 beyond it), parse as JSON (400 "invalid
// request body" when malformed), and decode the base64 fields kes expects.
import type { IncomingMessage } from 'node:http';
import { KesError, errors } from '../errors.js';

export type JsonObject = Record<string, unknown>;

export function tooLarge(max: number): KesError {
  return new KesError(413, `request body too large: at most ${max} bytes`);
}

/** The parsed body; an empty body is `{}`. */
export async function readJsonBody(req: IncomingMessage, max: number): Promise<JsonObject> {
  const value = await readJson(req, max);
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw errors.invalidBody();
  return value as JsonObject;
}

/** The parsed body of a bulk route: a JSON array of objects (an empty body is an empty array). */
export async function readJsonArray(req: IncomingMessage, max: number): Promise<JsonObject[]> {
  const value = (await readJson(req, max)) ?? [];
  if (!Array.isArray(value)) throw errors.badRequest('invalid request body: expected a JSON array');
  for (const item of value as unknown[]) {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw errors.badRequest('invalid request body: every array item must be a JSON object');
  }
  return value as JsonObject[];
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw tooLarge(max);
  const raw = declared === 0 ? Buffer.alloc(0) : await readAll(req, max);
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw errors.invalidBody();
  }
}

// Plain events rather than `for await`: this runs on every key request and the async iterator
// costs measurably more per small body.
function readAll(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (b: Buffer) => {
      total += b.length;
      if (total > max) {
        req.off('data', onData);
        req.pause();
        reject(tooLarge(max));
        return;
      }
      chunks.push(b);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)));
    req.once('error', reject);
  });
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A standard-base64 field (with padding); null or absent gives undefined unless required. */
export function base64Field(body: JsonObject, field: string, required: true): Buffer;
export function base64Field(body: JsonObject, field: string, required?: false): Buffer | undefined;
export function base64Field(body: JsonObject, field: string, required = false): Buffer | undefined {
  const value = body[field];
  if (value === undefined || value === null) {
    if (required) throw errors.badRequest(`invalid request body: '${field}' is required (base64)`);
    return undefined;
  }
  if (typeof value !== 'string' || !STRICT_BASE64.test(value)) {
    throw errors.badRequest(`invalid request body: '${field}' must be standard base64 with padding`);
  }
  return Buffer.from(value, 'base64');
}
