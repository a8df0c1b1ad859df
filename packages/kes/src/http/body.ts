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
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw tooLarge(max);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > max) throw tooLarge(max);
    chunks.push(b);
  }
  if (total === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks, total).toString('utf8'));
  } catch {
    throw errors.invalidBody();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw errors.invalidBody();
  return value as JsonObject;
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
