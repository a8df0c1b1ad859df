// A minimal S3 client over node:http(s) with keep-alive and hand-made SigV4: bodies are streamed
// (Content-Length + UNSIGNED-PAYLOAD for large ones, a real SHA-256 for small ones, as SDKs do over
// HTTP) and responses are consumed without buffering unless asked, so the load generator stays cheap.
import { createHash } from 'node:crypto';
import http, { type ClientRequest, type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { once } from 'node:events';
import { Signer, UNSIGNED_PAYLOAD, s3Path, type Credentials } from './sigv4.js';

export interface StreamBody {
  size: number;
  /** Writes exactly `size` bytes into the request, honouring backpressure; does not end it. */
  write(req: ClientRequest): Promise<void>;
}

/** `size` bytes made of `block` repeated: data generated on the fly, so the client is never the bottleneck. */
export function repeatingBody(size: number, block: Buffer): StreamBody {
  return {
    size,
    async write(req) {
      let left = size;
      while (left > 0) {
        const n = Math.min(left, block.length);
        const ok = req.write(n === block.length ? block : block.subarray(0, n));
        left -= n;
        if (!ok) await once(req, 'drain');
      }
    },
  };
}

/** What to do with a response body: keep it, hash it, or only count it. */
export type Sink = 'buffer' | 'sha256' | 'count';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body when the sink was 'buffer', or an error document (any status ≥ 300). */
  body?: Buffer;
  bytes: number;
  sha256?: string;
  /** The S3 error code of an error reply, when it has one. */
  code?: string;
  /** Milliseconds from sending the request to the last byte of the response. */
  ms: number;
}

export interface RequestOptions {
  query?: string;
  headers?: Record<string, string>;
  body?: Buffer | StreamBody;
  /** Sign a streamed body as UNSIGNED-PAYLOAD (default for StreamBody); a Buffer is hashed. */
  sink?: Sink;
}

export interface RawS3Options {
  endpoint: string;
  creds: Credentials;
  /** PEM CA for an HTTPS endpoint. */
  ca?: string;
  maxSockets?: number;
}

const EMPTY = Buffer.alloc(0);

export class RawS3 {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly signer: Signer;
  private readonly mod: typeof http | typeof https;

  constructor(readonly options: RawS3Options) {
    this.url = new URL(options.endpoint);
    const secure = this.url.protocol === 'https:';
    this.mod = secure ? https : http;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
    this.agent = secure ? new https.Agent({ ...agentOptions, ...(options.ca ? { ca: options.ca } : {}) }) : new http.Agent(agentOptions);
    this.signer = new Signer(options.creds);
  }

  get endpoint(): string {
    return this.options.endpoint;
  }

  request(method: string, bucket: string, key: string | undefined, opts: RequestOptions = {}): Promise<Reply> {
    const body = opts.body ?? EMPTY;
    const isStream = !Buffer.isBuffer(body);
    const size = isStream ? body.size : body.length;
    const payloadHash = isStream ? UNSIGNED_PAYLOAD : createHash('sha256').update(body).digest('hex');
    const path = s3Path(bucket, key);
    const headers = this.signer.sign({ method, host: this.url.host, path, query: opts.query, headers: opts.headers, payloadHash });
    if (size > 0 || method === 'PUT' || method === 'POST') headers['content-length'] = String(size);
    const sink = opts.sink ?? 'count';
    const start = performance.now();
    return new Promise<Reply>((resolve, reject) => {
      const req = this.mod.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method,
          path: opts.query ? `${path}?${opts.query}` : path,
          headers,
          agent: this.agent,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const keep = sink === 'buffer' || status >= 300;
          const chunks: Buffer[] = [];
          const hash = sink === 'sha256' && status < 300 ? createHash('sha256') : undefined;
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (keep) chunks.push(c);
            hash?.update(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            const reply: Reply = { status, headers: res.headers, bytes, ms: performance.now() - start };
            if (keep) reply.body = Buffer.concat(chunks);
            if (hash) reply.sha256 = hash.digest('hex');
            if (status >= 300 && reply.body) {
              const code = /<Code>([^<]*)<\/Code>/.exec(reply.body.toString('utf8'))?.[1];
              if (code) reply.code = code;
            }
            resolve(reply);
          });
        },
      );
      req.on('error', reject);
      if (isStream) {
        body.write(req).then(
          () => req.end(),
          (err: unknown) => req.destroy(err as Error),
        );
      } else {
        req.end(body);
      }
    });
  }

  put(bucket: string, key: string, body: Buffer | StreamBody, headers?: Record<string, string>): Promise<Reply> {
    return this.request('PUT', bucket, key, { body, ...(headers ? { headers } : {}) });
  }

  get(bucket: string, key: string, opts: { headers?: Record<string, string>; sink?: Sink } = {}): Promise<Reply> {
    return this.request('GET', bucket, key, opts);
  }

  delete(bucket: string, key: string): Promise<Reply> {
    return this.request('DELETE', bucket, key);
  }

  async createBucket(bucket: string): Promise<void> {
    const r = await this.request('PUT', bucket, undefined);
    if (r.status !== 200 && r.code !== 'BucketAlreadyOwnedByYou') {
      throw new Error(
        `CreateBucket ${bucket} at ${this.options.endpoint}: HTTP ${r.status} ${r.code ?? ''} ${r.body?.toString('utf8').slice(0, 300) ?? ''}`,
      );
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Throws unless the reply has the expected status: a benchmark must not time errors. */
export function expectStatus(r: Reply, status: number, what: string): Reply {
  if (r.status !== status) {
    throw new Error(`${what}: expected HTTP ${status}, got ${r.status} ${r.code ?? ''} ${r.body?.toString('utf8').slice(0, 300) ?? ''}`);
  }
  return r;
}
