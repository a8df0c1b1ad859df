// The admin API under /kesgate/admin/v1 (the app mounts it after SigV4, root credentials only).
// Thin handlers: parse, call a plain function, answer JSON.
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import type { GatewayServices } from '../http/services.js';
import { authOf, bodyStream, readBody } from '../s3/middleware.js';
import type { RotationManager, RotationRequest } from '../rotation/index.js';
import { AdminError, adminErrorHandler, badRequest } from './errors.js';
import type { KesProbe } from './kes-status.js';
import { keyDependents } from './key-dependents.js';
import { objectStatus, openRawPart, parsePartNumber, parseVersionIdParam } from './object-info.js';
import { gatewayStatus } from './status.js';

export interface AdminDeps {
  svc: GatewayServices;
  rotation: RotationManager;
  kes: KesProbe;
}

const MAX_BODY = 64 * 1024;

const rotateBody = z
  .object({
    bucket: z.string().min(1, 'must not be empty'),
    prefix: z.string().optional(),
    toKey: z.string().min(1, 'must not be empty').optional(),
    fromKey: z.string().min(1, 'must not be empty').optional(),
    dryRun: z.boolean().optional(),
  })
  .strict();

function params(req: Request): URLSearchParams {
  const q = req.originalUrl.indexOf('?');
  return new URLSearchParams(q >= 0 ? req.originalUrl.slice(q + 1) : '');
}

function required(q: URLSearchParams, name: string): string {
  const v = q.get(name);
  if (v === null || v === '') throw badRequest(`The query parameter "${name}" is required.`);
  return v;
}

/** The signed JSON body of a POST: its SHA-256 (or aws-chunked signatures) verified while read. */
async function jsonBody(req: Request, res: express.Response): Promise<unknown> {
  const body = await readBody(bodyStream(req, authOf(res)), MAX_BODY);
  if (body.length === 0) throw badRequest('The request needs a JSON body.');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
}

export function parseRotationRequest(raw: unknown, defaultKey: string): RotationRequest {
  const r = rotateBody.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`);
    throw badRequest(`Invalid rotation request: ${problems.join('; ')}. Expected {"bucket", "prefix"?, "toKey"?, "fromKey"?, "dryRun"?}.`);
  }
  const b = r.data;
  return {
    bucket: b.bucket,
    prefix: b.prefix ?? '',
    toKey: b.toKey ?? defaultKey,
    ...(b.fromKey !== undefined ? { fromKey: b.fromKey } : {}),
    dryRun: b.dryRun ?? false,
  };
}

export function createAdminRouter({ svc, rotation, kes }: AdminDeps): Router {
  const router = express.Router();

  router.get('/status', async (_req, res) => {
    res.json(await gatewayStatus(svc, kes, rotation));
  });

  router.post('/rotate', async (req, res) => {
    const request = parseRotationRequest(await jsonBody(req, res), svc.config.kms.defaultKey);
    const job = await rotation.start(request);
    res.status(202).setHeader('Location', `${req.baseUrl}/rotate/${job.id}`).json(job);
  });

  router.get('/rotate', async (req, res) => {
    const limit = params(req).get('limit');
    if (limit !== null && !/^[1-9]\d{0,3}$/.test(limit)) throw badRequest('limit must be a number from 1 to 9999.');
    res.json({ jobs: await rotation.list(limit === null ? 100 : Number(limit)) });
  });

  router.get('/rotate/:id', async (req, res) => {
    res.json(await rotation.get(String(req.params.id)));
  });

  router.delete('/rotate/:id', async (req, res) => {
    res.json(await rotation.cancel(String(req.params.id)));
  });

  router.get('/keys/:name/dependents', async (req, res) => {
    res.json(await keyDependents(svc.store, String(req.params.name)));
  });

  router.get('/object-status', async (req, res) => {
    const q = params(req);
    res.json(await objectStatus(svc.store, required(q, 'bucket'), required(q, 'key'), parseVersionIdParam(q.get('versionId'))));
  });

  router.get('/object-raw', async (req, res) => {
    const q = params(req);
    const bucket = required(q, 'bucket');
    const key = required(q, 'key');
    const raw = await openRawPart(svc.store, bucket, key, parsePartNumber(q.get('part')), parseVersionIdParam(q.get('versionId')));
    res.status(200);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(raw.size));
    res.setHeader('x-kesgate-part-number', String(raw.number));
    res.setHeader('x-kesgate-parts-count', String(raw.partsCount));
    await pipeline(raw.stream, res);
  });

  router.use((req) => {
    throw new AdminError(404, 'NoSuchAdminRoute', `There is no admin route ${req.method} ${req.path}.`);
  });
  router.use(adminErrorHandler(svc.logger));
  return router;
}
