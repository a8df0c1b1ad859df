// GET status: the backend and its totals, each kes endpoint's state, the default key, rotation jobs.
import type { GatewayServices } from '../http/context.js';
import type { RotationManager } from '../rotation/index.js';
import type { StoreStats } from '../storage/types.js';
import type { DefaultKeyState, KesEndpointState, KesProbe } from './kes-status.js';

export interface GatewayStatus {
  region: string;
  backend: { type: string; path: string; stats: StoreStats };
  kes: { endpoints: KesEndpointState[]; defaultKey: DefaultKeyState };
  rotation: { running: number };
}

export async function gatewayStatus(svc: GatewayServices, kes: KesProbe, rotation: RotationManager): Promise<GatewayStatus> {
  const [stats, endpoints] = await Promise.all([svc.store.stats(), kes.endpoints()]);
  return {
    region: svc.config.region,
    backend: { type: svc.store.backend, path: svc.config.backend.fs.path, stats },
    kes: { endpoints, defaultKey: await kes.defaultKey(endpoints) },
    rotation: { running: rotation.list().filter((j) => j.state === 'running').length },
  };
}
