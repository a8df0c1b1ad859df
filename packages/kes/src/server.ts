// Starting a kes server from a config: open the keystore (SQLite or PostgreSQL), wire barrier →
// seal watch → keyring → services → HTTP app, unseal from the development unseal file if one is
// configured, upgrade an old keystore and create the config's keys once unsealed, and listen with mTLS.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { DestinationStream, Logger } from 'pino';
import { PolicySet } from './auth/policy.js';
import { Barrier } from './barrier/barrier.js';
import { SealWatch } from './barrier/seal-watch.js';
import { loadConfig, type KesConfig } from './config/config.js';
import { apiRoutes, createApp } from './http/app.js';
import { Metrics } from './http/metrics.js';
import type { AppDeps } from './http/route.js';
import { KeyRing } from './keystore/keyring.js';
import { openKeyStore, sealPollMs } from './keystore/open.js';
import { AuditLog } from './log/audit.js';
import { ErrorLog } from './log/errors.js';
import { logFormat } from '@kesgate/log';
import { KeyService } from './service/keys.js';
import { SystemService } from './service/system.js';

export interface RunningServer {
  /** The https.Server (pass it to supertest). */
  server: Server;
  /** The bound address and port (port 0 in the config picks a free one). */
  address: string;
  port: number;
  /** e.g. https://127.0.0.1:7373 */
  url: string;
  /** The server's own seal state; tests and the CLI read it, HTTP clients use /v1/sys/*. */
  sealed(): boolean;
  /**
   * Re-reads policies, the admin identity, tls key/cert/ca/auth, skip_auth settings and the
   * `keys:` list — from `config`, or from the file the server was started from. The address and
   * the keystore cannot change without a restart. Throws (and keeps the old settings) on errors.
   */
  reload(config?: KesConfig): KesConfig;
  /** Resolves once every audit line logged so far is in the audit file. */
  flushAudit(): Promise<void>;
  /** The server's log, for whoever runs it (the `kes server` command logs its stop there). */
  log: Logger;
  /** Stops listening, ends open connections and streams, zeroes keys, closes the keystore. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** The identity recorded as created_by for keys of the config's `keys:` list. */
  systemIdentity?: string;
  /** Reload on SIGHUP (for the `kes server` command; off by default so tests and embedders decide). */
  reloadOnSighup?: boolean;
  /** Where the log goes instead of stdout (tests). */
  logDestination?: DestinationStream;
  /** API route paths not to serve (`/v1/key/bulk/generate/`): to stand in for a KES without kesgate's extensions. */
  withoutRoutes?: readonly string[];
}

export async function startServer(configOrPath: KesConfig | string, options: StartOptions = {}): Promise<RunningServer> {
  let config = typeof configOrPath === 'string' ? loadConfig(configOrPath) : configOrPath;
  const tls = readTls(config);

  const startedAt = new Date();
  const metrics = new Metrics(startedAt);
  const errorLog = new ErrorLog(
    {
      enabled: config.log.error,
      level: config.log.level,
      format: logFormat(config.log.format),
      ...(options.logDestination ? { destination: options.logDestination } : {}),
    },
    () => metrics.errorEvent(),
  );
  const log = errorLog.logger;
  const store = await openKeyStore(config.keystore);
  const barrier = await Barrier.open(store);
  const watch = new SealWatch(store, barrier, log, { pollMs: sealPollMs(config.keystore) });
  const ring = new KeyRing(store, barrier, { onSealEpoch: (epoch) => watch.observe(epoch) });
  const keys = new KeyService(ring, barrier, log);
  const system = new SystemService(barrier, watch, log);
  const audit = new AuditLog(
    config.log.audit,
    () => metrics.auditEvent(),
    (e) => log.error({ file: config.log.audit, err: e.message }, 'cannot write the audit log'),
    // `audit: stdout` lines join the server's log in its shape.
    { rotate: config.log.auditRotate, stdout: (event) => errorLog.audit.info({ audit: event }, 'audit') },
  );

  const ensureConfiguredKeys = async () => {
    const createdBy = options.systemIdentity ?? config.admin.identity ?? '';
    for (const { name } of config.keys) {
      try {
        if (await keys.ensure(name, createdBy)) log.info({ key: name }, 'created key listed in the config');
      } catch (e) {
        log.error({ key: name, err: (e as Error).message }, 'could not create key listed in the config');
      }
    }
  };
  // A SQLite keystore of schema version 1 gets sealed key states at its first unseal (sqlite-store.ts).
  barrier.onUnseal(async () => {
    try {
      const upgraded = await ring.upgrade();
      if (upgraded > 0)
        log.info({ keys: upgraded }, 'upgraded the keystore to schema version 2: key states are now sealed under the root key');
    } catch (e) {
      log.error(
        { err: (e as Error).message },
        'could not upgrade the keystore to sealed key states; its keys are refused until an unseal upgrades it',
      );
    }
  });
  barrier.onUnseal(ensureConfiguredKeys);
  barrier.onUnseal(() => log.info('system unsealed'));
  barrier.onSeal(() => log.info('system sealed'));

  try {
    if (config.unseal) await unsealFromFile(barrier, watch, config.unseal.file, log);
    else if (!barrier.initialized) log.warn(`keystore ${store.description} is not initialized: run \`kes init\`, then unseal`);
    else log.info('system is sealed: submit the unseal shares (`kes unseal`)');
  } catch (e) {
    watch.stop();
    await store.close();
    throw e;
  }

  const deps: AppDeps = {
    keys,
    system,
    policies: new PolicySet(config.admin.identity, config.policy, startedAt.toISOString()),
    audit,
    errorLog,
    metrics,
    startedAt,
    verifyClientChain: config.tls.auth,
    skipAuth: skipAuthPaths(config),
    timeouts: routeTimeouts(config),
    metricsToken: config.metrics.bearerToken,
  };
  const server = createServer(
    // The certificate is requested at the handshake but checked in code, as KES does:
    // a refused chain must become an audited 403, not a bare connection reset.
    { key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
    createApp(deps, apiRoutes(deps, options.withoutRoutes)),
  );
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  // Every node writes its own audit log; its lines name the node.
  audit.node = config.node ?? `${hostname()}:${bound.port}`;
  log.info({ address: `${host}:${bound.port}` }, 'kes server listening');

  const reload = (next?: KesConfig): KesConfig => {
    const fresh = next ?? (config.source ? loadConfig(config.source) : undefined);
    if (!fresh) throw new Error('cannot reload: the server was not started from a config file');
    const freshTls = readTls(fresh);
    server.setSecureContext({ key: freshTls.key, cert: freshTls.cert, ca: freshTls.ca });
    deps.policies = new PolicySet(fresh.admin.identity, fresh.policy, new Date().toISOString());
    deps.verifyClientChain = fresh.tls.auth;
    deps.skipAuth = skipAuthPaths(fresh);
    deps.timeouts = routeTimeouts(fresh);
    deps.metricsToken = fresh.metrics.bearerToken;
    config = { ...fresh, address: config.address, host: config.host, port: config.port, keystore: config.keystore };
    if (!barrier.sealed) void ensureConfiguredKeys();
    log.info('configuration reloaded (policies, certificates, keys)');
    return config;
  };
  const onSighup = () => {
    try {
      reload();
    } catch (e) {
      log.error({ err: (e as Error).message }, 'reload failed; keeping the previous configuration');
    }
  };
  if (options.reloadOnSighup) process.on('SIGHUP', onSighup);

  let closed: Promise<void> | undefined;
  return {
    server,
    address: bound.address,
    port: bound.port,
    url: `https://${host}:${bound.port}`,
    sealed: () => barrier.sealed,
    reload,
    flushAudit: () => audit.flush(),
    log,
    close: () =>
      (closed ??= (async () => {
        process.off('SIGHUP', onSighup);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        watch.stop();
        barrier.seal();
        errorLog.close();
        await audit.close();
        await store.close();
      })()),
  };
}

function readTls(config: KesConfig): { key: Buffer; cert: Buffer; ca: Buffer | undefined } {
  return {
    key: readPem(config.tls.key, 'tls.key'),
    cert: readPem(config.tls.cert, 'tls.cert'),
    ca: config.tls.ca ? readPem(config.tls.ca, 'tls.ca') : undefined,
  };
}

function skipAuthPaths(config: KesConfig): Set<string> {
  return new Set(
    Object.entries(config.api)
      .filter(([, v]) => v.skip_auth)
      .flatMap(([p]) => [p, p.endsWith('/') ? p : `${p}/`]),
  );
}

/** Config paths name routes with or without their trailing slash (`/v1/key/generate` or `/v1/key/generate/`). */
function routeTimeouts(config: KesConfig): Map<string, number> {
  return new Map(
    Object.entries(config.api).flatMap(([p, v]) =>
      v.timeout === undefined ? [] : [[p, v.timeout] as const, [p.endsWith('/') ? p : `${p}/`, v.timeout] as const],
    ),
  );
}

function readPem(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${field} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Development only: unseal with the shares in `file` (one per line). */
async function unsealFromFile(barrier: Barrier, watch: SealWatch, file: string, log: { warn(msg: string): void }): Promise<void> {
  log.warn(`unsealing from ${file}: keeping unseal shares next to the server is for development only`);
  if (!barrier.initialized) throw new Error(`cannot unseal from ${file}: the keystore is not initialized (run \`kes init\` first)`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read unseal file ${file}: ${(e as Error).message}`, { cause: e });
  }
  const shares = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  for (const share of shares) {
    if (!barrier.sealed) break;
    try {
      await watch.unseal(() => barrier.unseal(share));
    } catch (e) {
      throw new Error(`unseal file ${file}: ${(e as Error).message}`, { cause: e });
    }
  }
  if (barrier.sealed) {
    const s = barrier.status();
    throw new Error(`unseal file ${file} holds ${shares.length} share(s) but ${s.t} are needed`);
  }
}
