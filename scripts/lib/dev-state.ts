// The development state `npm start` and `npm run cluster` share under $KESGATE_HOME (./.kesgate):
// certificates, kes's config and its initialised store with a 1-of-1 unseal share, a default master key
// and root S3 credentials — made on the first run, reused afterwards — and the gateway configs they write.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { Agent, request } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { identityOf, initStore, issueClientCert, issueServerCert, loadConfig, writeDevCerts } from '@kesgate/kes';
// The console's config module alone: the gateway's main entry would load the whole server here.
import { CONSOLE_KES_ROUTES } from '@kesgate/gateway/console-config';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_KEY = 'kesgate-default';

export interface Identities {
  adminIdentity: string;
  gatewayIdentity: string;
  /** The operator console's identity at kes (certs/console.{crt,key}; its policy: CONSOLE_KES_ROUTES). */
  consoleIdentity: string;
}

export interface RootCredentials {
  user: string;
  password: string;
}

export interface DevState {
  home: string;
  /** A path under the state directory. */
  at(...p: string[]): string;
  ids: Identities;
  creds: RootCredentials;
  /** Where kes listens (host:port) and how the gateways reach it (https URL). */
  kesAddress: string;
  kesEndpoint: string;
}

/** $KESGATE_HOME, else ./.kesgate at the repository root. */
function devHome(): string {
  return resolve(process.env.KESGATE_HOME ?? join(REPO_ROOT, '.kesgate'));
}

function ensureCerts(at: (...p: string[]) => string): Identities {
  const idFile = at('certs', 'identities.json');
  if (existsSync(idFile)) return ensureConsoleCert(at, JSON.parse(readFileSync(idFile, 'utf8')) as Identities);
  const certs = writeDevCerts(at('certs'), ['localhost', '127.0.0.1', 'kes', 'kes-2']); // kes-2: docker/compose.cluster.yaml
  // The gateway's HTTPS listener (SSE-C needs TLS) gets its own server certificate from the same CA.
  const ca = { cert: readFileSync(certs.files.ca, 'utf8'), key: readFileSync(certs.files.caKey, 'utf8') };
  const s3 = issueServerCert(ca, ['localhost', '127.0.0.1', 'gateway']);
  writeFileSync(at('certs', 's3.key'), s3.key, { mode: 0o600 });
  writeFileSync(at('certs', 's3.crt'), s3.cert);
  return ensureConsoleCert(at, { adminIdentity: certs.adminIdentity, gatewayIdentity: certs.gatewayIdentity } as Identities);
}

/** The console's client certificate from the same CA: made once (states older than the console get it too). */
function ensureConsoleCert(at: (...p: string[]) => string, ids: Identities): Identities {
  if (ids.consoleIdentity && existsSync(at('certs', 'console.crt'))) return ids;
  const ca = { cert: readFileSync(at('certs', 'ca.crt'), 'utf8'), key: readFileSync(at('certs', 'ca.key'), 'utf8') };
  const pair = issueClientCert(ca, 'console');
  writeFileSync(at('certs', 'console.key'), pair.key, { mode: 0o600 });
  writeFileSync(at('certs', 'console.crt'), pair.cert);
  const out = { ...ids, consoleIdentity: identityOf(pair.cert) };
  writeFileSync(at('certs', 'identities.json'), JSON.stringify(out, null, 2));
  return out;
}

/** Root S3 credentials: from the environment, else generated once and kept in $KESGATE_HOME/credentials. */
function ensureCredentials(at: (...p: string[]) => string): RootCredentials {
  const file = at('credentials');
  const saved: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) saved[m[1]!] = m[2]!;
    }
  }
  // An empty variable counts as unset: an empty secret is never what anyone meant.
  const user = process.env.KESGATE_ROOT_USER || saved.KESGATE_ROOT_USER || `kesgate-${randomBytes(4).toString('hex')}`;
  const password = process.env.KESGATE_ROOT_PASSWORD || saved.KESGATE_ROOT_PASSWORD || randomBytes(24).toString('base64url');
  if (saved.KESGATE_ROOT_USER !== user || saved.KESGATE_ROOT_PASSWORD !== password) {
    writeFileSync(file, `KESGATE_ROOT_USER=${user}\nKESGATE_ROOT_PASSWORD=${password}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return { user, password };
}

export interface KesConfigOptions {
  /** The first line, a comment saying who wrote the file. */
  header: string;
  address: string;
  /** The `keystore:` block, as YAML lines (indented by two). */
  keystore: string;
  /** A file of unseal shares the node reads at start (development only); none: it starts sealed. */
  unsealFile?: string;
  /** This node's name in its audit lines (several nodes on one keystore). */
  node?: string;
  /** Relative paths are relative to the config file. */
  audit?: string;
  /** The certificates directory relative to the config file (default `certs`). */
  certs?: string;
}

/** A kes config over the development state's identities (certs/ beside the config file). */
export function kesConfig(ids: Identities, o: KesConfigOptions): string {
  const c = o.certs ?? 'certs';
  return `# ${o.header}
address: ${o.address}
${o.node ? `node: ${o.node}\n` : ''}admin:
  identity: ${ids.adminIdentity}
tls:
  key: ${c}/kes.key
  cert: ${c}/kes.crt
  ca: ${c}/ca.crt
  auth: off
policy:
  gateway:
    allow:
      - /v1/key/generate/*
      - /v1/key/decrypt/*
      - /v1/key/bulk/generate/*   # many data keys in one request while the gateway is busy
      - /v1/key/bulk/decrypt/*
      - /v1/key/describe/*
      - /v1/status
      - /v1/sys/seal-status
    identities:
      - ${ids.gatewayIdentity}
  console:   # the operator console at the gateway's /console/: exactly the routes its pages use
    allow:
${CONSOLE_KES_ROUTES.map((r) => `      - ${r}`).join('\n')}
    identities:
      - ${ids.consoleIdentity}
keystore:
${o.keystore}
${o.unsealFile ? `unseal:\n  file: ${o.unsealFile}   # DEVELOPMENT ONLY: the unseal share on the server's own disk\n` : ''}log:
  error: on
  audit: ${o.audit ?? 'data/audit.log'}
api:
  /v1/ready:
    skip_auth: on   # readiness probes (load balancers, compose health checks) need no client certificate
keys:
  - name: ${DEFAULT_KEY}
`;
}

function writeKesConfig(at: (...p: string[]) => string, ids: Identities, kesAddress: string): void {
  // Rewritten on every start so address changes in the environment take effect; state lives elsewhere.
  writeFileSync(
    at('kes.yaml'),
    kesConfig(ids, {
      header: 'Generated by npm start (development). Production: see README, "Running in production".',
      address: kesAddress,
      keystore: '  sqlite:\n    path: data/kes.db',
      unsealFile: 'unseal.key',
    }),
  );
}

async function ensureInitialised(at: (...p: string[]) => string): Promise<void> {
  if (existsSync(at('unseal.key'))) return;
  const { shares } = await initStore(loadConfig(at('kes.yaml')), { shares: 1, threshold: 1 });
  writeFileSync(at('unseal.key'), `${shares.join('\n')}\n`, { mode: 0o600 });
}

/**
 * Makes (first run) or reuses the state in `home`, and rewrites kes.yaml for `kesAddress`.
 * KES_ADDRESS (127.0.0.1:7373) and KESGATE_KES_ENDPOINT (how a gateway reaches kes) are read here.
 */
export async function prepareDevState(home = devHome()): Promise<DevState> {
  const at = (...p: string[]): string => join(home, ...p);
  const kesAddress = process.env.KES_ADDRESS ?? '127.0.0.1:7373';
  // How the gateway reaches kes: the kes address by default.
  const kesEndpoint = process.env.KESGATE_KES_ENDPOINT ?? `https://${kesAddress.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
  mkdirSync(at('data'), { recursive: true, mode: 0o700 });
  const ids = ensureCerts(at);
  const creds = ensureCredentials(at);
  writeKesConfig(at, ids, kesAddress);
  await ensureInitialised(at);
  return { home, at, ids, creds, kesAddress, kesEndpoint };
}

export interface GatewayConfigOptions {
  /** The first line, a comment saying who wrote the file. */
  header: string;
  address: string;
  tlsAddress: string;
  kesEndpoint: string;
  /** The `backend:` block, as YAML lines (indented by two). */
  backend: string;
  /** The certificates directory relative to the config file (default `certs`). */
  certs?: string;
}

/** A gateway config over the development state's certificates, credentials from the environment. */
export function gatewayConfig(o: GatewayConfigOptions): string {
  const c = o.certs ?? 'certs';
  return `# ${o.header}
address: ${o.address}
tls:
  address: ${o.tlsAddress}
  cert: ${c}/s3.crt
  key: ${c}/s3.key
region: us-east-1
credentials:
  accessKey: \${KESGATE_ROOT_USER}
  secretKey: \${KESGATE_ROOT_PASSWORD}
backend:
${o.backend}
kms:
  endpoints: [${o.kesEndpoint}]
  cert: ${c}/gateway.crt
  key: ${c}/gateway.key
  ca: ${c}/ca.crt
  defaultKey: ${DEFAULT_KEY}
console:
  kes:
    cert: ${c}/console.crt
    key: ${c}/console.key
`;
}

/** True once kes answers GET /version over TLS with the state's CA. */
export function kesAnswers(state: DevState): Promise<boolean> {
  const agent = new Agent({ ca: readFileSync(state.at('certs', 'ca.crt')) });
  const u = new URL(state.kesEndpoint);
  return new Promise((res) => {
    const req = request({ host: u.hostname, port: Number(u.port || '443'), path: '/version', agent, servername: 'localhost' }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.end();
  });
}

/** The plain-HTTP URL of a listener address (0.0.0.0 reached as 127.0.0.1). */
export function localUrl(address: string, scheme = 'http'): string {
  return `${scheme}://${address.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
}

/** True once the gateway on `address` answers its health check. */
export function gatewayHealthy(address: string): Promise<boolean> {
  return new Promise((res) => {
    httpGet(`${localUrl(address)}/kesgate/health`, (r) => {
      r.resume();
      res(r.statusCode === 200);
    }).on('error', () => res(false));
  });
}
