// CORS at the gateway's front door, before SigV4: preflights (OPTIONS) are answered here without a
// signature, as S3 answers them, and an actual request carrying Origin gets its Access-Control-*
// headers before authentication and the handler run, so its error answers (a refused signature, a
// missing key) carry them too and a browser can read them. Requests without Origin cost nothing.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { actualRequestHeaders, answerPreflight, type CorsRule, type PreflightBucket } from '../s3/cors.js';
import { parseAddress, type S3Address } from '../s3/addressing.js';
import { NoSuchBucket } from '../storage/errors.js';
import type { GatewayServices } from './services.js';
import { setHeaders } from './reply.js';
import { firstHeader } from '../s3/header-values.js';

async function bucketRules(svc: GatewayServices, bucket: string | undefined): Promise<PreflightBucket> {
  if (bucket === undefined || bucket === '') return { exists: false };
  try {
    return { exists: true, rules: await svc.store.getBucketSetting(bucket, 'cors') };
  } catch (err) {
    if (err instanceof NoSuchBucket) return { exists: false };
    throw err;
  }
}

/**
 * @param reserved the path prefix of the gateway's own API (admin, health): never a bucket, so CORS
 *   does not apply to it and its requests pass through untouched.
 */
export function cors(svc: GatewayServices, reserved: string): RequestHandler {
  const { domains } = svc.config;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const origin = firstHeader(req.headers, 'origin');
    const preflight = req.method === 'OPTIONS';
    if (!preflight && (origin === undefined || origin === '')) return next();

    let addr: S3Address;
    try {
      addr = parseAddress(req.headers.host, req.originalUrl, domains);
    } catch (err) {
      // A malformed URL is the handler's to refuse; it has no bucket whose rules could apply.
      return preflight ? next(err) : next();
    }
    if (addr.bucket === reserved) return next();

    if (preflight) {
      res.locals.operation = 'PreflightRequest';
      const headers = answerPreflight(
        {
          origin,
          method: firstHeader(req.headers, 'access-control-request-method'),
          headers: firstHeader(req.headers, 'access-control-request-headers'),
          onObject: addr.key !== undefined,
        },
        await bucketRules(svc, addr.bucket),
      );
      setHeaders(res, headers);
      res.status(200).setHeader('Content-Length', '0');
      res.end();
      return;
    }

    const found = await bucketRules(svc, addr.bucket);
    const rules: readonly CorsRule[] | undefined = found.exists ? found.rules : undefined;
    if (rules !== undefined) {
      // As S3 does, a stray Access-Control-Request-Method stands in for the request's own method.
      const method = firstHeader(req.headers, 'access-control-request-method') ?? req.method;
      const headers = actualRequestHeaders(rules, origin!, method);
      if (headers) setHeaders(res, headers);
    }
    next();
  };
}
