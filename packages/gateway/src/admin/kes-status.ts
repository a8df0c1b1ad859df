// The state of each kes endpoint, asked one by one (the gateway's own client fails over between them,
// which is right for traffic and wrong for a status page), beside whether that client sends it traffic.
import { readFileSync } from 'node:fs';
import { KesClient, KesError, type KeyDescription } from '@kesgate/kes-client';
import type { GatewayConfig } from '../config/load.js';
import { kesErrorText } from '../kms/kes-error-text.js';
import { PROBE_TIMEOUT_MS } from '../storage/probe.js';

export interface KesEndpointState {
  endpoint: string;
  /** It answered (even with an error status). */
  online: boolean;
  sealed?: boolean;
  /** Round trip of GET /v1/status, in milliseconds. */
  latencyMs?: number;
  version?: string;
  /** Unseal progress while sealed: `progress` of `threshold` shares submitted. */
  unseal?: { threshold: number; shares: number; progress: number };
  error?: string;
  /**
   * Whether the gateway's own client sends this node requests (`up`), or has marked it down after a
   * failure (`lastError`) and probes it until it answers unsealed.
   */
  traffic?: { up: boolean; lastError?: string; inFlight: number };
}

export interface DefaultKeyState {
  name: string;
  state?: string;
  latestVersion?: string;
  minDecryptionVersion?: number | string;
  error?: string;
}

export class KesProbe {
  private readonly clients: KesClient[];

  constructor(
    private readonly kms: GatewayConfig['kms'],
    private readonly traffic?: KesClient,
  ) {
    const cert = readFileSync(kms.cert);
    const key = readFileSync(kms.key);
    const ca = kms.ca ? readFileSync(kms.ca) : undefined;
    this.clients = kms.endpoints.map(
      (endpoint) =>
        new KesClient({
          endpoints: [endpoint],
          cert,
          key,
          ...(ca ? { ca } : {}),
          retries: 0,
          timeoutMs: Math.min(kms.timeoutMs, PROBE_TIMEOUT_MS),
        }),
    );
  }

  async endpoints(): Promise<KesEndpointState[]> {
    const states = await Promise.all(this.clients.map((c) => probeOne(c)));
    const seen = this.traffic?.nodes() ?? [];
    return states.map((s, i) => {
      const n = seen[i];
      if (!n) return s;
      return {
        ...s,
        traffic: { up: n.up, ...(!n.up && n.lastError !== undefined ? { lastError: n.lastError } : {}), inFlight: n.inFlight },
      };
    });
  }

  /** The default key as the first unsealed endpoint describes it. */
  async defaultKey(states: KesEndpointState[]): Promise<DefaultKeyState> {
    const name = this.kms.defaultKey;
    const i = states.findIndex((s) => s.online && s.sealed === false);
    if (i < 0) return { name, error: 'no kes endpoint is online and unsealed' };
    try {
      return { name, ...describe(await this.clients[i]!.describeKey(name)) };
    } catch (err) {
      return { name, error: kesErrorText(err) };
    }
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}

function describe(d: KeyDescription): Omit<DefaultKeyState, 'name'> {
  const out: Omit<DefaultKeyState, 'name'> = {};
  if (d.state !== undefined) out.state = d.state;
  if (d.latest_version !== undefined) out.latestVersion = d.latest_version;
  if (d.min_decryption_version !== undefined) out.minDecryptionVersion = d.min_decryption_version;
  return out;
}

async function probeOne(client: KesClient): Promise<KesEndpointState> {
  const endpoint = client.endpointUrls[0]!;
  const start = process.hrtime.bigint();
  try {
    const status = await client.status();
    const latencyMs = Number(process.hrtime.bigint() - start) / 1e6;
    const state: KesEndpointState = { endpoint, online: true, latencyMs: Math.round(latencyMs * 100) / 100, version: status.version };
    if (typeof status.sealed === 'boolean') state.sealed = status.sealed;
    try {
      const seal = await client.sealStatus();
      state.sealed = seal.sealed;
      if (seal.sealed) state.unseal = { threshold: seal.t, shares: seal.n, progress: seal.progress };
    } catch {
      // The gateway's policy may not allow /v1/sys/seal-status; /v1/status already said whether it is sealed.
    }
    return state;
  } catch (err) {
    return { endpoint, online: err instanceof KesError, error: kesErrorText(err) };
  }
}
