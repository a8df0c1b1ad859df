// Server-level routes: /version, /v1/ready, /v1/status, /v1/metrics, /v1/api.
import { arch, availableParallelism, cpus, platform } from 'node:os';
import { KesError } from '../../errors.js';
import { COMMIT, VERSION } from '../../version.js';
import { route, type AppDeps, type Route } from '../route.js';

/** `routes` is the full table, for /v1/api; it is read when the route is called. */
export function metaRoutes(d: AppDeps, routes: () => Route[]): Route[] {
  return [
    route('GET', '/version', { access: 'public', whileSealed: true, timeout: 10 }, () => ({ json: { version: VERSION, commit: COMMIT } })),
    route('GET', '/v1/ready', { whileSealed: true }, async () => {
      if (d.system.sealed) throw new KesError(503, 'system is sealed');
      try {
        await d.keys.pingKeystore();
      } catch {
        throw new KesError(503, 'keystore is not available');
      }
      return undefined;
    }),
    route('GET', '/v1/status', { whileSealed: true }, async () => {
      let latency: number | undefined;
      try {
        latency = await d.keys.pingKeystore();
      } catch {
        latency = undefined;
      }
      const mem = process.memoryUsage();
      return {
        json: {
          version: VERSION,
          os: platform(),
          arch: arch(),
          uptime: Math.floor((Date.now() - d.startedAt.getTime()) / 1000),
          num_cpu: cpus().length,
          num_cpu_used: availableParallelism(),
          mem_heap_used: mem.heapUsed,
          mem_stack_used: 0,
          ...(latency === undefined ? { keystore_unreachable: true } : { keystore_latency: latency }),
          sealed: d.system.sealed,
        },
      };
    }),
    route('GET', '/v1/metrics', {}, async () => {
      const m = await d.metrics.render();
      return { text: m.body, contentType: m.contentType };
    }),
    route('GET', '/v1/api', { timeout: 10 }, () => ({
      json: routes().map((r) => ({ method: r.method, path: r.path, max_body: r.maxBody, timeout: d.timeouts.get(r.path) ?? r.timeout })),
    })),
  ];
}
