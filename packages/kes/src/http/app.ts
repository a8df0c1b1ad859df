// The request listener: one dispatcher over the route table does, in order, what every route needs —
// find the route (404), check the method (405; POST stands in for PUT), authenticate the client
// certificate and authorize by policy (403), refuse while sealed (503), run the handler, render
// its result or its typed error — and records metrics and the audit line when the response ends.
// It is a plain node:http listener: the route table, body reader and renderer here are all a request
// needs, and a framework's router and request decoration in front of them cost about a tenth of a
// GenerateKey's server CPU (measured with --cpu-prof).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { KesError, errors } from '../errors.js';
import { readJsonBody, type JsonObject } from './body.js';
import { peerOf } from './identity.js';
import type { AppDeps, Reply, Route, RouteContext } from './route.js';
import { metricsToken } from './metrics-auth.js';
import { identityRoutes } from './routes/identity.js';
import { bulkKeyRoutes } from './routes/bulk-keys.js';
import { keyRoutes } from './routes/keys.js';
import { logRoutes } from './routes/logs.js';
import { metaRoutes } from './routes/meta.js';
import { sysRoutes } from './routes/sys.js';

/** `without`: route paths left out (e.g. `/v1/key/bulk/generate/`, to serve only what MinIO KES serves). */
export function apiRoutes(deps: AppDeps, without: readonly string[] = []): Route[] {
  const all: Route[] = [];
  all.push(
    ...metaRoutes(deps, () => all),
    ...keyRoutes(deps),
    ...bulkKeyRoutes(deps),
    ...sysRoutes(deps),
    ...identityRoutes(deps),
    ...logRoutes(deps),
  );
  if (without.length > 0) all.splice(0, all.length, ...all.filter((r) => !without.includes(r.path)));
  return all;
}

class RouteTable {
  readonly #exact = new Map<string, Route[]>();
  readonly #prefixes: Route[];

  constructor(routes: Route[]) {
    for (const r of routes) {
      if (!r.path.endsWith('/')) this.#exact.set(r.path, [...(this.#exact.get(r.path) ?? []), r]);
    }
    this.#prefixes = routes.filter((r) => r.path.endsWith('/')).sort((a, b) => b.path.length - a.path.length);
  }

  /** Routes serving `path` (several only if they differ in method), and the resource part. */
  find(path: string): { routes: Route[]; resource: string } | undefined {
    const exact = this.#exact.get(path);
    if (exact) return { routes: exact, resource: '' };
    const first = this.#prefixes.find((r) => path.startsWith(r.path));
    if (!first) return undefined;
    return { routes: this.#prefixes.filter((r) => r.path === first.path), resource: path.slice(first.path.length) };
  }
}

type Request = IncomingMessage;
type Response = ServerResponse;

/** What runs just before a response is sent: the metrics and audit line of its request. */
const endHooks = new WeakMap<Response, () => void>();
/** The body bytes of each answered response, for its request line. */
const sentBytes = new WeakMap<Response, number>();

export function createApp(deps: AppDeps, routes: Route[] = apiRoutes(deps)): (req: Request, res: Response) => void {
  const table = new RouteTable(routes);
  return (req, res) => {
    dispatch(deps, table, req, res).catch((err: unknown) => {
      try {
        sendError(deps, res, err);
      } catch {
        res.destroy(); // the response could not be answered at all: end the connection rather than hang it
      }
    });
  };
}

async function dispatch(deps: AppDeps, table: RouteTable, req: Request, res: Response): Promise<void> {
  const started = process.hrtime.bigint();
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  let path = rawPath;
  const audit: RouteContext['audit'] = {};
  let route: Route | undefined;
  let identity: string | undefined;

  deps.metrics.requestStarted();
  let ended = false;
  const onEnd = () => {
    if (ended) return;
    ended = true;
    const latency = Number(process.hrtime.bigint() - started) / 1e6;
    deps.metrics.requestFinished(res.statusCode, latency / 1000, route?.path);
    logRequest(deps, req, res, { api: route?.path, path, identity, ms: latency });
    if (route?.audited || res.statusCode === 403) {
      deps.audit.write({
        time: new Date().toISOString(),
        identity: identity ?? '',
        ip: req.socket.remoteAddress ?? '',
        method: req.method ?? '',
        path,
        ...(audit.key !== undefined ? { key: audit.key } : {}),
        ...(audit.version !== undefined ? { version: audit.version } : {}),
        ...(audit.items !== undefined ? { items: audit.items } : {}),
        status: res.statusCode,
        latency_ms: Math.round(latency * 1000) / 1000,
      });
    }
  };
  // Normally called just before the response is sent (so the audit line is written first);
  // 'close' covers responses that end otherwise (client gone, streams).
  endHooks.set(res, onEnd);
  res.once('close', onEnd);

  // Routing and policy see the same, decoded path: "/v1/key/generate/%73ecret" must meet the
  // deny pattern "/v1/key/generate/secret-*" exactly as its decoded form would.
  path = decodePath(rawPath);
  const found = table.find(path);
  if (!found) throw new KesError(404, `not found: no API route '${path.slice(0, 200)}'`);
  const method = req.method === 'POST' ? 'PUT' : req.method;
  route = found.routes.find((r) => r.method === method) ?? found.routes.find((r) => r.method === req.method);
  if (!route) {
    const expected = found.routes[0]?.method ?? 'GET';
    res.setHeader('Accept', expected);
    throw new KesError(405, `received method '${req.method}' expected '${expected}'`);
  }
  armTimeout(res, deps.timeouts.get(route.path) ?? route.timeout);
  const resource = found.resource;
  // Key routes name their key in the audit line even when refused before the handler runs.
  if (route.audited) audit.key = resource;

  const token = route.path === '/v1/metrics' ? metricsToken(req, deps.metricsToken) : 'not-configured';
  if (token === 'wrong') throw unauthorized(res, 'the bearer token is not the metrics.bearer_token of the kes config');
  if (token !== 'valid' && route.access !== 'public' && (!deps.skipAuth.has(route.path) || token === 'absent')) {
    const peer = peerOf(req.socket as TLSSocket);
    identity = peer.identity;
    if (identity === undefined && token === 'absent') {
      throw unauthorized(
        res,
        'the metrics need a bearer token (Authorization: Bearer <metrics.bearer_token of the kes config>) or a client certificate',
      );
    }
    if (identity === undefined) throw errors.notAuthorized();
    if (deps.verifyClientChain && !peer.verified) throw errors.notAuthorized();
    if (route.access === 'policy' && !deps.policies.authorize(identity, path)) throw errors.notAuthorized();
  }
  if (!route.whileSealed && deps.system.sealed) throw errors.systemSealed();

  let body: Promise<JsonObject> | undefined;
  const maxBody = route.maxBody;
  const ctx: RouteContext = {
    req,
    res,
    identity,
    resource,
    query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
    body: () => (body ??= readJsonBody(req, maxBody)),
    audit,
  };
  render(res, await route.handle(ctx));
}

function unauthorized(res: Response, message: string): KesError {
  res.setHeader('WWW-Authenticate', 'Bearer realm="kes metrics"');
  return new KesError(401, message);
}

/** Polled by machines: their request lines are at debug. */
const PROBES = new Set(['/version', '/v1/ready', '/v1/status', '/v1/metrics']);

/** One line per answered request, in the gateway's request-line shape (the identity where it has the access key). */
function logRequest(
  deps: AppDeps,
  req: Request,
  res: Response,
  r: { api: string | undefined; path: string; identity: string | undefined; ms: number },
): void {
  const log = deps.errorLog.requests;
  const level = r.api !== undefined && PROBES.has(r.api) ? 'debug' : 'info';
  if (!log.isLevelEnabled(level)) return;
  const userAgent = req.headers['user-agent'];
  log[level](
    {
      op: r.api ?? 'unknown',
      method: req.method,
      path: r.path,
      status: res.statusCode,
      ms: Math.round(r.ms * 1000) / 1000,
      remote: req.socket.remoteAddress,
      ...(r.identity !== undefined ? { identity: r.identity } : {}),
      bytesIn: Number(req.headers['content-length'] ?? 0) || 0,
      bytesOut: sentBytes.get(res) ?? 0,
      ...(userAgent !== undefined ? { userAgent } : {}),
    },
    'request',
  );
}

/**
 * KES's per-API time limit: a request not answered after `seconds` — a client sending its body slowly, or
 * never — gets 503 and its connection is closed, so slow clients cannot hold connections and handlers open.
 */
/** setTimeout takes at most 2^31-1 ms (~24.8 days); a longer limit would otherwise fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function armTimeout(res: Response, seconds: number): void {
  if (!(seconds > 0)) return;
  const timer = setTimeout(
    () => {
      if (res.writableEnded) return;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Connection: close ends the connection once the answer is flushed, so a body that never comes is not awaited.
      res.setHeader('Connection', 'close');
      sendJson(res, 503, { message: `request timed out after ${seconds}s` });
    },
    Math.min(seconds * 1000, MAX_TIMER_MS),
  );
  res.once('close', () => clearTimeout(timer));
}

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw errors.badRequest('invalid URL path: malformed percent-encoding');
  }
}

function endResponse(res: Response, status: number, headers: Record<string, string | number>, payload?: string): void {
  sentBytes.set(res, payload === undefined ? 0 : Buffer.byteLength(payload)); // for the request line
  endHooks.get(res)?.();
  // One writeHead with all headers: this runs on every request.
  res.writeHead(status, headers);
  res.end(payload);
}

function render(res: Response, reply: Reply): void {
  if (reply === 'streaming') return;
  if (reply === undefined) {
    res.statusCode = 200; // for the audit line written before the head goes out
    endResponse(res, 200, { 'Content-Length': 0 });
    return;
  }
  if ('text' in reply) {
    res.statusCode = 200;
    endResponse(res, 200, { 'Content-Type': reply.contentType, 'Content-Length': Buffer.byteLength(reply.text) }, reply.text);
    return;
  }
  sendJson(res, reply.status ?? 200, reply.json);
}

function sendJson(res: Response, status: number, value: unknown): void {
  const payload = JSON.stringify(value);
  res.statusCode = status;
  // Exactly "application/json" (no charset): some KES clients compare the header verbatim.
  endResponse(res, status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }, payload);
}

function sendError(deps: AppDeps, res: Response, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof KesError) {
    // A body over the limit is left unread: close the connection rather than drain it.
    if (err.status === 413) res.setHeader('Connection', 'close');
    sendJson(res, err.status, { message: err.message });
    return;
  }
  deps.errorLog.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'unexpected error while serving a request');
  sendJson(res, 500, { message: 'internal server error' });
}
