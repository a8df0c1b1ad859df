// Real parts for the console suites (and the browser journey in packages/console): kes over mTLS with the
// gateway's policy and the console's (CONSOLE_KES_ROUTES) for a console identity of its own, a gateway with
// its admin API and console on HTTP and HTTPS, and a small client that speaks to the console as a browser does.
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { pino, type Logger } from 'pino';
import { KesClient } from '@kesgate/kes-client';
import {
  cachedInTempDir,
  identityOf,
  initStore,
  parseConfig as parseKesConfig,
  selfSignedClientCert,
  startServer,
  type CertKeyPair,
  type RunningServer,
} from '@kesgate/kes';
import { startGatewayWithAdmin, type AdminGateway } from '../../src/admin/admin.js';
import { parseConfig, type GatewayConfigInput } from '../../src/config/load.js';
import { CONSOLE_KES_ROUTES } from '../../src/console/index.js';
import { pki } from '../helpers/pki.js';
import { tempDir } from '../admin/helpers.js';

export const ACCESS_KEY = 'kesgate-console-root';
export const SECRET_KEY = 'kesgate-console-root-secret-0123';
export const DEFAULT_KEY = 'kesgate-default';

/** The console's identity at kes (cached per machine like the other test certificates). */
export function consoleCert(): CertKeyPair {
  return cachedInTempDir(
    'kesgate-console-test-cert-v2.json',
    (c: CertKeyPair) => Boolean(c.cert && identityOf(c.cert)),
    () => selfSignedClientCert('console'),
  );
}

export interface ConsoleStack {
  dir: string;
  /** kes's unseal shares (`threshold` of them unseal it). */
  shares: string[];
  kes: RunningServer;
  kesAdmin: KesClient;
  /** A kes client acting as the console's identity, to probe its policy directly. */
  kesConsole: KesClient;
  gw: AdminGateway;
  /** http://127.0.0.1:port and https://127.0.0.1:port (CA: caPem). */
  url: string;
  httpsUrl: string;
  caPem: string;
  s3: S3Client;
  close(): Promise<void>;
}

export interface ConsoleStackOptions {
  /** Give the console its kes identity (default true). */
  operator?: boolean;
  /** The built console to serve; default a temp dir with a one-line index.html. */
  consoleDir?: string;
  console?: Partial<NonNullable<GatewayConfigInput['console']>>;
  keys?: string[];
  logger?: Logger;
  /** Unseal shares made and needed (default 1 of 1). */
  shares?: number;
  threshold?: number;
}

export async function startConsoleStack(o: ConsoleStackOptions = {}): Promise<ConsoleStack> {
  const p = pki();
  const c = consoleCert();
  const dir = tempDir('kesgate-console-');
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  file('ca.crt', p.ca.cert);
  file('server.crt', p.server.cert);
  file('server.key', p.server.key);
  file('gateway.crt', p.gateway.cert);
  file('gateway.key', p.gateway.key);
  file('console.crt', c.cert);
  file('console.key', c.key);
  let consoleDir = o.consoleDir;
  if (!consoleDir) {
    consoleDir = join(dir, 'console-dist');
    mkdirSync(consoleDir);
    writeFileSync(
      join(consoleDir, 'index.html'),
      '<!doctype html><title>kesgate console</title><script type="module" src="/console/assets/app.js"></script>\n',
    );
  }

  const kesConfig = parseKesConfig(
    {
      address: '127.0.0.1:0',
      admin: { identity: identityOf(p.admin.cert) },
      tls: { key: 'server.key', cert: 'server.crt', ca: 'ca.crt', auth: 'off' },
      policy: {
        gateway: {
          allow: ['/v1/key/generate/*', '/v1/key/decrypt/*', '/v1/key/describe/*', '/v1/status', '/v1/sys/seal-status'],
          identities: [identityOf(p.gateway.cert)],
        },
        console: { allow: [...CONSOLE_KES_ROUTES], identities: [identityOf(c.cert)] },
      },
      keystore: { sqlite: { path: 'kes/kes.db' } },
      unseal: { file: 'unseal.key' },
      log: { error: 'off', audit: 'off' },
      keys: [DEFAULT_KEY, ...(o.keys ?? [])].map((name) => ({ name })),
    },
    { baseDir: dir },
  );
  const threshold = o.threshold ?? 1;
  const { shares } = await initStore(kesConfig, { shares: o.shares ?? 1, threshold });
  file('unseal.key', `${shares.slice(0, threshold).join('\n')}\n`);
  const kes = await startServer(kesConfig);

  const config = parseConfig(
    {
      address: '127.0.0.1:0',
      tls: { address: '127.0.0.1:0', cert: 'server.crt', key: 'server.key' },
      credentials: { accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
      backend: { fs: { path: 'gateway-data' } },
      // No key cache (as in helpers/stack.ts): the journey expects a seal at kes to refuse the very next read.
      kms: {
        endpoints: [kes.url],
        cert: 'gateway.crt',
        key: 'gateway.key',
        ca: 'ca.crt',
        defaultKey: DEFAULT_KEY,
        timeoutMs: 5000,
        cache: { ttlSeconds: 0 },
      },
      log: { level: 'silent' },
      console: { dir: consoleDir, ...(o.operator === false ? {} : { kes: { cert: 'console.crt', key: 'console.key' } }), ...o.console },
    },
    dir,
  );
  const gw = await startGatewayWithAdmin(config, {
    logger: o.logger ?? pino({ level: 'silent' }),
    rotation: { retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 } },
  });
  const kesAdmin = new KesClient({ endpoints: [kes.url], cert: p.admin.cert, key: p.admin.key, ca: p.ca.cert, retries: 0 });
  const kesConsole = new KesClient({ endpoints: [kes.url], cert: c.cert, key: c.key, ca: p.ca.cert, retries: 0 });
  const s3 = new S3Client({
    endpoint: gw.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
  });
  return {
    dir,
    shares,
    kes,
    kesAdmin,
    kesConsole,
    gw,
    url: gw.url,
    httpsUrl: gw.httpsUrl!,
    caPem: p.ca.cert,
    s3,
    async close() {
      s3.destroy();
      kesAdmin.close();
      kesConsole.close();
      await gw.close();
      await kes.close();
    },
  };
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
}

/** One request as the console's page sends it: JSON body, the session cookie, the CSRF header. */
export function request(
  url: string,
  o: { method?: string; body?: unknown; cookie?: string; csrf?: string; ca?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const u = new URL(url);
  const payload = o.body === undefined ? undefined : Buffer.from(JSON.stringify(o.body));
  const headers: Record<string, string> = { ...o.headers };
  if (payload) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(payload.length);
  }
  if (o.cookie) headers.cookie = o.cookie;
  if (o.csrf) headers['x-csrf-token'] = o.csrf;
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method: o.method ?? 'GET', headers, ...(o.ca ? { ca: o.ca } : {}), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON (a file, a plain-text page)
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Sign in; the session cookie ("name=value") and CSRF token to send afterwards. */
export async function signIn(
  base: string,
  o: { accessKey?: string; secretKey?: string; ca?: string } = {},
): Promise<{ cookie: string; csrf: string; answer: Answer }> {
  const answer = await request(`${base}/console/api/session`, {
    method: 'POST',
    body: { accessKey: o.accessKey ?? ACCESS_KEY, secretKey: o.secretKey ?? SECRET_KEY },
    ...(o.ca ? { ca: o.ca } : {}),
  });
  if (answer.status !== 200) throw new Error(`sign-in failed: ${answer.status} ${answer.text}`);
  const setCookie = answer.headers['set-cookie']?.[0] ?? '';
  return { cookie: setCookie.split(';')[0]!, csrf: String(answer.json.csrf), answer };
}
