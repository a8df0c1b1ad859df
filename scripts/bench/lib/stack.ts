// kes and the gateway as two processes, started the way an operator runs them (`kes server` and
// `kesgate server --config`), in a temporary directory: the benchmarks and the load test measure
// the real binaries, and read the gateway's memory and I/O from /proc.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedInTempDir, createCA, identityOf, initStore, issueClientCert, issueServerCert, type CertKeyPair } from '@kesgate/kes';
import { buildBundles, GATEWAY_ENV } from '../../build.js';
import { freePort, spawnNode, stopChild, waitUntil } from './processes.js';
import type { Credentials } from './sigv4.js';

export const DEFAULT_KEY = 'kesgate-default';

interface Pki {
  ca: CertKeyPair;
  server: CertKeyPair;
  admin: CertKeyPair;
  gateway: CertKeyPair;
}

// One set, cached in the temp directory (cachedInTempDir) like the tests' sets.
function pki(): Pki {
  return cachedInTempDir(
    'kesgate-bench-pki-v2.json',
    () => true,
    () => {
      const ca = createCA('kesgate bench CA');
      return {
        ca,
        server: issueServerCert(ca, ['localhost', '127.0.0.1']),
        admin: issueClientCert(ca, 'admin'),
        gateway: issueClientCert(ca, 'gateway'),
      };
    },
  );
}

export interface StackOptions {
  /** Master keys besides the default key. */
  keys?: string[];
  /** Gateway log level (default info: what `kesgate server` runs with); logs go to a file. */
  logLevel?: string;
  /** Gateway rotation concurrency (config `rotation.concurrency`). */
  rotationConcurrency?: number;
  /** Write CPU profiles of the gateway process into this directory (node --cpu-prof). */
  gatewayProfileDir?: string;
  /** The gateway config's `backend` (default: the embedded layout, `{ fs: { path: data/gateway } }`). */
  backend?: unknown;
  /**
   * Let the gateway use kes's bulk routes (default true). false leaves them out of its policy: its kes client
   * then sends one request per data key, as before bulk requests existed (for before/after figures).
   */
  kesBulk?: boolean;
}

export interface BenchStack {
  dir: string;
  creds: Credentials;
  /** Plain HTTP listener (SSE-C refused there, as configured by default). */
  url: string;
  /** HTTPS listener, certificate signed by `caPem`. */
  httpsUrl: string;
  caPem: string;
  /** kes's address, and the identity the gateway uses there (for baselines measured against the same kes). */
  kesUrl: string;
  gatewayIdentity: CertKeyPair;
  /** PID of the gateway process (for /proc). */
  readonly gatewayPid: number;
  readonly kesPid: number;
  gatewayLog: string;
  /** Stop the gateway and start a fresh process on the same ports and data. */
  restartGateway(): Promise<void>;
  close(): Promise<void>;
}

function probe(url: string, ca?: string): Promise<boolean> {
  return new Promise((res) => {
    const req = (url.startsWith('https:') ? https : http).get(url, { ...(ca ? { ca } : {}) }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.setTimeout(2000, () => req.destroy());
  });
}

export async function startBenchStack(options: StackOptions = {}): Promise<BenchStack> {
  const p = pki();
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-bench-'));
  const at = (...f: string[]): string => join(dir, ...f);
  mkdirSync(at('data'));
  for (const [name, pair] of [
    ['server', p.server],
    ['admin', p.admin],
    ['gateway', p.gateway],
  ] as const) {
    writeFileSync(at(`${name}.crt`), pair.cert);
    writeFileSync(at(`${name}.key`), pair.key, { mode: 0o600 });
  }
  writeFileSync(at('ca.crt'), p.ca.cert);
  const [kesPort, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
  const keys = [DEFAULT_KEY, ...(options.keys ?? [])];
  writeFileSync(
    at('kes.yaml'),
    `address: 127.0.0.1:${kesPort}
admin: { identity: ${identityOf(p.admin.cert)} }
tls: { key: server.key, cert: server.crt, ca: ca.crt, auth: off }
policy:
  gateway:
    allow: [/v1/key/generate/*, /v1/key/decrypt/*, ${options.kesBulk === false ? '' : '/v1/key/bulk/generate/*, /v1/key/bulk/decrypt/*, '}/v1/key/describe/*, /v1/status, /v1/sys/seal-status]
    identities: [${identityOf(p.gateway.cert)}]
keystore: { sqlite: { path: data/kes.db } }
unseal: { file: unseal.key }
log: { error: on, audit: data/audit.log }
keys: [${keys.map((k) => `{ name: ${k} }`).join(', ')}]
`,
  );
  const creds: Credentials = { accessKey: 'kesgate-bench', secretKey: 'kesgate-bench-secret-0123456789', region: 'us-east-1' };
  writeFileSync(
    at('gateway.yaml'),
    `address: 127.0.0.1:${httpPort}
tls: { address: 127.0.0.1:${httpsPort}, cert: server.crt, key: server.key }
region: ${creds.region}
credentials: { accessKey: ${creds.accessKey}, secretKey: ${creds.secretKey} }
backend: ${JSON.stringify(options.backend ?? { fs: { path: 'data/gateway' } })}
kms: { endpoints: [https://127.0.0.1:${kesPort}], cert: gateway.crt, key: gateway.key, ca: ca.crt, defaultKey: ${DEFAULT_KEY} }
log: { level: ${options.logLevel ?? 'info'} }
rotation: { concurrency: ${options.rotationConcurrency ?? 8} }
`,
  );
  const { shares } = await initStore(at('kes.yaml'), { shares: 1, threshold: 1 });
  writeFileSync(at('unseal.key'), `${shares.join('\n')}\n`, { mode: 0o600 });

  const kesLog = at('kes.log');
  const gatewayLog = at('gateway.log');
  // The servers run as `npm start` and the Docker images run them: bundled JavaScript (scripts/build.js).
  const bundles = await buildBundles();
  const kes = spawnNode(bundles.kes, ['server', '--config', at('kes.yaml')], { cwd: dir, logFile: kesLog });
  let gateway: ChildProcess | undefined;
  const url = `http://127.0.0.1:${httpPort}`;
  const httpsUrl = `https://127.0.0.1:${httpsPort}`;
  const startGatewayProcess = async (): Promise<void> => {
    const child = spawnNode(bundles.kesgate, ['server', '--config', at('gateway.yaml')], {
      cwd: dir,
      env: { ...process.env, ...GATEWAY_ENV },
      logFile: gatewayLog,
      nodeArgs: [
        ...(options.gatewayProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.gatewayProfileDir}`] : []),
        // For investigations, e.g. BENCH_GATEWAY_NODE_ARGS=--trace-gc (NODE_OPTIONS refuses some V8 flags).
        ...(process.env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      ],
    });
    gateway = child;
    await waitUntil('the gateway', () => probe(`${url}/kesgate/health`), child, gatewayLog);
  };
  try {
    await waitUntil('kes', () => probe(`https://127.0.0.1:${kesPort}/version`, p.ca.cert), kes, kesLog);
    await startGatewayProcess();
  } catch (err) {
    if (gateway) await stopChild(gateway);
    await stopChild(kes);
    throw err;
  }
  return {
    dir,
    creds,
    url,
    httpsUrl,
    caPem: p.ca.cert,
    kesUrl: `https://127.0.0.1:${kesPort}`,
    gatewayIdentity: p.gateway,
    get gatewayPid() {
      return gateway!.pid!;
    },
    kesPid: kes.pid!,
    gatewayLog,
    async restartGateway() {
      await stopChild(gateway!);
      await startGatewayProcess();
    },
    async close() {
      if (gateway) await stopChild(gateway);
      await stopChild(kes);
      if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
}
