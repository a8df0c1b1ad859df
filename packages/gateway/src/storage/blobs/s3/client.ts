// The upstream S3 client of the s3 blob store: AWS SDK v3 over keep-alive sockets (bounded in number),
// the operator's CA for HTTPS, per-request timeouts and the SDK's bounded retries with backoff.
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** The `backend.blobs.s3` config, field for field. */
export interface S3BlobStoreOptions {
  /** The upstream's URL, e.g. https://minio:9000 (AWS: https://s3.<region>.amazonaws.com). */
  endpoint: string;
  bucket: string;
  region: string;
  accessKey: string;
  secretKey: string;
  /** Prepended to every blob id as it is (give a trailing slash for a "folder"). Default: none. */
  prefix?: string;
  /** Path-style addressing (endpoint/bucket/key), which MinIO and most self-hosted stores need. Default: false. */
  pathStyle?: boolean;
  /** A CA certificate (PEM contents, or the path of a PEM file) trusted for the upstream, beside the public roots. */
  ca?: string;
}

/** Knobs for code and tests, not for the config file: the defaults are what a gateway runs with. */
export interface S3BlobTuning {
  /**
   * Blobs up to this size go up in one PUT, larger ones as multipart uploads of parts this size.
   * Between 5 MiB and 5 GiB, the limits of an S3 part. Default: PART_SIZE.
   */
  partSize?: number;
  /** Keys per listing page (ListObjectsV2 MaxKeys, ListMultipartUploads MaxUploads). Default 1000, S3's most. */
  listPageSize?: number;
  /** Attempts per upstream request, the first included. Default 3. */
  maxAttempts?: number;
  /** Milliseconds to establish a connection. Default 5 s. */
  connectTimeoutMs?: number;
  /** Milliseconds from sending a request to its response headers (a part's whole upload). Default 120 s. */
  requestTimeoutMs?: number;
  /** Milliseconds a connection may sit idle mid-request or mid-body. Default 60 s. */
  idleTimeoutMs?: number;
  /** Where the HTTP handler's warnings (all sockets busy) go. Default: nowhere. */
  logger?: { warn(message: string): void };
}

/**
 * Sockets per gateway process to the upstream. Bounded so that a slow upstream queues requests in this
 * process (each waiting writer holds at most a few parts, see PARTS_IN_FLIGHT) instead of opening
 * ever more connections to a server that is already struggling.
 */
const MAX_SOCKETS = 64;

export function createUpstreamClient(options: S3BlobStoreOptions, tuning: S3BlobTuning): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS };
  // One TLS context for every connection. Given `ca` itself, the agent would parse the ~150 certificates again for
  // each new connection, and join their text (~200 KB) into its socket-pool key on every request.
  const secureContext = options.ca ? createSecureContext({ ca: [...rootCertificates, readPem(options.ca)] }) : undefined;
  return new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: options.pathStyle ?? false,
    credentials: { accessKeyId: options.accessKey, secretAccessKey: options.secretKey },
    // Checksums only where S3 demands one (DeleteObjects). By default the SDK sends every upload as an
    // aws-chunked body with a trailing CRC, which not every S3-compatible server parses (s3rver stores the
    // chunk framing as the object's bytes); each blob carries its own authentication tags anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The SDK's standard strategy: exponential backoff with jitter on 5xx, throttling, timeouts and
    // connection errors, and a retry quota that stops retrying when most requests fail.
    maxAttempts: tuning.maxAttempts ?? 3,
    retryMode: 'standard',
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent({ ...agentOptions, ...(secureContext ? { secureContext } : {}) }),
      connectionTimeout: tuning.connectTimeoutMs ?? 5_000,
      requestTimeout: tuning.requestTimeoutMs ?? 120_000,
      throwOnRequestTimeout: true,
      socketTimeout: tuning.idleTimeoutMs ?? 60_000,
      logger: { debug() {}, info() {}, warn: (message: string) => tuning.logger?.warn(message), error() {} },
    }),
  });
}

/** `ca` is either PEM text or a file path. */
function readPem(ca: string): string {
  if (ca.includes('-----BEGIN')) return ca;
  try {
    return readFileSync(ca, 'utf8');
  } catch (err) {
    throw new Error(`blobs.s3.ca: cannot read the CA certificate file ${ca}: ${(err as Error).message}`, { cause: err });
  }
}

/** The endpoint as it may appear in messages: scheme, host and port only (no user info, no query). */
export function describeEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(an invalid endpoint URL)';
  }
}
