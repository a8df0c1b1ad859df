// One word for kes as the gateway sees it across its endpoints, shared by /kesgate/ready and `kesgate status`.
import type { KesEndpointState } from './kes-status.js';

export type KesReadiness = 'ready' | 'sealed' | 'unreachable';

/** Ready when any endpoint is online and unsealed; sealed when none is but one answers sealed; else unreachable. */
export function kesReadiness(endpoints: KesEndpointState[]): KesReadiness {
  if (endpoints.some((e) => e.online && e.sealed === false)) return 'ready';
  if (endpoints.some((e) => e.online && e.sealed === true)) return 'sealed';
  return 'unreachable';
}
