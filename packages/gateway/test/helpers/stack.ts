// A real kes (mTLS, SQLite, Shamir-sealed) and a real gateway (HTTP + HTTPS listeners, fs backend) on
// loopback, with clients for both: what every end-to-end suite of the gateway starts from.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { KesClient } from '@kesgate/kes-client';
import { identityOf, initStore, parseConfig as parseKesConfig, startServer, type RunningServer } from '@kesgate/kes';
import { parseConfig, type GatewayConfig, type GatewayConfigInput } from '../../src/config/load.js';
import { startGateway, type RunningGateway, type StartOptions } from '../../src/server.js';
import { pki } from './pki.js';
import { freePort } from '../../../../scripts/lib/free-port.js';

export const ACCESS_KEY = 'kesgate-test-user';
export const SECRET_KEY = 'kesgate-test-secret-0123456789';
export const DEFAULT_KEY = 'kesgate-default';

export interface StackOptions {
  /** Master keys created at kes start (the default key always is). */
  keys?: string[];
  shares?: number;
  threshold?: number;
  /** Gateway config overrides. */
  gateway?: Partial<GatewayConfigInput>;
  gatewayOptions?: StartOptions;
  /**
   * kms.cache.ttlSeconds: 0 (no key cache) unless a suite asks, so that suites checking that a seal or delete at
   * kes refuses the very next request need not wait out the cache's bound; the bucket-keys suite sets it.
   */
  keyCacheSeconds?: number;
}

export interface Stack {
  dir: string;
  /** Where the gateway's blobs are (the embedded layout's data directory, or the fs blob store's). */
  dataDir: string;
  kesDbPath: string;
  shares: string[];
  /** The gateway's config (addresses as given: port 0 picks a free port for another gateway on it). */
  config: GatewayConfig;
  kes: RunningServer;
  gw: RunningGateway;
  /** kes client with the admin identity: create, seal, delete keys. */
  kesAdmin: KesClient;
  /** SDK v3 client over plain HTTP (SSE-C allowed only when the config says so). */
  s3: S3Client;
  /** SDK v3 client over the HTTPS listener. */
  s3tls: S3Client;
  caPem: string;
  /** Stop kes (for "kes unreachable") and start it again on the same port and store. */
  stopKes(): Promise<void>;
  restartKes(): Promise<void>;
  close(): Promise<void>;
}

export function s3Client(endpoint: string, ca?: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
    ...(ca ? { requestHandler: { httpsAgent: new Agent({ ca, keepAlive: true }) } } : {}),
  });
}

function blobDir(backend: GatewayConfig['backend']): string {
  if ('fs' in backend) return backend.fs.path;
  if ('fs' in backend.blobs) return backend.blobs.fs.path;
  throw new Error('this stack keeps its blobs upstream: it has no data directory');
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const p = pki();
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-stack-'));
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  file('ca.crt', p.ca.cert);
  file('server.crt', p.server.cert);
  file('server.key', p.server.key);
  file('gateway.crt', p.gateway.cert);
  file('gateway.key', p.gateway.key);

  const kesConfig = (address: string) =>
    parseKesConfig(
      {
        address,
        admin: { identity: identityOf(p.admin.cert) },
        tls: { key: 'server.key', cert: 'server.crt', ca: 'ca.crt', auth: 'off' },
        policy: {
          gateway: {
            allow: [
              '/v1/key/generate/*',
              '/v1/key/decrypt/*',
              '/v1/key/bulk/generate/*',
              '/v1/key/bulk/decrypt/*',
              '/v1/key/describe/*',
              '/v1/status',
              '/v1/sys/seal-status',
            ],
            identities: [identityOf(p.gateway.cert)],
          },
        },
        keystore: { sqlite: { path: 'kes/kes.db' } },
        unseal: { file: 'unseal.key' },
        log: { error: 'off', audit: 'off' },
        keys: [DEFAULT_KEY, ...(options.keys ?? [])].map((name) => ({ name })),
      },
      { baseDir: dir },
    );
  // A port below the ephemeral range: restartKes() binds it again, and in between no connection may take it.
  const first = kesConfig(`127.0.0.1:${await freePort()}`);
  const { shares } = await initStore(first, { shares: options.shares ?? 1, threshold: options.threshold ?? 1 });
  // The development unseal file holds enough shares to unseal at start.
  file('unseal.key', `${shares.slice(0, options.threshold ?? 1).join('\n')}\n`);
  let kes = await startServer(first);
  const kesPort = kes.port;

  const config = parseConfig(
    {
      address: '127.0.0.1:0',
      tls: { address: '127.0.0.1:0', cert: 'server.crt', key: 'server.key' },
      credentials: { accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
      backend: { fs: { path: 'gateway-data' } },
      kms: {
        endpoints: [kes.url],
        cert: 'gateway.crt',
        key: 'gateway.key',
        ca: 'ca.crt',
        defaultKey: DEFAULT_KEY,
        timeoutMs: 5000,
        cache: { ttlSeconds: options.keyCacheSeconds ?? 0 },
      },
      log: { level: 'silent' },
      ...options.gateway,
    },
    dir,
  );
  const gw = await startGateway(config, { logger: pino({ level: 'silent' }), ...options.gatewayOptions });
  const kesAdmin = new KesClient({ endpoints: [kes.url], cert: p.admin.cert, key: p.admin.key, ca: p.ca.cert, retries: 0 });
  const s3 = s3Client(gw.url);
  const s3tls = s3Client(gw.httpsUrl!, p.ca.cert);
  let kesRunning = true;
  return {
    dir,
    // Asked for only by suites that look at blob files: a stack whose blobs are upstream has none.
    get dataDir() {
      return blobDir(config.backend);
    },
    kesDbPath: join(dir, 'kes/kes.db'),
    shares,
    config,
    get kes() {
      return kes;
    },
    gw,
    kesAdmin,
    s3,
    s3tls,
    caPem: p.ca.cert,
    async stopKes() {
      if (kesRunning) await kes.close();
      kesRunning = false;
    },
    async restartKes() {
      if (kesRunning) await kes.close();
      kes = await startServer(kesConfig(`127.0.0.1:${kesPort}`));
      kesRunning = true;
    },
    async close() {
      s3.destroy();
      s3tls.destroy();
      kesAdmin.close();
      await gw.close();
      if (kesRunning) await kes.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
