// A real kes server for a test file: PEM files and SQLite (or a PostgreSQL URL) in a temp dir, a
// config built the way the YAML loader builds it, `kes init` shares, and supertest helpers that
// speak mTLS. Several nodes over one PostgreSQL keystore: start the first, then the others with
// `join: first.shares` (no second init; the same shares unseal them).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { parseConfig, type KesConfig } from '../../src/config/config.js';
import { initStore } from '../../src/init.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { testPki, type Client, type TestPki } from './pki.js';
import { tempDir } from './tmp.js';

export interface TestServerOptions {
  shares?: number;
  threshold?: number;
  /** Start sealed (no unseal file). */
  sealed?: boolean;
  auth?: boolean;
  audit?: 'off' | 'file';
  keys?: string[];
  policy?: Record<string, { allow?: string[]; deny?: string[]; identities?: string[] }>;
  api?: Record<string, { skip_auth?: boolean; timeout?: string }>;
  /** A PostgreSQL keystore at this URL instead of SQLite. */
  postgres?: string;
  /** Seal poll interval of a PostgreSQL keystore (e.g. '200ms', '1h'). */
  sealPoll?: string;
  /** How long a broken LISTEN connection waits before reconnecting (e.g. '1h'). */
  listenRetry?: string;
  /** Join an initialized keystore: no init; these shares go into the unseal file (unless sealed). */
  join?: string[];
  /** The node name in audit lines. */
  node?: string;
  /** The config's `log` block instead of no server log and an audit file. */
  log?: Record<string, unknown>;
  /** The config's `metrics` block. */
  metrics?: Record<string, unknown>;
  /** Where the server's log goes (with `log: { error: on }`). */
  logDestination?: { write(line: string): void };
  /** API routes the server leaves out (startServer's `withoutRoutes`). */
  withoutRoutes?: string[];
}

export interface TestServer {
  srv: RunningServer;
  pki: TestPki;
  dir: string;
  config: KesConfig;
  shares: string[];
  dbPath: string;
  auditPath: string;
  /** supertest request as `who` (undefined: no client certificate). */
  get(path: string, who?: Client): request.Test;
  put(path: string, who?: Client, body?: unknown): request.Test;
  post(path: string, who?: Client, body?: unknown): request.Test;
  del(path: string, who?: Client): request.Test;
  call(method: string, path: string, who?: Client): request.Test;
  /** Stops the server and starts a new one on the same config and files (sealed unless an unseal file is configured). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const pki = testPki();
  const dir = tempDir();
  writeFileSync(join(dir, 'server.key'), pki.server.key);
  writeFileSync(join(dir, 'server.crt'), pki.server.cert);
  writeFileSync(join(dir, 'ca.crt'), pki.ca.cert);
  const config = parseConfig(
    {
      address: '127.0.0.1:0',
      admin: { identity: pki.admin.identity },
      tls: { key: 'server.key', cert: 'server.crt', ca: 'ca.crt', auth: options.auth ? 'on' : 'off' },
      policy: options.policy ?? {
        gateway: {
          allow: ['/v1/key/generate/minio-*', '/v1/key/decrypt/minio-*', '/v1/key/describe/*', '/v1/status', '/v1/sys/seal-status'],
          identities: [pki.gateway.identity],
        },
        restricted: {
          allow: ['/v1/key/*', '/v1/identity/self/describe'],
          deny: ['/v1/key/delete/*', '/v1/key/generate/secret-*'],
          identities: [pki.restricted.identity, pki.issued.identity, pki.foreign.identity],
        },
      },
      keystore: options.postgres
        ? {
            postgres: {
              url: options.postgres,
              timeout: '3s',
              ...(options.sealPoll ? { seal_poll: options.sealPoll } : {}),
              ...(options.listenRetry ? { listen_retry: options.listenRetry } : {}),
            },
          }
        : { sqlite: { path: 'data/kes.db' } },
      ...(options.node ? { node: options.node } : {}),
      ...(options.sealed ? {} : { unseal: { file: 'unseal.key' } }),
      log: options.log ?? { error: 'off', audit: options.audit === 'off' ? 'off' : 'data/audit.log' },
      ...(options.metrics ? { metrics: options.metrics } : {}),
      keys: (options.keys ?? []).map((name) => ({ name })),
      ...(options.api ? { api: options.api } : {}),
    },
    { baseDir: dir },
  );
  const shares = options.join ?? (await initStore(config, { shares: options.shares ?? 1, threshold: options.threshold ?? 1 })).shares;
  if (!options.sealed) writeFileSync(join(dir, 'unseal.key'), `${shares.join('\n')}\n`);
  const startOptions = {
    ...(options.logDestination ? { logDestination: options.logDestination } : {}),
    ...(options.withoutRoutes ? { withoutRoutes: options.withoutRoutes } : {}),
  };
  const as = (t: request.Test, who?: Client) => (who ? t.key(who.key).cert(who.cert).ca(pki.ca.cert) : t.ca(pki.ca.cert));
  const withBody = (t: request.Test, body: unknown) => (body === undefined ? t : t.send(body as object));
  const ts: TestServer = {
    srv: await startServer(config, startOptions),
    pki,
    dir,
    config,
    shares,
    dbPath: config.keystore.sqlite?.path ?? '',
    auditPath: join(dir, 'data/audit.log'),
    get: (p, who) => as(request(ts.srv.server).get(p), who),
    put: (p, who, body) => withBody(as(request(ts.srv.server).put(p), who), body),
    post: (p, who, body) => withBody(as(request(ts.srv.server).post(p), who), body),
    del: (p, who) => as(request(ts.srv.server).delete(p), who),
    call: (method, p, who) => as(request(ts.srv.server)[method.toLowerCase() as 'get'](p), who),
    restart: async () => {
      await ts.srv.close();
      ts.srv = await startServer(config, startOptions);
    },
    close: () => ts.srv.close(),
  };
  return ts;
}
