// The shape of an API route and of what its handler gets and returns. Handlers are thin: they
// read plain values from the context, call the service, and return what to render.
import type { IncomingMessage as Request, ServerResponse as Response } from 'node:http';
import type { PolicySet } from '../auth/policy.js';
import type { AuditLog } from '../log/audit.js';
import type { ErrorLog } from '../log/errors.js';
import type { KeyService } from '../service/keys.js';
import type { SystemService } from '../service/system.js';
import type { JsonObject } from './body.js';
import type { Metrics } from './metrics.js';

export interface AppDeps {
  keys: KeyService;
  system: SystemService;
  policies: PolicySet;
  audit: AuditLog;
  errorLog: ErrorLog;
  metrics: Metrics;
  startedAt: Date;
  /** `tls.auth: on`: a client certificate chain must verify against the CA. */
  verifyClientChain: boolean;
  /** Route paths served without a client certificate (config `api: {path: {skip_auth: true}}`). */
  skipAuth: ReadonlySet<string>;
  /** Route paths whose time limit the config sets (`api: {path: {timeout: 5s}}`), in seconds. */
  timeouts: ReadonlyMap<string, number>;
  /** `metrics.bearer_token`: /v1/metrics answers a request that sends it, with or without a certificate. */
  metricsToken?: string | undefined;
}

/**
 * public: no certificate needed. client: any client certificate. policy: the admin, or an
 * identity whose policy allows the path.
 */
export type Access = 'public' | 'client' | 'policy';

export interface RouteContext {
  req: Request;
  res: Response;
  /** The caller's identity; undefined only on public routes. */
  identity: string | undefined;
  /** What follows the route's path prefix (a key name, a pattern…); '' for exact routes. */
  resource: string;
  query: URLSearchParams;
  /** The parsed JSON body ({} when empty); read on first call. */
  body(): Promise<JsonObject>;
  /** Filled in by handlers for the audit line. */
  audit: { key?: string; version?: string; items?: number };
}

export type Reply =
  | undefined // 200 with an empty body
  | { json: unknown; status?: number }
  | { text: string; contentType: string }
  | 'streaming'; // the handler owns the response

export interface Route {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE';
  /** Exact path, or a prefix when it ends with '/'. */
  path: string;
  maxBody: number;
  /** Seconds a request may take before it is answered 503 (0: no limit), unless the config sets another. */
  timeout: number;
  access: Access;
  /** Answers while the system is sealed (otherwise 503 "system is sealed"). */
  whileSealed: boolean;
  /** Touches a key: every call is audited. */
  audited: boolean;
  handle(ctx: RouteContext): Reply | Promise<Reply>;
}

export const MAX_BODY = 1 << 20;

type RouteOptions = Partial<Pick<Route, 'maxBody' | 'timeout' | 'access' | 'whileSealed' | 'audited'>>;

export function route(method: Route['method'], path: string, options: RouteOptions, handle: Route['handle']): Route {
  return {
    method,
    path,
    maxBody: options.maxBody ?? (method === 'GET' || method === 'DELETE' ? 0 : MAX_BODY),
    timeout: options.timeout ?? 15,
    access: options.access ?? 'policy',
    whileSealed: options.whileSealed ?? false,
    audited: options.audited ?? false,
    handle,
  };
}
