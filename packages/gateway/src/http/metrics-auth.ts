// The optional bearer token on /metrics (config `metrics.bearerToken`), as MinIO guards its Prometheus
// endpoint: Prometheus sends `Authorization: Bearer <token>` (its `authorization` scrape setting).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export function isBearer(req: Request): boolean {
  return /^Bearer\s/i.test(req.headers.authorization ?? '');
}

/** Compared as SHA-256 digests, so the comparison takes the same time whatever was sent. */
function sameToken(sent: string, token: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(sent), digest(token));
}

/** True when the request may read the metrics; otherwise answers 401 and returns false. */
export function metricsAllowed(req: Request, res: Response, token: string | undefined): boolean {
  if (token === undefined) return true;
  const sent = BEARER.exec(req.headers.authorization ?? '')?.[1];
  if (sent !== undefined && sameToken(sent, token)) return true;
  res.status(401).setHeader('WWW-Authenticate', 'Bearer realm="kesgate metrics"');
  res
    .type('text/plain')
    .send(
      sent === undefined
        ? 'The metrics need a bearer token: send "Authorization: Bearer <token>" with the token of metrics.bearerToken in the gateway config.\n'
        : 'The bearer token is not the one in metrics.bearerToken of the gateway config.\n',
    );
  return false;
}
