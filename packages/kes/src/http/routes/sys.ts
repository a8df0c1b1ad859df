// /v1/sys/* — service-wide seal state (kesgate extension).
import { errors } from '../../errors.js';
import { route, type AppDeps, type Route } from '../route.js';

export function sysRoutes({ system }: AppDeps): Route[] {
  return [
    route('GET', '/v1/sys/seal-status', { access: 'client', whileSealed: true }, () => ({ json: system.status() })),
    route('PUT', '/v1/sys/seal', { whileSealed: true, maxBody: 0 }, async () => ({ json: await system.seal() })),
    route('PUT', '/v1/sys/unseal', { whileSealed: true, maxBody: 64 * 1024 }, async (c) => {
      const body = await c.body();
      if (body.reset === true) return { json: system.resetUnseal() };
      if (typeof body.key !== 'string') throw errors.badRequest('invalid request body: expected {"key": "<share>"} or {"reset": true}');
      return { json: await system.unseal(body.key) };
    }),
  ];
}
