// A throwaway S3 endpoint built from the s3 middleware, for tests with real clients: it records
// every PUT body that verified and serves it back on GET. Plus a raw HTTP client and an independent
// SigV4 signer (@smithy/signature-v4) for hand-made requests.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { SignatureV4 } from '@smithy/signature-v4';
import { parseAddress } from '../../src/s3/addressing.js';
import { S3Error } from '../../src/s3/errors.js';
import { authOf, bodyStream, errorHandler, headerSectionLimit, readBody, requestIds, sigv4Auth } from '../../src/s3/middleware.js';
import type { PayloadMode } from '../../src/s3/auth/sigv4.js';
import { NodeSha256 } from '../helpers/node-sha256.js';

export const ACCESS_KEY = 'AKIAKESGATETEST00001';
export const SECRET_KEY = 'kesgate/test+secret/0123456789abcdefghijklm';
export const REGION = 'us-east-1';

export interface Received {
  bucket: string | undefined;
  key: string | undefined;
  payloadMode: PayloadMode;
  size: number;
  sha256: string;
  md5: string;
  checksum?: { algorithm: string; value: string };
  trailers: Record<string, string>;
}

export interface TestServer {
  port: number;
  endpoint: string;
  received: Received[];
  objects: Map<string, Buffer>;
  logged: unknown[];
  /** Emits 'failure' with the error of every request the handler refused (after auth). */
  events: EventEmitter;
  close(): Promise<void>;
}

export async function startServer(options: { now?: () => Date } = {}): Promise<TestServer> {
  const received: Received[] = [];
  const objects = new Map<string, Buffer>();
  const logged: unknown[] = [];
  const events = new EventEmitter();
  const app = express();
  app.use(requestIds());
  app.use(headerSectionLimit());
  app.use(
    sigv4Auth({
      lookup: (key) => (key === ACCESS_KEY ? SECRET_KEY : undefined),
      region: REGION,
      ...(options.now ? { now: options.now } : {}),
    }),
  );
  app.use(async (req, res, next) => {
    try {
      const { bucket, key } = parseAddress(req.headers.host, req.originalUrl);
      const id = `${bucket}/${key}`;
      if (key === 'boom') throw new Error('internal detail that must not reach the client');
      if (req.method === 'PUT') {
        const auth = authOf(res);
        const body = bodyStream(req, auth, { requireLength: true });
        const parts: Buffer[] = [];
        const sha256 = createHash('sha256');
        for await (const chunk of body) {
          parts.push(chunk as Buffer);
          sha256.update(chunk as Buffer);
        }
        const digests = body.digests!;
        const record: Received = {
          bucket,
          key,
          payloadMode: auth.payloadMode,
          size: digests.size,
          sha256: sha256.digest('hex'),
          md5: digests.md5Hex,
          trailers: { ...body.trailers },
        };
        if (digests.checksum) record.checksum = digests.checksum;
        received.push(record);
        objects.set(id, Buffer.concat(parts));
        res.setHeader('ETag', `"${digests.md5Hex}"`);
        res.status(200).end();
        return;
      }
      if (req.method === 'POST') {
        // DeleteObjects-like: a small body that must carry Content-MD5 or a checksum; echoed back.
        const body = await readBody(bodyStream(req, authOf(res), { requireIntegrity: true }), 64 * 1024);
        res.status(200).end(body);
        return;
      }
      if (req.method === 'GET' || req.method === 'HEAD') {
        const data = objects.get(id);
        if (!data) throw new S3Error('NoSuchKey', undefined, { extra: { Key: key ?? '' } });
        res.setHeader('Content-Type', 'application/octet-stream');
        res.setHeader('Content-Length', String(data.length));
        res.status(200).end(req.method === 'GET' ? data : undefined);
        return;
      }
      throw new S3Error('MethodNotAllowed');
    } catch (err) {
      events.emit('failure', err);
      next(err);
    }
  });
  app.use(errorHandler({ error: (obj) => logged.push(obj) }));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    received,
    objects,
    logged,
    events,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function send(
  port: number,
  request: { method: string; path: string; headers: Record<string, string>; body?: Buffer | string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: request.method, path: request.path, headers: request.headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

/** `<Code>` of an S3 error body. */
export function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

export function signer(accessKeyId = ACCESS_KEY, secretAccessKey = SECRET_KEY): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId, secretAccessKey },
    region: REGION,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
  });
}

/**
 * Signs a request with @smithy/signature-v4 (an implementation independent of the one under test).
 * `path` (with an optional simple query) is sent and signed as given; `headers` must include x-amz-content-sha256.
 */
export async function signedHeaders(
  port: number,
  request: { method: string; path: string; headers: Record<string, string> },
  options: { accessKey?: string; secret?: string; date?: Date } = {},
): Promise<Record<string, string>> {
  const [path, rawQuery = ''] = request.path.split('?', 2) as [string, string?];
  const query = Object.fromEntries([...new URLSearchParams(rawQuery)]);
  const signed = await signer(options.accessKey, options.secret).sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path,
      query,
      headers: { host: `127.0.0.1:${port}`, ...request.headers },
    },
    { signingDate: options.date ?? new Date() },
  );
  return signed.headers as Record<string, string>;
}

/** Signature of one aws-chunked chunk, via smithy's event signer (its string to sign has the same shape). */
export function chunkSignature(chunk: Uint8Array, priorSignature: string, date: Date): Promise<string> {
  return signer().sign({ headers: new Uint8Array(0), payload: chunk }, { signingDate: date, priorSignature });
}
