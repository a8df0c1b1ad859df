import https from 'node:https';
import tls from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { Coalescer, type Pending } from './coalescer.js';
import { KesError, KesUnavailableError, isNetworkError } from './errors.js';
import { NodePool, type KesNodeState, type ProbeResult } from './node-pool.js';
import type {
  DataKey,
  IdentityDescription,
  KesCipher,
  KeyDescription,
  KeyList,
  KesStatus,
  PolicyDescription,
  PolicyDocument,
  SealStatus,
} from './types.js';

export interface KesClientOptions {
  /**
   * One or more base URLs, e.g. `https://127.0.0.1:7373`. Requests are spread over the nodes that are up
   * (fewest in flight first); a node that fails is marked down and probed back in the background.
   */
  endpoints: string[];
  /** PEM client certificate and key: the client's identity at kes. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA that signed the server certificate. Without it the system roots are used. */
  ca?: string | Buffer;
  /** Do not verify the server certificate (KES's `--insecure`): for tests against self-signed servers only. */
  insecure?: boolean;
  /** Per-attempt timeout in milliseconds (default 10 s): a node silent for this long is failed over. */
  timeoutMs?: number;
  /**
   * Extra rounds over all endpoints after a network failure (default 2). An HTTP answer is final, except a
   * 503 (sealed, or unavailable), which moves the request on to the next node when there is one.
   */
  retries?: number;
  /** Pause before each extra round, doubled every round (default 100 ms). */
  backoffMs?: number;
  /** Most sockets kept open per endpoint (default 64). */
  maxSockets?: number;
  /** A node marked down is probed after this many ms (default 200), doubling up to `probeMaxMs` (default 2000). */
  probeMs?: number;
  probeMaxMs?: number;
  /** Told when a node is marked down (with the reason in `lastError`) and when it comes back. */
  onNodeChange?: (node: KesNodeState) => void;
  /**
   * Coalescing of `generateKey` and `decryptKey` (on unless `false`): while `perNode` (default 1) batches per
   * up node are in flight, further calls for one key name wait for a free slot and go as one bulk request
   * (`/v1/key/bulk/generate|decrypt/<name>`) of at most `maxBatch` (default 100) items, each with its own
   * context. The first call of an idle client goes at once, alone. A server without the bulk route (404/405)
   * or a policy without it (403) gets single calls instead, remembered for `rememberMs` (default 5 min).
   */
  coalesce?: false | { perNode?: number; maxBatch?: number; rememberMs?: number };
}

/** kes's (and KES's) answer for a missing key: a 404 with another message is a missing route. */
const KEY_NOT_FOUND = 'key does not exist';

type BulkOp = 'generate' | 'decrypt';

interface RawResponse {
  status: number;
  body: Buffer;
}

const b64 = (b: Buffer | Uint8Array): string => Buffer.from(b).toString('base64');
const unb64 = (s: unknown, field: string): Buffer => {
  if (typeof s !== 'string') throw new TypeError(`kes answered without a "${field}" field`);
  return Buffer.from(s, 'base64');
};
const seg = (name: string): string => encodeURIComponent(name);

/**
 * A typed client of the kes (KES-compatible) API over mutual TLS with keep-alive connections,
 * requests spread over several nodes, failover on network errors, timeouts and 503s.
 */
export class KesClient {
  private readonly agent: https.Agent;
  private readonly endpoints: URL[];
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly pool: NodePool;
  /** The probe path a node's policy lets us use, once known (see `probe`). */
  private probePath: '/v1/status' | '/v1/sys/seal-status' | undefined = '/v1/status';
  private readonly coalescer: Coalescer | undefined;
  private readonly rememberMs: number;
  /** Until when a node is known not to serve a bulk route (404/405): `op\0endpoint` → time in ms. */
  private readonly bulkMissing = new Map<string, number>();
  /** Until when our policy is known not to allow a bulk route for a key (403): `op\0name` → time in ms. */
  private readonly bulkForbidden = new Map<string, number>();

  constructor(opts: KesClientOptions) {
    if (opts.endpoints.length === 0) throw new TypeError('KesClient needs at least one endpoint');
    this.endpoints = opts.endpoints.map((e) => {
      const u = new URL(e);
      if (u.protocol !== 'https:') throw new TypeError(`kes endpoint ${e} must use https://`);
      return u;
    });
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.retries = opts.retries ?? 2;
    this.backoffMs = opts.backoffMs ?? 100;
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: opts.maxSockets ?? 64,
      ...(opts.insecure ? { rejectUnauthorized: false } : {}),
      // One parsed context instead of PEM options: an agent names its socket pools by joining every PEM
      // option into a string, rebuilt and hashed on each request (measured: ~5% of the gateway's busy time in
      // the rotation benchmark went to the agent's pool lookups), and each new connection would parse the PEMs again.
      secureContext: tls.createSecureContext({ cert: opts.cert, key: opts.key, ...(opts.ca !== undefined ? { ca: opts.ca } : {}) }),
    });
    this.pool = new NodePool(this.endpoints, {
      probeMs: opts.probeMs ?? 200,
      probeMaxMs: opts.probeMaxMs ?? 2000,
      probe: (url) => this.probe(url),
      ...(opts.onNodeChange ? { onChange: opts.onNodeChange } : {}),
    });
    const co = opts.coalesce === false ? undefined : (opts.coalesce ?? {});
    this.rememberMs = (co && co.rememberMs) ?? 5 * 60_000;
    if (co) {
      const perNode = co.perNode ?? 1;
      this.coalescer = new Coalescer({
        window: () => perNode * Math.max(1, this.pool.nodes.filter((n) => n.up).length),
        maxBatch: co.maxBatch ?? 100,
        send: (op, name, items) => this.runBatch(op as BulkOp, name, items),
      });
    }
  }

  get endpointUrls(): string[] {
    return this.endpoints.map((u) => u.origin);
  }

  /** Each node as this client sees it: up or down, why it went down, its latency, its requests in flight. */
  nodes(): KesNodeState[] {
    return this.pool.states();
  }

  /** Close idle keep-alive sockets and stop probing. */
  close(): void {
    this.pool.close();
    this.agent.destroy();
  }

  // ---- system -----------------------------------------------------------------------------
  version(): Promise<{ version: string; commit?: string }> {
    return this.json('GET', '/version');
  }
  status(): Promise<KesStatus> {
    return this.json('GET', '/v1/status');
  }
  async ready(): Promise<boolean> {
    const r = await this.send('GET', '/v1/ready');
    return r.status === 200;
  }
  sealStatus(): Promise<SealStatus> {
    return this.json('GET', '/v1/sys/seal-status');
  }
  async seal(): Promise<void> {
    await this.call('PUT', '/v1/sys/seal');
  }
  unseal(share: string): Promise<SealStatus> {
    return this.json('PUT', '/v1/sys/unseal', { key: share });
  }
  resetUnseal(): Promise<SealStatus> {
    return this.json('PUT', '/v1/sys/unseal', { reset: true });
  }
  selfDescribe(): Promise<Record<string, unknown>> {
    return this.json('GET', '/v1/identity/self/describe');
  }
  /** The server's metrics in the Prometheus text format. */
  async metrics(): Promise<string> {
    return (await this.call('GET', '/v1/metrics')).body.toString('utf8');
  }

  // ---- identities and policies ------------------------------------------------------------
  /** Identities (hex) starting with `pattern` (a prefix, with an optional trailing `*`). */
  async listIdentities(pattern = '*'): Promise<string[]> {
    return (await this.json<{ identities?: string[] }>('GET', `/v1/identity/list/${seg(pattern)}`)).identities ?? [];
  }
  describeIdentity(identity: string): Promise<IdentityDescription> {
    return this.json('GET', `/v1/identity/describe/${seg(identity)}`);
  }
  async listPolicies(pattern = '*'): Promise<string[]> {
    return (await this.json<{ names?: string[] }>('GET', `/v1/policy/list/${seg(pattern)}`)).names ?? [];
  }
  describePolicy(name: string): Promise<PolicyDescription> {
    return this.json('GET', `/v1/policy/describe/${seg(name)}`);
  }
  /** The policy itself: its allow and deny rules (path patterns). */
  readPolicy(name: string): Promise<PolicyDocument> {
    return this.json('GET', `/v1/policy/read/${seg(name)}`);
  }

  // ---- keys -------------------------------------------------------------------------------
  async createKey(name: string): Promise<void> {
    await this.call('PUT', `/v1/key/create/${seg(name)}`);
  }
  async importKey(name: string, key: Buffer, cipher: KesCipher = 'AES256'): Promise<void> {
    await this.call('PUT', `/v1/key/import/${seg(name)}`, { key: b64(key), cipher });
  }
  describeKey(name: string): Promise<KeyDescription> {
    return this.json('GET', `/v1/key/describe/${seg(name)}`);
  }
  async deleteKey(name: string): Promise<void> {
    await this.call('DELETE', `/v1/key/delete/${seg(name)}`);
  }
  /** One page of key names matching `pattern` (`*` for all); pass `continue_at` from the last page to go on. */
  listKeys(pattern = '*', continueAt?: string): Promise<KeyList> {
    const q = continueAt ? `?continue_at=${encodeURIComponent(continueAt)}` : '';
    return this.json('GET', `/v1/key/list/${seg(pattern)}${q}`);
  }
  /** Every key name matching `pattern`, following pages. */
  async allKeys(pattern = '*'): Promise<string[]> {
    const names: string[] = [];
    let next: string | undefined;
    do {
      const page = await this.listKeys(pattern, next);
      names.push(...page.names);
      next = page.continue_at || undefined;
    } while (next);
    return names;
  }
  generateKey(name: string, context?: Buffer): Promise<DataKey> {
    const body: Record<string, string> = context ? { context: b64(context) } : {};
    return this.coalescer ? this.coalescer.submit('generate', name, body) : this.single('generate', name, body);
  }
  async encrypt(name: string, plaintext: Buffer, context?: Buffer): Promise<{ ciphertext: Buffer; version?: string }> {
    const body: Record<string, string> = { plaintext: b64(plaintext) };
    if (context) body.context = b64(context);
    const r = await this.json<Record<string, unknown>>('PUT', `/v1/key/encrypt/${seg(name)}`, body);
    return { ciphertext: unb64(r.ciphertext, 'ciphertext'), ...(typeof r.version === 'string' ? { version: r.version } : {}) };
  }
  decryptKey(name: string, ciphertext: Buffer, context?: Buffer, version?: string): Promise<Buffer> {
    const body: Record<string, string> = { ciphertext: b64(ciphertext) };
    if (context) body.context = b64(context);
    if (version) body.version = version;
    return this.coalescer ? this.coalescer.submit('decrypt', name, body) : this.single('decrypt', name, body);
  }
  async hmac(name: string, message: Buffer): Promise<Buffer> {
    const r = await this.json<Record<string, unknown>>('PUT', `/v1/key/hmac/${seg(name)}`, { message: b64(message) });
    return unb64(r.hmac, 'hmac');
  }
  async sealKey(name: string): Promise<void> {
    await this.call('PUT', `/v1/key/seal/${seg(name)}`);
  }
  async unsealKey(name: string): Promise<void> {
    await this.call('PUT', `/v1/key/unseal/${seg(name)}`);
  }
  async rotateKey(name: string): Promise<KeyDescription | undefined> {
    const r = await this.call('PUT', `/v1/key/rotate/${seg(name)}`);
    return r.body.length ? (JSON.parse(r.body.toString('utf8')) as KeyDescription) : undefined;
  }
  /** Sets the key's min_decryption_version; returns the key's description when kes sends one. */
  async configureKey(name: string, config: { min_decryption_version: number }): Promise<KeyDescription | undefined> {
    const r = await this.call('PUT', `/v1/key/config/${seg(name)}`, config);
    return r.body.length ? (JSON.parse(r.body.toString('utf8')) as KeyDescription) : undefined;
  }

  /**
   * Follow an NDJSON stream such as `/v1/log/audit`; each line is yielded parsed. Abort with the signal.
   * `onOpen` is called once kes has accepted the stream (events from then on are delivered).
   */
  async *stream(path: string, signal?: AbortSignal, onOpen?: () => void): AsyncGenerator<Record<string, unknown>> {
    const res = await this.openStream(path, signal);
    onOpen?.();
    let rest = '';
    for await (const chunk of res) {
      rest += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, nl).trim();
        rest = rest.slice(nl + 1);
        if (line) yield JSON.parse(line) as Record<string, unknown>;
      }
    }
  }

  // ---- single and bulk data-key calls --------------------------------------------------------
  private async single<T>(op: BulkOp, name: string, body: Record<string, string>): Promise<T> {
    const r = await this.json<Record<string, unknown>>('PUT', `/v1/key/${op}/${seg(name)}`, body);
    return parseItem(op, r) as T;
  }

  /**
   * One batch: a bulk request when it has several items and the route is usable, else (or when the bulk
   * answer cannot tell which item failed) each item as a single call, so every caller gets its own answer.
   */
  private async runBatch(op: BulkOp, name: string, items: Pending<unknown>[]): Promise<void> {
    if (items.length > 1 && !this.known(this.bulkForbidden, `${op}\0${name}`) && (await this.bulk(op, name, items))) return;
    await Promise.all(
      items.map(async (it) => {
        try {
          it.resolve(await this.single(op, name, it.body));
        } catch (err) {
          it.reject(err);
        }
      }),
    );
  }

  /** Sends a bulk request; true when every item is settled by it, false when they must go singly. */
  private async bulk(op: BulkOp, name: string, items: Pending<unknown>[]): Promise<boolean> {
    const lacking = (endpoint: string) => this.known(this.bulkMissing, `${op}\0${endpoint}`);
    const someLack = this.endpoints.some((u) => lacking(u.origin));
    if (this.endpoints.every((u) => lacking(u.origin))) return false;
    const path = `/v1/key/bulk/${op}/${seg(name)}`;
    let r: RawResponse & { endpoint: string };
    try {
      r = await this.send(
        'POST',
        path,
        items.map((it) => it.body),
        someLack ? (endpoint) => !lacking(endpoint) : undefined,
      );
    } catch (err) {
      // Every node that serves the bulk route is away: those that do not may still answer single calls.
      if (someLack && err instanceof KesUnavailableError) return false;
      for (const it of items) it.reject(err);
      return true;
    }
    if (r.status >= 200 && r.status <= 299) {
      let list: unknown;
      try {
        list = JSON.parse(r.body.toString('utf8'));
      } catch {
        list = undefined;
      }
      if (!Array.isArray(list) || list.length !== items.length) {
        const err = new KesError(r.status, `kes answered a bulk ${op} of ${items.length} items with something else`, r.endpoint);
        for (const it of items) it.reject(err);
        return true;
      }
      items.forEach((it, i) => {
        try {
          it.resolve(parseItem(op, list[i] as Record<string, unknown>));
        } catch (err) {
          it.reject(err);
        }
      });
      return true;
    }
    const message = errorMessage(r);
    if (r.status === 405 || (r.status === 404 && message !== KEY_NOT_FOUND)) {
      this.remember(this.bulkMissing, `${op}\0${r.endpoint}`); // a server without the route (MinIO KES has no bulk generate)
      return false;
    }
    if (r.status === 403 && !/sealed/.test(message)) {
      this.remember(this.bulkForbidden, `${op}\0${name}`); // our policy allows the single route only, perhaps
      return false;
    }
    // All or nothing: a 400 is one item's answer (a wrong context, a deleted and re-made key); ask singly to know whose.
    if (r.status === 400 || r.status === 413) return false;
    const err = new KesError(r.status, message, r.endpoint); // sealed, a missing or sealed key: every item's answer
    for (const it of items) it.reject(err);
    return true;
  }

  private known(map: Map<string, number>, id: string): boolean {
    const until = map.get(id);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    map.delete(id);
    return false;
  }

  private remember(map: Map<string, number>, id: string): void {
    if (map.size >= 1000) map.clear(); // key names are the callers': keep the memory bounded
    map.set(id, Date.now() + this.rememberMs);
  }

  // ---- transport --------------------------------------------------------------------------
  /** A successful call's parsed JSON body. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.call(method, path, body);
    return JSON.parse(r.body.toString('utf8')) as T;
  }

  /** A call that must succeed (2xx), else a KesError with kes's message. */
  async call(method: string, path: string, body?: unknown): Promise<RawResponse & { endpoint: string }> {
    const r = await this.send(method, path, body);
    if (r.status < 200 || r.status > 299) throw new KesError(r.status, errorMessage(r), r.endpoint);
    return r;
  }

  /**
   * Send with failover: each round tries every node once, up nodes first (see NodePool.order). A network
   * error, a timeout or a 503 marks the node down and moves on; any other answer (a 404 too) is final.
   * When every node answered 503 that answer is returned (kes is sealed everywhere), else after the last
   * round KesUnavailableError. `only`, when given, picks the nodes that may take the request.
   */
  async send(
    method: string,
    path: string,
    body?: unknown,
    only?: (endpoint: string) => boolean,
  ): Promise<RawResponse & { endpoint: string }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const causes: { endpoint: string; error: string }[] = [];
    let unavailable: (RawResponse & { endpoint: string }) | undefined;
    for (let round = 0; round <= this.retries; round++) {
      if (round > 0) await sleep(this.backoffMs * 2 ** (round - 1));
      let networkFailure = false;
      for (const node of this.pool.order()) {
        const endpoint = node.url.origin;
        if (only && !only(endpoint)) continue;
        const generation = this.pool.begin(node);
        const start = performance.now();
        try {
          const r = await this.once(node.url, method, path, payload);
          if (r.status === 503) {
            const why = errorMessage(r);
            this.pool.failed(node, `answered 503: ${why}`, /sealed/.test(why) ? true : undefined);
            unavailable = { ...r, endpoint };
            continue;
          }
          this.pool.succeeded(node, generation, performance.now() - start);
          return { ...r, endpoint };
        } catch (err) {
          if (!isNetworkError(err)) throw err;
          const error = (err as Error).message;
          this.pool.failed(node, error);
          causes.push({ endpoint, error });
          networkFailure = true;
        } finally {
          this.pool.end(node);
        }
      }
      // Every node answered, with 503: asking again at once would not change that.
      if (!networkFailure) break;
    }
    if (unavailable) return unavailable;
    const last = causes[causes.length - 1];
    throw new KesUnavailableError(
      `kes is unavailable: no endpoint answered ${method} ${path} (last error from ${last?.endpoint}: ${last?.error})`,
      causes,
    );
  }

  /**
   * Whether a down node may take traffic again: /v1/status says whether it is sealed; a policy that does not
   * allow it (403) makes us ask /v1/sys/seal-status, and a policy allowing neither leaves "it answers".
   */
  private async probe(url: URL): Promise<ProbeResult> {
    const start = performance.now();
    const path = this.probePath;
    if (path === undefined) {
      await this.once(url, 'GET', '/version');
      return { up: true, latencyMs: performance.now() - start };
    }
    let r: RawResponse;
    try {
      r = await this.once(url, 'GET', path);
    } catch (err) {
      return { up: false, error: (err as Error).message };
    }
    const latencyMs = performance.now() - start;
    if (r.status === 403 || r.status === 404) {
      this.probePath = path === '/v1/status' ? '/v1/sys/seal-status' : undefined;
      return this.probe(url);
    }
    if (r.status !== 200)
      return {
        up: false,
        error: `answered ${r.status}: ${errorMessage(r)}`,
        ...(r.status === 503 ? { sealed: /sealed/.test(errorMessage(r)) } : {}),
      };
    let sealed: unknown;
    try {
      sealed = (JSON.parse(r.body.toString('utf8')) as { sealed?: unknown }).sealed;
    } catch {
      sealed = undefined;
    }
    if (sealed === true) return { up: false, sealed: true, error: 'system is sealed', latencyMs };
    return { up: true, ...(sealed === false ? { sealed: false } : {}), latencyMs };
  }

  private once(endpoint: URL, method: string, path: string, payload?: Buffer): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          agent: this.agent,
          protocol: endpoint.protocol,
          hostname: endpoint.hostname,
          port: endpoint.port,
          method,
          path,
          headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : { 'content-length': 0 },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.setTimeout(this.timeoutMs, () => {
        const e = new Error(`no answer within ${this.timeoutMs} ms`) as NodeJS.ErrnoException;
        e.code = 'KES_TIMEOUT';
        req.destroy(e);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  private openStream(path: string, signal?: AbortSignal): Promise<import('node:http').IncomingMessage> {
    const endpoint = this.pool.order()[0]!.url;
    return new Promise((resolve, reject) => {
      const req = https.request(
        { agent: this.agent, hostname: endpoint.hostname, port: endpoint.port, method: 'GET', path, signal },
        (res) => {
          if ((res.statusCode ?? 0) !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              reject(
                new KesError(
                  res.statusCode ?? 0,
                  errorMessage({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }),
                  endpoint.origin,
                ),
              ),
            );
            return;
          }
          resolve(res);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
}

/** One data key from a (single or bulk) generate answer, or one plaintext from a decrypt answer. */
function parseItem(op: BulkOp, r: Record<string, unknown>): DataKey | Buffer {
  if (typeof r !== 'object' || r === null) throw new TypeError(`kes answered a ${op} with something other than an object`);
  if (op === 'decrypt') return unb64(r.plaintext, 'plaintext');
  return {
    plaintext: unb64(r.plaintext, 'plaintext'),
    ciphertext: unb64(r.ciphertext, 'ciphertext'),
    ...(typeof r.version === 'string' ? { version: r.version } : {}),
  };
}

function errorMessage(r: RawResponse): string {
  const text = r.body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    /* not JSON: fall through to the raw text */
  }
  return text.trim() || `HTTP ${r.status}`;
}
