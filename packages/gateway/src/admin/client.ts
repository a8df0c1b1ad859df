// A client of the admin API for the kesgate CLI (and tests): SigV4-signed JSON over HTTP(S).
import http from 'node:http';
import https from 'node:https';
import { uriEncode } from '../s3/auth/canonical.js';
import type { RotationJob } from '../rotation/index.js';
import type { KeyDependentsReport } from './key-dependents.js';
import type { ObjectStatus } from './object-info.js';
import { signRequest, type SigningCredentials } from './sign.js';
import type { GatewayStatus } from './status.js';

const ADMIN_PREFIX = '/kesgate/admin/v1';

export interface AdminClientOptions extends SigningCredentials {
  /** The gateway's base URL, e.g. http://127.0.0.1:9000 */
  endpoint: string;
  /** PEM CA for an HTTPS endpoint with a private CA. */
  ca?: string | Buffer;
  timeoutMs?: number;
}

/** An admin call that did not succeed: the HTTP status and the gateway's error code and message. */
export class AdminRequestError extends Error {
  override readonly name = 'AdminRequestError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RotateInput {
  bucket: string;
  prefix?: string;
  toKey?: string;
  fromKey?: string;
  dryRun?: boolean;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function errorOf(r: Reply): AdminRequestError {
  const text = r.body.toString('utf8');
  try {
    const j = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (typeof j.message === 'string') return new AdminRequestError(r.status, String(j.error ?? 'Error'), j.message);
  } catch {
    // S3 errors (authentication) come as XML
  }
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP${r.status}`;
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? (text.trim().slice(0, 200) || `HTTP ${r.status}`);
  return new AdminRequestError(r.status, code, message);
}

export class AdminClient {
  private readonly base: URL;

  constructor(private readonly options: AdminClientOptions) {
    this.base = new URL(options.endpoint);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:')
      throw new TypeError(`the gateway endpoint must be http:// or https://; got ${options.endpoint}`);
  }

  status(): Promise<GatewayStatus> {
    return this.json('GET', '/status');
  }

  startRotation(input: RotateInput): Promise<RotationJob> {
    return this.json('POST', '/rotate', input);
  }

  rotation(id: string): Promise<RotationJob> {
    return this.json('GET', `/rotate/${uriEncode(id)}`);
  }

  async rotations(): Promise<RotationJob[]> {
    return (await this.json<{ jobs: RotationJob[] }>('GET', '/rotate')).jobs;
  }

  cancelRotation(id: string): Promise<RotationJob> {
    return this.json('DELETE', `/rotate/${uriEncode(id)}`);
  }

  keyDependents(key: string): Promise<KeyDependentsReport> {
    return this.json('GET', `/keys/${uriEncode(key)}/dependents`);
  }

  /** What is stored for one version of an object (the latest without `versionId`). */
  objectStatus(bucket: string, key: string, versionId?: string): Promise<ObjectStatus> {
    return this.json('GET', '/object-status', undefined, { bucket, key, ...(versionId !== undefined ? { versionId } : {}) });
  }

  async objectRaw(bucket: string, key: string, part?: number, versionId?: string): Promise<Buffer> {
    const r = await this.send('GET', '/object-raw', undefined, {
      bucket,
      key,
      ...(part !== undefined ? { part: String(part) } : {}),
      ...(versionId !== undefined ? { versionId } : {}),
    });
    if (r.status !== 200) throw errorOf(r);
    return r.body;
  }

  async json<T>(method: string, path: string, body?: unknown, query?: Record<string, string>): Promise<T> {
    const r = await this.send(method, path, body, query);
    if (r.status < 200 || r.status > 299) throw errorOf(r);
    return JSON.parse(r.body.toString('utf8')) as T;
  }

  /** One signed request; any answer resolves (the status is the caller's to judge). */
  send(method: string, path: string, body?: unknown, query: Record<string, string> = {}): Promise<Reply> {
    const qs = Object.entries(query)
      .map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`)
      .join('&');
    const url = new URL(`${this.base.origin}${this.base.pathname.replace(/\/$/, '')}${ADMIN_PREFIX}${path}${qs ? `?${qs}` : ''}`);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = signRequest(
      { method, url, ...(payload ? { headers: { 'content-type': 'application/json' }, body: payload } : {}) },
      this.options,
    );
    if (payload) headers['content-length'] = String(payload.length);
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        url,
        { method, headers, ...(this.options.ca ? { ca: this.options.ca } : {}), timeout: this.options.timeoutMs ?? 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`the gateway at ${this.base.origin} did not answer within ${this.options.timeoutMs ?? 30_000} ms`)),
      );
      req.on('error', (err) => reject(new Error(`cannot reach the gateway at ${this.base.origin}: ${err.message}`, { cause: err })));
      req.end(payload);
    });
  }
}
