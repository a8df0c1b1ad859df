// kesgate_kms_up and kesgate_kms_sealed, per kes endpoint: what each endpoint answers to GET /v1/status
// at scrape time (the gateway's own client only learns a node's state from traffic, so an idle gateway
// would report a stale one). The answer is kept for a second, so several scrapers cost kes one probe.
import { Gauge, type Registry } from 'prom-client';
import { KesProbe, type KesEndpointState } from '../admin/kes-status.js';
import type { GatewayConfig } from '../config/load.js';

const KEEP_MS = 1000;

export function registerKmsHealthGauges(registry: Registry, kms: GatewayConfig['kms']): { close(): void } {
  const probe = new KesProbe(kms);
  let last: { at: number; states: Promise<KesEndpointState[]> } | undefined;
  const states = (): Promise<KesEndpointState[]> => {
    if (!last || Date.now() - last.at >= KEEP_MS) last = { at: Date.now(), states: probe.endpoints() };
    return last.states;
  };
  new Gauge({
    name: 'kesgate_kms_up',
    help: 'Whether a kes endpoint answers (1) or cannot be reached (0)',
    labelNames: ['endpoint'] as const,
    registers: [registry],
    async collect() {
      for (const s of await states()) this.set({ endpoint: s.endpoint }, s.online ? 1 : 0);
    },
  });
  new Gauge({
    name: 'kesgate_kms_sealed',
    help: 'Whether a kes endpoint reports it is sealed (1) or unsealed (0); absent while it cannot be reached',
    labelNames: ['endpoint'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of await states()) if (s.sealed !== undefined) this.set({ endpoint: s.endpoint }, s.sealed ? 1 : 0);
    },
  });
  return { close: () => probe.close() };
}
