// GET status: the backend (its stores, whether they answer, its totals, the gateways sharing it), each kes
// endpoint's state, the default key, rotation jobs. No URL with a password, no key, ever.
import type { GatewayServices } from '../http/services.js';
import type { RotationManager } from '../rotation/index.js';
import { SEEN_WITHIN_MS } from '../storage/heartbeat.js';
import type { BackendDescription } from '../storage/object-store.js';
import { probeBlobs, probeMetadata, type StoreHealth } from '../storage/probe.js';
import type { SseModeTotals, StoreStats } from '../storage/types.js';
import type { DefaultKeyState, KesEndpointState, KesProbe } from './kes-status.js';

/** A gateway sharing the metadata store, as its heartbeat row says. */
interface SharingGateway {
  id: string;
  address: string;
  startedAt: string;
  lastSeen: string;
  /** The gateway answering this status request. */
  self: boolean;
}

export interface GatewayStatus {
  region: string;
  /** This gateway's instance id (the holder of its leases). */
  instance: string;
  /**
   * Kinds and places of the metadata and blob stores (never a credential); whether each answers; their
   * totals and the gateways sharing them (absent when the metadata store does not answer).
   */
  backend: BackendDescription & {
    health: { metadata: StoreHealth; blobs: StoreHealth };
    stats?: StoreStats;
    /** The objects (every stored version) and their bytes per SSE mode, from maintained totals. */
    sseTotals?: SseModeTotals[];
    /** Gateways whose heartbeat is recent, oldest start first (this one included). */
    gateways?: SharingGateway[];
  };
  kes: { endpoints: KesEndpointState[]; defaultKey: DefaultKeyState };
  /** Running jobs, whichever gateway runs them; absent (with the reason) when the job store does not answer. */
  rotation: { running?: number; error?: string };
}

export async function gatewayStatus(svc: GatewayServices, kes: KesProbe, rotation: RotationManager): Promise<GatewayStatus> {
  const [metadata, blobs, endpoints] = await Promise.all([
    probeMetadata(svc.backend.metadata),
    probeBlobs(svc.backend.blobs),
    kes.endpoints(),
  ]);
  const backend: GatewayStatus['backend'] = { ...svc.backend.describe(), health: { metadata, blobs } };
  if (metadata.reachable) {
    const [stats, sseTotals, gateways] = await Promise.all([
      svc.store.stats(),
      svc.store.sseTotals(),
      svc.backend.metadata.gateways(SEEN_WITHIN_MS),
    ]);
    backend.stats = stats;
    backend.sseTotals = sseTotals;
    backend.gateways = gateways.map((g) => ({
      id: g.id,
      address: g.address,
      startedAt: g.startedAt.toISOString(),
      lastSeen: g.lastSeen.toISOString(),
      self: g.id === svc.instance.id,
    }));
  }
  return {
    region: svc.config.region,
    instance: svc.instance.id,
    backend,
    kes: { endpoints, defaultKey: await kes.defaultKey(endpoints) },
    rotation: await runningJobs(rotation),
  };
}

async function runningJobs(rotation: RotationManager): Promise<GatewayStatus['rotation']> {
  try {
    return { running: (await rotation.list()).filter((j) => j.state === 'running').length };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}
