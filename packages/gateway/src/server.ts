import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import express from 'express';
import type { Logger } from 'pino';
import { KesClient } from '@kesgate/kes-client';
import { splitAddress, type GatewayConfig } from './config/load.js';
import { createGatewayApp } from './http/app.js';
import { BoundedClose } from './http/bounded-close.js';
import { answerClientErrors, countTlsErrors, MAX_HEADER_BYTES } from './http/client-errors.js';
import { ConnectionProblems, PerClientConnectionLimit } from './http/connection-problems.js';
import { parseTlsThroughStream } from './http/tls-parse-path.js';
import { continueWhenBodyIsRead } from './s3/expect-continue.js';
import type { GatewayServices } from './http/services.js';
import { CachingKMS } from './kms/caching-kms.js';
import { KeyCache } from './kms/key-cache.js';
import { registerKmsHealthGauges } from './kms/health-gauges.js';
import { KesKMS } from './kms/kms.js';
import { createLogger, logFormat } from '@kesgate/log';
import { GatewayMetrics } from './metrics.js';
import { objectEncryption } from './sse/setup.js';
import { openObjectStore, type OpenStoreOptions } from './storage/index.js';
import { Heartbeat, HEARTBEAT_EVERY_MS } from './storage/heartbeat.js';
import type { GatewayInstance } from './storage/metadata/types.js';
import { PeriodicSweep, SWEEP_EVERY_MS } from './storage/periodic-sweep.js';

export interface RunningGateway {
  svc: GatewayServices;
  kes: KesClient;
  httpPort: number;
  httpsPort?: number;
  url: string;
  httpsUrl?: string;
  /**
   * Stop accepting, let in-flight requests finish for `shutdown.drainSeconds` (then cut their connections),
   * then release the store.
   */
  close(): Promise<void>;
  /** The first step of close(): stop accepting and drain the listeners (resolves with the connections cut). */
  stopServing(): Promise<number>;
}

export interface StartOptions {
  logger?: Logger;
  /** Extra routes under /kesgate/admin/v1 (the admin API), given the services and the gateway's kes client. */
  admin?: (svc: GatewayServices, kes: KesClient) => express.Router;
  /** The operator console at /console, given the services (made after the admin routes). */
  console?: (svc: GatewayServices) => express.RequestHandler;
  /** Tuning for tests: the store's options, and how often to beat and (shared stores) sweep. */
  store?: Omit<OpenStoreOptions, 'holder'>;
  heartbeatEveryMs?: number;
  sweepEveryMs?: number;
  /** How often the connection-problem summary is logged (default 60 s). */
  connectionSummaryEveryMs?: number;
}

/**
 * Idle keep-alive connections are kept for 65 s (Node's default is 5 s). Clients such as Node's agent never
 * time idle sockets out themselves, so with a short server timeout a request sent just as the server closes
 * the socket meets a connection reset; S3 clients expect connections to stay open for a minute.
 */
function keepAlive<S extends http.Server>(server: S): S {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  return server;
}

function listen(server: http.Server, address: string): Promise<number> {
  const { host, port } = splitAddress(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startGateway(config: GatewayConfig, options: StartOptions = {}): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger('kesgate', config.log.level, logFormat(config.log.format));
  const metrics = new GatewayMetrics();
  const kmsGauges = registerKmsHealthGauges(metrics.registry, config.kms);
  const kes = new KesClient({
    endpoints: config.kms.endpoints,
    cert: readFileSync(config.kms.cert),
    key: readFileSync(config.kms.key),
    ...(config.kms.ca ? { ca: readFileSync(config.kms.ca) } : {}),
    timeoutMs: config.kms.timeoutMs,
    // One line per change of a node's state, not one per request that met it.
    onNodeChange: (n) =>
      n.up
        ? logger.info({ kes: n.endpoint }, 'kes node is back in use')
        : logger.warn(
            { kes: n.endpoint, reason: n.lastError, ...(n.sealed !== undefined ? { sealed: n.sealed } : {}) },
            config.kms.endpoints.length > 1
              ? 'kes node marked down: using the other nodes'
              : n.sealed
                ? 'kes is sealed: requests that need a data key get 503 until it is unsealed'
                : 'kes is unavailable: requests that need a data key get 503 until it answers',
          ),
  });
  const keyCache = new KeyCache(config.kms.cache, (result) => metrics.kmsCache.inc({ result }));
  const kms = new CachingKMS(
    new KesKMS(kes, config.kms.defaultKey, (op, seconds, outcome) => metrics.kms.observe({ operation: op, outcome }, seconds)),
    keyCache,
  );
  // Who this gateway is among those sharing the metadata store; its address is known once it listens.
  const instance: GatewayInstance = { id: randomUUID(), address: '', startedAt: new Date() };
  const store = await openObjectStore(config.backend, { ...options.store, holder: instance.id });
  const svc: GatewayServices = { config, logger, metrics, store, backend: store, instance, enc: objectEncryption(config, kms) };
  const heartbeat = new Heartbeat(store.metadata, instance, logger, options.heartbeatEveryMs ?? HEARTBEAT_EVERY_MS);
  // The store swept at open; with shared stores, again now and then (one gateway at a time).
  const sweeps = store.shared ? new PeriodicSweep(store, logger, options.sweepEveryMs ?? SWEEP_EVERY_MS) : undefined;
  const app = createGatewayApp(svc, {
    ...(options.admin ? { admin: options.admin(svc, kes) } : {}),
    ...(options.console ? { console: options.console(svc) } : {}),
  });

  const listeners = new BoundedClose();
  const problems = new ConnectionProblems(logger, metrics.registry, options.connectionSummaryEveryMs);
  const perClient = new PerClientConnectionLimit(config.limits.connectionsPerClient, problems);
  try {
    const plain = keepAlive(http.createServer({ maxHeaderSize: MAX_HEADER_BYTES }, app));
    perClient.attach(plain, 'http');
    answerClientErrors(plain, problems, 'http');
    continueWhenBodyIsRead(plain);
    listeners.track(plain);
    const httpPort = await listen(plain, config.address);
    let httpsPort: number | undefined;
    if (config.tls) {
      const secure = keepAlive(
        https.createServer(
          { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key), maxHeaderSize: MAX_HEADER_BYTES },
          app,
        ),
      );
      perClient.attach(secure, 'https');
      answerClientErrors(secure, problems, 'https');
      continueWhenBodyIsRead(secure);
      countTlsErrors(secure, problems, 'https');
      parseTlsThroughStream(secure);
      listeners.track(secure, true);
      httpsPort = await listen(secure, config.tls.address);
    }
    const host = splitAddress(config.address).host;
    const wildcard = host === '0.0.0.0' || host === '::';
    const shown = wildcard ? '127.0.0.1' : host;
    // What other gateways show of this one: a name they can reach it by.
    const name = wildcard ? hostname() : host;
    instance.address = `http://${name.includes(':') ? `[${name}]` : name}:${httpPort}`;
    await heartbeat.start();
    sweeps?.start();
    let stopped: Promise<number> | undefined;
    const stopServing = (): Promise<number> =>
      (stopped ??= (async () => {
        const drainSeconds = config.shutdown.drainSeconds;
        const cut = await listeners.close(drainSeconds * 1000);
        if (cut > 0) logger.warn({ connectionsCut: cut, drainSeconds }, 'drain period over: cut the connections of requests still running');
        else logger.info({ connectionsCut: 0, drainSeconds }, 'every connection ended within the drain period');
        return cut;
      })());
    logger.info({ httpPort, httpsPort, backend: store.backend, instance: instance.id, kes: config.kms.endpoints }, 'kesgate listening');
    return {
      svc,
      kes,
      httpPort,
      ...(httpsPort !== undefined ? { httpsPort, httpsUrl: `https://${shown}:${httpsPort}` } : {}),
      url: `http://${shown}:${httpPort}`,
      stopServing,
      async close() {
        await stopServing();
        problems.stop();
        kes.close();
        keyCache.close();
        kmsGauges.close();
        sweeps?.stop();
        await heartbeat.stop();
        await store.close();
      },
    };
  } catch (err) {
    await listeners.close(0);
    problems.stop();
    kes.close();
    keyCache.close();
    kmsGauges.close();
    sweeps?.stop();
    await heartbeat.stop();
    await store.close();
    throw err;
  }
}
