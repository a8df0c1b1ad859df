// Hand-made HTTP requests to a gateway: signed with @smithy/signature-v4 (an implementation independent
// of the gateway's verifier), then sent byte for byte as given, so a test can send exactly the
// malformed thing (a changed payload, a stale date, a broken body) that no SDK would.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../helpers/node-sha256.js';
import { head } from './wire.js';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RawRequest {
  method: string;
  /** The path as sent and signed: already percent-encoded where needed. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface SignOptions {
  accessKey?: string;
  secretKey?: string;
  date?: Date;
  /** x-amz-content-sha256; the SHA-256 of the body by default. */
  payloadHash?: string;
}

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
export const md5Base64 = (data: Buffer | string): string => createHash('md5').update(data).digest('base64');

function target(r: RawRequest): string {
  const q = Object.entries(r.query ?? {}).map(([k, v]) =>
    v === '' ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
  );
  return q.length ? `${r.path}?${q.join('&')}` : r.path;
}

export class RawClient {
  constructor(
    readonly port: number,
    private readonly accessKey: string,
    private readonly secretKey: string,
  ) {}

  /**
   * A signed PUT (UNSIGNED-PAYLOAD) announcing `declared` bytes whose client goes away after sending `sent`: the
   * head and `sent` go out on a socket of its own, which is then destroyed.
   */
  async abandonedPut(path: string, declared: number, sent: Buffer): Promise<void> {
    const headers = await this.sign(
      { method: 'PUT', path, headers: { 'content-length': String(declared) } },
      { payloadHash: 'UNSIGNED-PAYLOAD' },
    );
    const socket = net.connect(this.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(head('PUT', path, headers));
    await new Promise<void>((resolve) => socket.write(sent, () => resolve()));
    socket.destroy();
  }

  /** The request's headers with host, x-amz-date, x-amz-content-sha256 and Authorization added. */
  async sign(r: RawRequest, o: SignOptions = {}): Promise<Record<string, string>> {
    const signer = new SignatureV4({
      credentials: { accessKeyId: o.accessKey ?? this.accessKey, secretAccessKey: o.secretKey ?? this.secretKey },
      region: 'us-east-1',
      service: 's3',
      sha256: NodeSha256,
      uriEscapePath: false,
    });
    const signed = await signer.sign(
      {
        method: r.method,
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: this.port,
        path: r.path,
        query: r.query ?? {},
        headers: {
          host: `127.0.0.1:${this.port}`,
          'x-amz-content-sha256': o.payloadHash ?? sha256Hex(r.body ?? ''),
          ...r.headers,
        },
      },
      { signingDate: o.date ?? new Date() },
    );
    return signed.headers as Record<string, string>;
  }

  /** Sends the request as given: no signing, no added headers beyond what Node needs. */
  send(r: RawRequest): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const headers = { ...r.headers };
      if (r.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) {
        headers['content-length'] = String(Buffer.byteLength(r.body));
      }
      const req = http.request({ host: '127.0.0.1', port: this.port, method: r.method, path: target(r), headers, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(r.body);
    });
  }

  /** Signs, then sends. `after` headers are set after signing (unsigned changes in flight). */
  async signedSend(
    r: RawRequest,
    o: SignOptions & { after?: Record<string, string>; sendBody?: Buffer | string } = {},
  ): Promise<RawResponse> {
    const headers = await this.sign(r, o);
    const sent: RawRequest = { ...r, headers: { ...headers, ...o.after } };
    if (o.sendBody !== undefined) sent.body = o.sendBody;
    return this.send(sent);
  }
}

/** `<Code>` of an S3 error body. */
export function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}
