// The cluster layout end to end: one kes, TWO gateways on one PostgreSQL database and one upstream bucket
// (moto), and SDK clients that send each request to the other gateway than the one before. A suite written
// for startStack runs unchanged on it: `gw` is the first gateway, `s3`/`s3tls` alternate.
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { pino } from 'pino';
import type { BackendConfig } from '../../src/config/backend.js';
import { startGateway, type RunningGateway } from '../../src/server.js';
import { freshClusterBackend } from './cluster-services.js';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack, type StackOptions } from './stack.js';

type HandleArgs = Parameters<NodeHttpHandler['handle']>;

/**
 * Sends request n to port n mod N. The request was signed for the first endpoint and its Host header is left
 * as signed: the gateways check the signature over the Host they receive, not against their own address.
 */
class AlternatingHandler extends NodeHttpHandler {
  private turn = 0;

  constructor(
    private readonly ports: () => number[],
    options?: ConstructorParameters<typeof NodeHttpHandler>[0],
  ) {
    super(options);
  }

  override handle(request: HandleArgs[0], options?: HandleArgs[1]): ReturnType<NodeHttpHandler['handle']> {
    const ports = this.ports();
    const port = ports[this.turn++ % ports.length]!;
    const routed = Object.assign(Object.create(Object.getPrototypeOf(request) as object) as HandleArgs[0], request, { port });
    return super.handle(routed, options);
  }
}

/** An SDK v3 client that alternates between the gateways whose ports `ports()` gives, request by request. */
export function alternatingClient(endpoint: string, ports: () => number[], ca?: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
    requestHandler: new AlternatingHandler(ports, ca ? { httpsAgent: new HttpsAgent({ ca, keepAlive: true }) } : {}),
  });
}

export interface ClusterStack extends Stack {
  /** The gateways sharing the backend; gateways[0] is `gw`. */
  gateways: RunningGateway[];
  backend: BackendConfig;
  /** The metadata database's URL (superuser, with its password: for looking at what is stored). */
  databaseUrl: string;
  /** The upstream bucket that holds the blobs. */
  upstreamBucket: string;
  /** Starts one more gateway on the same backend and kes (it joins the alternation). */
  addGateway(): Promise<RunningGateway>;
}

const portOf = (url: string): number => Number(new URL(url).port);

export interface ClusterStackOptions extends StackOptions {
  /** Where the gateways reach the upstream, when not at moto itself (e.g. a switch in front of it). */
  upstreamEndpoint?: string;
  /** backend.inlineThreshold of the gateways (default: the gateway's). */
  inlineThreshold?: number;
}

/**
 * A kes and two gateways on a fresh database and a fresh upstream bucket of the test file's PostgreSQL and
 * moto (test/helpers/cluster-services.ts). Skip with clusterSkipReason() where they are missing.
 */
export async function startClusterStack(options: ClusterStackOptions = {}): Promise<ClusterStack> {
  const fresh = await freshClusterBackend('gateways');
  const { url, bucket } = fresh;
  let backend = fresh.backend;
  if (options.upstreamEndpoint !== undefined && 'blobs' in backend && 's3' in backend.blobs) {
    backend = { ...backend, blobs: { s3: { ...backend.blobs.s3, endpoint: options.upstreamEndpoint } } };
  }
  if (options.inlineThreshold !== undefined) backend = { ...backend, inlineThreshold: options.inlineThreshold };
  const st = await startStack({ ...options, gateway: { ...options.gateway, backend } });
  const gateways: RunningGateway[] = [st.gw];
  const closeFirst = st.close.bind(st);
  const addGateway = async (): Promise<RunningGateway> => {
    const gw = await startGateway(st.config, { logger: pino({ level: 'silent' }), ...options.gatewayOptions });
    gateways.push(gw);
    return gw;
  };
  try {
    await addGateway();
  } catch (err) {
    await closeFirst();
    throw err;
  }
  const s3 = alternatingClient(st.gw.url, () => gateways.map((g) => portOf(g.url)));
  const s3tls = alternatingClient(st.gw.httpsUrl!, () => gateways.map((g) => portOf(g.httpsUrl!)), st.caPem);
  // The single-gateway clients startStack made are closed with it; the stack now hands out the alternating ones.
  const cluster = st as ClusterStack;
  cluster.s3 = s3;
  cluster.s3tls = s3tls;
  cluster.gateways = gateways;
  cluster.backend = backend;
  cluster.databaseUrl = url;
  cluster.upstreamBucket = bucket;
  cluster.addGateway = addGateway;
  cluster.close = async () => {
    s3.destroy();
    s3tls.destroy();
    for (const gw of gateways.slice(1)) await gw.close();
    await closeFirst();
  };
  return cluster;
}
