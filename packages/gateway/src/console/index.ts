// The operator console: its static files and JSON API under /console/, with one lifecycle. Mounted before
// S3 authentication, it answers only unsigned, path-style requests: a signed request for /console/… is an S3
// request to a bucket named "console", and goes on to S3.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import type { KesProbe } from '../admin/kes-status.js';
import type { GatewayServices } from '../http/services.js';
import type { RotationManager } from '../rotation/index.js';
import { parseAddress } from '../s3/addressing.js';
import { createConsoleApi } from './api.js';
import { AuditFeed } from './audit-feed.js';
import { securityHeaders } from './headers.js';
import { ConsoleKes } from './kes-ops.js';
import { SessionStore } from './sessions.js';
import { consoleFiles, findConsoleDir } from './static.js';

export { CONSOLE_KES_ROUTES } from './config.js';
export { CONSOLE_CSP } from './headers.js';

const CONSOLE_PATH = '/console';

export interface Console {
  /** Mount at CONSOLE_PATH. */
  handler: (req: Request, res: Response, next: NextFunction) => void;
  dir: string;
  close(): void;
}

/** kes's identity of a certificate: the SHA-256 of its public key (SPKI, DER), in hex. */
function identityOf(certFile: string): string {
  const spki = new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

function isSigned(req: Request): boolean {
  return (
    req.headers.authorization !== undefined ||
    /[?&](X-Amz-)?(Signature|Credential)=/i.test(req.originalUrl) ||
    /[?&]AWSAccessKeyId=/.test(req.originalUrl)
  );
}

export function createConsole(svc: GatewayServices, deps: { rotation: RotationManager; probe: KesProbe }): Console {
  const { config } = svc;
  const kes = new ConsoleKes(config);
  const sessions = new SessionStore(config.console.sessionTtlSeconds);
  const names = new Map([[identityOf(config.kms.cert), 'gateway']]);
  if (config.console.kes) names.set(identityOf(config.console.kes.cert), 'console');
  const audit = kes.operator ? new AuditFeed(kes.operator, svc.logger, names) : undefined;
  audit?.start();
  const dir = findConsoleDir(config.console.dir);

  const app = express.Router();
  app.use(securityHeaders);
  app.use('/api', createConsoleApi({ svc, rotation: deps.rotation, probe: deps.probe, kes, sessions, audit }));
  app.use(consoleFiles(dir));
  app.use((_req: Request, res: Response) => {
    res.status(404).type('text/plain').send('Not found.\n');
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
    if (status >= 500) svc.logger.error({ err }, 'console: serving a file failed');
    res
      .status(status)
      .type('text/plain')
      .send(status === 404 ? 'Not found.\n' : 'The console could not serve this file.\n');
  });

  return {
    dir,
    handler(req, res, next) {
      if (!config.console.enabled || isSigned(req) || parseAddress(req.headers.host, req.originalUrl, config.domains).style !== 'path') {
        next();
        return;
      }
      res.locals.operation = 'Console';
      if (req.originalUrl.split('?')[0] === CONSOLE_PATH) {
        res.redirect(302, `${CONSOLE_PATH}/`);
        return;
      }
      app(req, res, next);
    },
    close() {
      audit?.close();
      kes.close();
    },
  };
}
