// GET status: the backend and its totals, each kes endpoint's state, the default key, rotation jobs.
import type { GatewayServices } from '../http/context.js';
import type { RotationManager } from '../rotation/index.js';
import type { BackendDescription } from '../storage/object-store.js';
import type { StoreStats } from '../storage/types.js';
import type { DefaultKeyState, KesEndpointState, KesProbe } from './kes-status.js';

export interface GatewayStatus {
  region: string;
  /** Kinds and places of the metadata and blob stores (never a credential), and their totals. */
  backend: BackendDescription & { stats: StoreStats };
  kes: { endpoints: KesEndpointState[]; defaultKey: DefaultKeyState };
  rotation: { running: number };
}

export async function gatewayStatus(svc: GatewayServices, kes: KesProbe, rotation: RotationManager): Promise<GatewayStatus> {
  const [stats, endpoints] = await Promise.all([svc.store.stats(), kes.endpoints()]);
  return {
    region: svc.config.region,
    backend: { ...svc.backend.describe(), stats },
    kes: { endpoints, defaultKey: await kes.defaultKey(endpoints) },
    rotation: { running: (await rotation.list()).filter((j) => j.state === 'running').length },
  };
}
