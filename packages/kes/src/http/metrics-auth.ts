// The optional bearer token on /v1/metrics (config `metrics.bearer_token`), for a Prometheus that scrapes
// without a client certificate, as MinIO's Prometheus token: a request sending the token is served
// whatever its certificate; one sending another token gets 401; one sending none needs a certificate
// whose policy allows /v1/metrics (skip_auth no longer opens the route once a token is configured).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type MetricsToken = 'not-configured' | 'valid' | 'wrong' | 'absent';

export function metricsToken(req: IncomingMessage, token: string | undefined): MetricsToken {
  if (token === undefined) return 'not-configured';
  const sent = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  if (sent === undefined) return 'absent';
  // Compared as SHA-256 digests: the same time whatever was sent.
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(sent), digest(token)) ? 'valid' : 'wrong';
}
