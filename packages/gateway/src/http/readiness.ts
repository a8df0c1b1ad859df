// Readiness: whether this gateway can serve encrypted objects now — kes reachable and unsealed (at least
// one endpoint) and both stores answering their probe. /kesgate/health stays liveness (the process
// serves); a load balancer or an orchestrator asks /kesgate/ready (or MinIO's /minio/health/ready) before
// sending traffic. The verdict is kept for a second, so probes from many places cannot hammer kes.
import express, { type Request, type Response, type Router } from 'express';
import { kesReadiness, type KesReadiness } from '../admin/kes-readiness.js';
import { KesProbe } from '../admin/kes-status.js';
import { probeBlobs, probeMetadata } from '../storage/probe.js';
import type { GatewayServices } from './services.js';

/** How long a verdict is reused. */
const READINESS_CACHE_MS = 1000;

type StoreReadiness = 'ready' | 'unreachable';

/** What /kesgate/ready answers: states only, never an address, a host or an error text that may hold one. */
interface Readiness {
  ready: boolean;
  /** The checks that are not ready, by name (empty when ready). */
  notReady: ('kes' | 'metadata' | 'blobs')[];
  checks: { kes: KesReadiness; metadata: StoreReadiness; blobs: StoreReadiness };
}

class ReadinessCheck {
  private last: { at: number; value: Readiness } | undefined;
  private pending: Promise<Readiness> | undefined;

  constructor(private readonly svc: GatewayServices) {}

  /** The cached verdict while fresh; otherwise one probe, shared by every caller meanwhile. */
  check(): Promise<Readiness> {
    if (this.last && Date.now() - this.last.at < READINESS_CACHE_MS) return Promise.resolve(this.last.value);
    this.pending ??= this.probe()
      .then((value) => {
        this.last = { at: Date.now(), value };
        return value;
      })
      .finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async probe(): Promise<Readiness> {
    // A probe of its own per check (at most one a second): no sockets to keep or close with the gateway.
    const kes = new KesProbe(this.svc.config.kms);
    try {
      const [endpoints, metadata, blobs] = await Promise.all([
        kes.endpoints(),
        probeMetadata(this.svc.backend.metadata),
        probeBlobs(this.svc.backend.blobs),
      ]);
      const checks: Readiness['checks'] = {
        kes: kesReadiness(endpoints),
        metadata: metadata.reachable ? 'ready' : 'unreachable',
        blobs: blobs.reachable ? 'ready' : 'unreachable',
      };
      const notReady = (['kes', 'metadata', 'blobs'] as const).filter((name) => checks[name] !== 'ready');
      return { ready: notReady.length === 0, notReady, checks };
    } finally {
      kes.close();
    }
  }
}

/**
 * GET /kesgate/ready (JSON, 200 or 503) and, for tools that know MinIO, GET /minio/health/live and
 * /minio/health/ready (empty bodies, as MinIO answers them). All unauthenticated; the MinIO paths only
 * when unsigned, since a signed request there is an S3 request to a bucket named "minio".
 */
export function readinessRoutes(svc: GatewayServices, isSigned: (req: Request) => boolean): Router {
  const readiness = new ReadinessCheck(svc);
  const router = express.Router();
  const noStore = (res: Response): void => void res.setHeader('Cache-Control', 'no-store');

  router.get('/kesgate/ready', async (_req, res) => {
    res.locals.operation = 'Ready';
    const r = await readiness.check();
    noStore(res);
    res.status(r.ready ? 200 : 503).json(r);
  });
  router.get('/minio/health/live', (req, res, next) => {
    if (isSigned(req)) return next();
    res.locals.operation = 'Health';
    noStore(res);
    res.status(200).end();
  });
  router.get('/minio/health/ready', async (req, res, next) => {
    if (isSigned(req)) return next();
    res.locals.operation = 'Ready';
    const r = await readiness.check();
    noStore(res);
    res.status(r.ready ? 200 : 503).end();
  });
  return router;
}
