// The console's JSON API under /console/api: sign-in and sessions, then thin handlers over the gateway's
// own services (status, store, rotation jobs) and the console's kes identity. Every state change needs the
// session's CSRF token; every action is logged with who did it and how it ended.
import type { TLSSocket } from 'node:tls';
import { parse as parseCookies } from 'cookie';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { AdminError, adminErrorHandler, badRequest } from '../admin/errors.js';
import { keyDependents, type KeyDependentsReport } from '../admin/key-dependents.js';
import type { KesProbe } from '../admin/kes-status.js';
import { parseRotationRequest } from '../admin/router.js';
import { gatewayStatus } from '../admin/status.js';
import type { GatewayServices } from '../http/services.js';
import type { RotationManager } from '../rotation/index.js';
import type { AuditFeed } from './audit-feed.js';
import { bucketRows, setBucketEncryption } from './buckets.js';
import type { ConsoleKes } from './kes-ops.js';
import { sameSecret, SESSION_COOKIE, type Session, type SessionStore } from './sessions.js';

export interface ConsoleApiDeps {
  svc: GatewayServices;
  rotation: RotationManager;
  probe: KesProbe;
  kes: ConsoleKes;
  sessions: SessionStore;
  audit: AuditFeed | undefined;
}

const CSRF_HEADER = 'x-csrf-token';
/** Sent by the page's own periodic refreshes: they do not extend the session. */
const BACKGROUND_HEADER = 'x-console-background';

const notSignedIn = (): AdminError =>
  new AdminError(401, 'NotSignedIn', 'Sign in to the console first (the session is missing, has expired or was signed out).');

function sessionOf(res: Response): Session {
  return res.locals.consoleSession as Session;
}

function isTls(req: Request): boolean {
  return (req.socket as TLSSocket).encrypted === true;
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || v === '') throw badRequest(`"${name}" is required.`);
  return v;
}

export function createConsoleApi({ svc, rotation, probe, kes, sessions, audit }: ConsoleApiDeps): Router {
  const { config, logger } = svc;
  const router = express.Router();
  router.use((_req, res, next) => {
    res.locals.operation = 'Console';
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  // The audit trail: one line per action (every state change and every refusal), never a body (shares, secrets).
  router.use((req, res, next) => {
    res.on('finish', () => {
      if (req.method === 'GET' && res.statusCode < 400) return;
      const user = (res.locals.consoleSession as Session | undefined)?.user ?? (res.locals.consoleUser as string | undefined);
      logger.info(
        {
          console: {
            user: user ?? null,
            action: `${req.method} ${req.path}`,
            status: res.statusCode,
            ip: req.socket.remoteAddress,
            reqId: res.locals.requestId,
          },
        },
        'console action',
      );
    });
    next();
  });

  router.use(express.json({ limit: '64kb', type: () => true }));

  // A browser-session cookie: the server ends the session (expiry, sign-out), the browser forgets it on quit.
  const cookieOptions = (req: Request) => ({ httpOnly: true, sameSite: 'strict' as const, secure: isTls(req), path: '/console' });
  const sessionView = (s: Session) => ({
    user: s.user,
    csrf: s.csrf,
    expiresAt: new Date(s.expiresAt).toISOString(),
    kesWritable: kes.writable,
    defaultKey: config.kms.defaultKey,
  });

  router.post('/session', (req, res) => {
    // JSON only: a cross-site form cannot send it without a CORS preflight, which the console never answers.
    if (!req.is('application/json'))
      throw new AdminError(415, 'UnsupportedMediaType', 'Sign in with a JSON body: {"accessKey": ..., "secretKey": ...}.');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const accessKey = typeof body.accessKey === 'string' ? body.accessKey : '';
    const secretKey = typeof body.secretKey === 'string' ? body.secretKey : '';
    res.locals.consoleUser = accessKey.slice(0, 128);
    const accounts = [config.credentials, ...config.console.users];
    // Every account is compared, whatever matched, so the time taken tells nothing.
    let ok = false;
    for (const a of accounts) {
      const both = [sameSecret(a.accessKey, accessKey), sameSecret(a.secretKey, secretKey)];
      if (both.every(Boolean) && accessKey !== '') ok = true;
    }
    if (!ok) throw new AdminError(403, 'InvalidCredentials', 'The access key or secret key is wrong.');
    const s = sessions.create(accessKey);
    res.locals.consoleSession = s;
    res.cookie(SESSION_COOKIE, s.id, cookieOptions(req));
    res.json(sessionView(s));
  });

  // Everything below needs a live session; state changes also its CSRF token.
  router.use((req: Request, res: Response, next: NextFunction) => {
    const id = parseCookies(req.headers.cookie ?? '')[SESSION_COOKIE];
    const s = sessions.touch(id, req.headers[BACKGROUND_HEADER] !== '1');
    if (!s) throw notSignedIn();
    res.locals.consoleSession = s;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const token = req.headers[CSRF_HEADER];
      if (typeof token !== 'string' || !sameSecret(token, s.csrf)) {
        throw new AdminError(
          403,
          'InvalidCsrfToken',
          `This request changes state and needs the session's CSRF token in the ${CSRF_HEADER} header.`,
        );
      }
    }
    next();
  });

  router.get('/session', (_req, res) => {
    res.json(sessionView(sessionOf(res)));
  });
  router.delete('/session', (req, res) => {
    sessions.end(sessionOf(res).id);
    res.clearCookie(SESSION_COOKIE, cookieOptions(req));
    res.json({ signedOut: true });
  });

  router.get('/overview', async (_req, res) => {
    res.json({ ...(await gatewayStatus(svc, probe, rotation)), console: { kesWritable: kes.writable } });
  });

  // ---- keys
  router.get('/keys', async (_req, res) => {
    const { keys, truncated } = await kes.keys();
    // What each key keeps readable: the objects, versions and uploads sealed under it, per bucket.
    const rows = await Promise.all(
      keys.map(async (k) => {
        let dependents: KeyDependentsReport | undefined;
        try {
          dependents = await keyDependents(svc.store, k.name);
        } catch {
          // A name the gateway cannot ask about (kes accepted it, the gateway's rule did not): no count shown.
        }
        return { ...k, ...(dependents ? { dependents } : {}) };
      }),
    );
    res.json({ writable: kes.writable, defaultKey: config.kms.defaultKey, keys: rows, truncated });
  });
  router.get('/keys/:name/dependents', async (req, res) => {
    res.json(await keyDependents(svc.store, String(req.params.name)));
  });
  router.post('/keys', async (req, res) => {
    const name = str((req.body as Record<string, unknown>)?.name, 'name');
    await kes.create(name);
    res.status(201).json(await kes.describe(name));
  });
  router.post('/keys/:name/rotate', async (req, res) => {
    await kes.rotate(String(req.params.name));
    res.json(await kes.describe(String(req.params.name)));
  });
  router.post('/keys/:name/seal', async (req, res) => {
    await kes.sealKey(String(req.params.name));
    res.json(await kes.describe(String(req.params.name)));
  });
  router.post('/keys/:name/unseal', async (req, res) => {
    await kes.unsealKey(String(req.params.name));
    res.json(await kes.describe(String(req.params.name)));
  });
  router.delete('/keys/:name', async (req, res) => {
    const name = String(req.params.name);
    const confirm = (req.body as Record<string, unknown> | undefined)?.confirm;
    if (confirm !== name)
      throw new AdminError(400, 'ConfirmationMismatch', `To delete the key, send {"confirm": "${name}"}: its name, typed out.`);
    await kes.deleteKey(name);
    res.json({ deleted: name });
  });

  // ---- seal
  router.get('/seal', async (_req, res) => {
    res.json({ writable: kes.writable, endpoints: await probe.endpoints() });
  });
  router.post('/seal', async (_req, res) => {
    res.json({ endpoints: await kes.sealAll() });
  });
  router.post('/unseal', async (req, res) => {
    const share = str((req.body as Record<string, unknown>)?.share, 'share').trim();
    res.json({ endpoints: await kes.unseal(share) });
  });

  // ---- buckets
  router.get('/buckets', async (_req, res) => {
    res.json({ buckets: await bucketRows(svc.store) });
  });
  router.put('/buckets/:bucket/encryption', async (req, res) => {
    res.json({ bucket: String(req.params.bucket), encryption: await setBucketEncryption(svc.store, String(req.params.bucket), req.body) });
  });

  // ---- rotation
  router.get('/rotation', async (_req, res) => {
    res.json({ jobs: await rotation.list(50) });
  });
  router.post('/rotation', async (req, res) => {
    const job = await rotation.start(parseRotationRequest(req.body, config.kms.defaultKey));
    res.status(202).json(job);
  });
  router.get('/rotation/:id', async (req, res) => {
    res.json(await rotation.get(String(req.params.id)));
  });
  router.delete('/rotation/:id', async (req, res) => {
    res.json(await rotation.cancel(String(req.params.id)));
  });

  // ---- audit
  router.get('/audit', (req, res) => {
    if (!audit) {
      res.json({
        entries: [],
        connected: false,
        error: 'The kes audit log needs the console identity (console.kes in gateway.yaml) with /v1/log/audit in its policy.',
      });
      return;
    }
    const q = req.query as Record<string, unknown>;
    const s = (k: string): string | undefined => (typeof q[k] === 'string' && q[k] !== '' ? (q[k] as string) : undefined);
    res.json(
      audit.latest({
        ...(s('identity') ? { identity: s('identity') } : {}),
        ...(s('key') ? { key: s('key') } : {}),
        ...(s('status') ? { status: s('status') } : {}),
      }),
    );
  });

  router.use((req) => {
    throw new AdminError(404, 'NoSuchConsoleRoute', `There is no console route ${req.method} ${req.path}.`);
  });
  router.use(adminErrorHandler(logger));
  return router;
}
