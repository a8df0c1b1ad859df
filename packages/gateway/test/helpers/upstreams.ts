// Upstream S3 servers for the s3 blob store's tests: moto_server (a child process on a free port), s3rver
// (in this process), and a forwarding proxy that injects upstream failures (errors, stalls) in front of them.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { motoMissing, startMotoServer } from '../../../../scripts/lib/moto.js';

export interface Upstream {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** An SDK client of the upstream itself, to create buckets and look at what is stored. */
  client: S3Client;
  /** Creates a fresh bucket and returns its name. */
  newBucket(): Promise<string>;
  close(): Promise<void>;
}

/** A port below the ephemeral range that nothing listens on (scripts/lib/free-port.ts says why). */
export { freePort } from '../../../../scripts/lib/free-port.js';

// Why the moto tests cannot run here (undefined when moto_server is on PATH): the same check as `npm run cluster`.
export { motoMissing };

let bucketCounter = 0;

function upstream(endpoint: string, accessKey: string, secretKey: string, close: () => Promise<void>): Upstream {
  const region = 'us-east-1';
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    accessKey,
    secretKey,
    region,
    client,
    async newBucket() {
      const bucket = `blobs-${process.pid}-${++bucketCounter}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    async close() {
      client.destroy();
      await close();
    },
  };
}

/** Starts moto_server on a free port and waits until it answers. */
export async function startMoto(): Promise<Upstream> {
  const moto = await startMotoServer();
  // moto does not check signatures unless told to: any credentials do.
  return upstream(moto.endpoint, 'moto-access', 'moto-secret-never-shown', () => moto.close());
}

/** The moto_server of the test run (scripts/lib/test-services.ts) at `endpoint`: close() leaves it running. */
export function connectMoto(endpoint: string): Upstream {
  return upstream(endpoint, 'moto-access', 'moto-secret-never-shown', async () => {});
}

/** Starts s3rver in this process on a free port, storing into a temp directory. */
export async function startS3rver(): Promise<Upstream> {
  // Imported here, not at the top: the files that import this module for moto or the proxy then do not load s3rver
  // and its dependencies (koa, winston, lodash…: ~1.9 MB of bundle, ~0.2 s of CPU per test process).
  // s3rver ships no types; its constructor options and run()/close() are all the tests use.
  // @ts-expect-error no declaration file
  const { default: S3rver } = await import('s3rver');
  const directory = mkdtempSync(join(tmpdir(), 'kesgate-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const address = (await server.run()) as AddressInfo;
  // s3rver's fixed development credentials.
  return upstream(`http://127.0.0.1:${address.port}`, 'S3RVER', 'S3RVER', async () => {
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  });
}

/** What the proxy does with one request. */
export type ProxyAction = 'forward' | 'stall' | { status: number; code: string };

export interface ProxiedRequest {
  method: string;
  url: URL;
  /** The request's Content-Length (0 when absent). */
  length: number;
}

export interface FaultProxy {
  endpoint: string;
  /** Every request seen, in order. */
  requests: ProxiedRequest[];
  /** Requests answered with nothing (stalled) so far. */
  stalled: number;
  /** Resolves once `count` requests have been stalled. */
  whenStalled(count: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of an upstream that forwards requests, or answers some with an S3 error, or
 * never answers them, as `decide` says. It plays the upstream failures a real deployment sees (a 5xx
 * from an overloaded store, a stalled connection) on top of a real S3 server.
 */
export async function startFaultProxy(target: string, decide: (method: string, url: URL) => ProxyAction): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const waiters: { count: number; resolve: () => void }[] = [];
  const held: ServerResponse[] = [];
  const proxy: FaultProxy = {
    endpoint: '',
    requests: [],
    stalled: 0,
    whenStalled(count) {
      if (proxy.stalled >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close: async () => {},
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    proxy.requests.push({ method: req.method ?? 'GET', url, length: Number(req.headers['content-length'] ?? 0) });
    const action = decide(req.method ?? 'GET', url);
    if (action === 'stall') {
      req.resume();
      held.push(res);
      proxy.stalled++;
      for (const w of waiters.filter((w) => proxy.stalled >= w.count)) w.resolve();
      return;
    }
    if (action !== 'forward') {
      req.resume();
      req.on('end', () => {
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${action.code}</Code><Message>injected by the test proxy</Message></Error>`;
        res.writeHead(action.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    const upstreamReq = request(
      { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: req.headers },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', () => res.destroy());
    req.pipe(upstreamReq);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
