// The console's view of kes. With `console.kes` configured it acts as its own operator identity (one client
// per endpoint: seal and unseal concern each node); without it the kes pages are read-only, seen through
// the gateway's identity, whose policy allows describing keys and reading status but not listing keys.
import { readFileSync } from 'node:fs';
import { KesClient, KesError, type KeyDescription, type SealStatus } from '@kesgate/kes-client';
import type { GatewayConfig } from '../config/load.js';
import { kesErrorText } from '../kms/kes-error-text.js';
import { AdminError } from '../admin/errors.js';

export interface KeyRow {
  name: string;
  state?: string;
  versions?: number;
  latestVersion?: string;
  createdAt?: string;
  error?: string;
}

export interface EndpointSeal {
  endpoint: string;
  status?: SealStatus;
  error?: string;
}

/** Keys described per page of the Keys table. */
const MAX_KEYS = 500;

export class ConsoleKes {
  /** The operator identity's client (failover across endpoints), when configured. */
  readonly operator: KesClient | undefined;
  private readonly perEndpoint: KesClient[];
  private readonly gateway: KesClient;

  constructor(private readonly config: GatewayConfig) {
    const kms = config.kms;
    const ca = kms.ca ? readFileSync(kms.ca) : undefined;
    const opts = { ...(ca ? { ca } : {}), timeoutMs: Math.min(kms.timeoutMs, 10_000), retries: 0 };
    const op = config.console.kes;
    const cert = op ? readFileSync(op.cert) : undefined;
    const key = op ? readFileSync(op.key) : undefined;
    this.operator = cert && key ? new KesClient({ endpoints: kms.endpoints, cert, key, ...opts }) : undefined;
    this.perEndpoint = cert && key ? kms.endpoints.map((e) => new KesClient({ endpoints: [e], cert, key, ...opts })) : [];
    this.gateway = new KesClient({ endpoints: kms.endpoints, cert: readFileSync(kms.cert), key: readFileSync(kms.key), ...opts });
  }

  get writable(): boolean {
    return this.operator !== undefined;
  }

  private op(): KesClient {
    if (!this.operator) {
      throw new AdminError(
        403,
        'ConsoleReadOnly',
        'The console has no operator identity at kes, so its kes pages are read-only: set console.kes (cert, key) in gateway.yaml and give that identity the console policy at kes.',
      );
    }
    return this.operator;
  }

  /** Every key (up to MAX_KEYS) with its description; read-only: the default key only. */
  async keys(): Promise<{ keys: KeyRow[]; truncated: boolean }> {
    if (!this.operator) return { keys: [await row(this.gateway, this.config.kms.defaultKey)], truncated: false };
    const names = (await kesCall(() => this.operator!.allKeys('*'))).sort();
    const shown = names.slice(0, MAX_KEYS);
    return { keys: await Promise.all(shown.map((n) => row(this.operator!, n))), truncated: names.length > shown.length };
  }

  describe(name: string): Promise<KeyRow> {
    return row(this.operator ?? this.gateway, name);
  }

  create(name: string): Promise<void> {
    return kesCall(() => this.op().createKey(name));
  }
  rotate(name: string): Promise<KeyDescription | undefined> {
    return kesCall(() => this.op().rotateKey(name));
  }
  sealKey(name: string): Promise<void> {
    return kesCall(() => this.op().sealKey(name));
  }
  unsealKey(name: string): Promise<void> {
    return kesCall(() => this.op().unsealKey(name));
  }
  deleteKey(name: string): Promise<void> {
    return kesCall(() => this.op().deleteKey(name));
  }

  /** Seal every endpoint. */
  async sealAll(): Promise<EndpointSeal[]> {
    this.op();
    return Promise.all(
      this.perEndpoint.map(async (c) => {
        try {
          await c.seal();
          return { endpoint: c.endpointUrls[0]!, status: await c.sealStatus() };
        } catch (err) {
          return { endpoint: c.endpointUrls[0]!, error: kesErrorText(err) };
        }
      }),
    );
  }

  /** Hand one share to every sealed endpoint; the answer shows each one's progress. */
  async unseal(share: string): Promise<EndpointSeal[]> {
    this.op();
    return Promise.all(
      this.perEndpoint.map(async (c) => {
        const endpoint = c.endpointUrls[0]!;
        try {
          const before = await c.sealStatus();
          if (!before.sealed) return { endpoint, status: before };
          return { endpoint, status: await c.unseal(share) };
        } catch (err) {
          return { endpoint, error: kesErrorText(err) };
        }
      }),
    );
  }

  close(): void {
    this.operator?.close();
    this.gateway.close();
    for (const c of this.perEndpoint) c.close();
  }
}

async function row(client: KesClient, name: string): Promise<KeyRow> {
  try {
    const d = await client.describeKey(name);
    return {
      name,
      ...(d.state ? { state: d.state } : {}),
      ...(Array.isArray(d.versions) ? { versions: d.versions.length } : {}),
      ...(d.latest_version ? { latestVersion: d.latest_version } : {}),
      ...(d.created_at ? { createdAt: d.created_at } : {}),
    };
  } catch (err) {
    return { name, error: kesErrorText(err) };
  }
}

/** kes's refusals become the console's answers with kes's status and message; kes unreachable is 502. */
async function kesCall<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof AdminError) throw err;
    if (err instanceof KesError)
      throw new AdminError(err.status >= 500 ? 502 : err.status, 'KesError', `kes answered ${err.status}: ${err.message}`);
    throw new AdminError(502, 'KesUnavailable', kesErrorText(err));
  }
}
