import express, { type Express, type Request, type Response } from 'express';
import { credentialLookup } from '../config/credentials.js';
import { parseAddress } from '../s3/addressing.js';
import { S3Error } from '../s3/errors.js';
import { checkStorageClass, WRITES_WITH_STORAGE_CLASS } from '../s3/storage-class.js';
import { errorHandler, headerSectionLimit, requestIds, sigv4Auth } from '../s3/middleware.js';
import { toS3Error } from '../object-service/errors.js';
import type { GatewayServices } from './services.js';
import { cors } from './cors.js';
import { isBearer, metricsAllowed } from './metrics-auth.js';
import { observe } from './observe.js';
import { readinessRoutes } from './readiness.js';
import { query, requireTLSForSSEC } from './request.js';
import { firstHeader } from '../s3/header-values.js';
import { route } from './router.js';

/** Paths under this prefix belong to the gateway itself (health, metrics, admin); no bucket may take the name. */
const RESERVED = 'kesgate';

function isSigned(req: Request): boolean {
  return req.headers.authorization !== undefined || /[?&](X-Amz-)?Signature=/i.test(req.originalUrl);
}

export interface AppExtras {
  /** Mounted under /kesgate/admin/v1 after SigV4 authentication (root credentials only). */
  admin?: express.Router;
  /** The operator console, mounted at /console before SigV4 (it has its own sign-in; signed requests pass on to S3). */
  console?: express.RequestHandler;
}

export function createGatewayApp(svc: GatewayServices, extras: AppExtras = {}): Express {
  const { config } = svc;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestIds());
  app.use(observe(svc));
  // AWS's limit for the header section (8 KiB); Node itself refuses beyond 16 KiB.
  app.use(headerSectionLimit(8192));

  app.get(`/${RESERVED}/health`, (_req, res) => {
    res.locals.operation = 'Health';
    res.json({ status: 'ok' });
  });
  app.use(readinessRoutes(svc, isSigned));
  const metrics = async (req: Request, res: Response): Promise<void> => {
    res.locals.operation = 'Metrics';
    if (!metricsAllowed(req, res, config.metrics.bearerToken)) return;
    res.setHeader('Content-Type', svc.metrics.registry.contentType);
    res.send(await svc.metrics.registry.metrics());
  };
  app.get(`/${RESERVED}/metrics`, metrics);
  // Prometheus scrapes /metrics unsigned (or with a bearer token); a signed GET /metrics is ListObjects on a bucket named "metrics".
  app.get('/metrics', (req, res, next) => (isSigned(req) && !isBearer(req) ? next() : void metrics(req, res).catch(next)));

  if (extras.console) app.use('/console', extras.console);

  // Before SigV4: preflights are unsigned, and a refused signature must still carry CORS headers.
  app.use(cors(svc, RESERVED));
  app.use(sigv4Auth({ lookup: credentialLookup(config), region: config.region, domains: config.domains }));

  if (extras.admin) {
    app.use(
      `/${RESERVED}/admin/v1`,
      (_req, res, next) => {
        res.locals.operation = 'Admin';
        if ((res.locals.auth as { accessKey?: string } | undefined)?.accessKey !== config.credentials.accessKey) {
          next(new S3Error('AccessDenied', 'The admin API needs the root credentials.'));
          return;
        }
        next();
      },
      extras.admin,
    );
  }

  app.use(async (req, res) => {
    const addr = parseAddress(req.headers.host, req.originalUrl, config.domains);
    if (addr.bucket === RESERVED)
      throw new S3Error('InvalidBucketName', `The bucket name "${RESERVED}" is reserved for the gateway's own API.`);
    const q = query(req);
    const rt = route(req.method, addr.bucket, addr.key, q, req.headers);
    res.locals.operation = rt.operation;
    requireTLSForSSEC(req, config.sse.allowInsecureSSEC);
    if (WRITES_WITH_STORAGE_CLASS.has(rt.operation)) checkStorageClass(firstHeader(req.headers, 'x-amz-storage-class'));
    try {
      await rt.handler({ req, res, bucket: addr.bucket ?? '', key: addr.key ?? '', query: q, svc });
    } catch (err) {
      throw toS3Error(err);
    }
  });
  app.use(errorHandler(svc.logger));
  return app;
}
