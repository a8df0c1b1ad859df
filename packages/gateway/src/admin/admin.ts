// The admin side of a gateway: the router, the rotation jobs and the kes probe, with one lifecycle.
import type { Router } from 'express';
import type { KesClient } from '@kesgate/kes-client';
import type { GatewayConfig } from '../config/load.js';
import type { GatewayServices } from '../http/services.js';
import { RotationManager, type RotationOptions } from '../rotation/index.js';
import { createConsole, type Console } from '../console/index.js';
import { startGateway, type RunningGateway, type StartOptions } from '../server.js';
import { KesProbe } from './kes-status.js';
import { createAdminRouter } from './router.js';

interface Admin {
  router: Router;
  rotation: RotationManager;
  kes: KesProbe;
  /** Pauses running rotation jobs (they resume at the next start) and releases what the admin side holds. */
  close(): Promise<void>;
}

/** `traffic` is the gateway's own kes client: the status shows which nodes it sends requests to. */
function createAdmin(svc: GatewayServices, options: RotationOptions = {}, traffic?: KesClient): Admin {
  const rotation = new RotationManager(svc, options);
  const kes = new KesProbe(svc.config.kms, traffic);
  return {
    router: createAdminRouter({ svc, rotation, kes }),
    rotation,
    kes,
    async close() {
      await rotation.close();
      kes.close();
    },
  };
}

export interface AdminGateway extends RunningGateway {
  admin: Admin;
}

export interface AdminStartOptions extends Omit<StartOptions, 'admin'> {
  rotation?: RotationOptions;
}

/**
 * startGateway with the admin API mounted. Unfinished rotation jobs resume once the gateway is up;
 * close() pauses them before the store closes.
 */
export async function startGatewayWithAdmin(config: GatewayConfig, options: AdminStartOptions = {}): Promise<AdminGateway> {
  let admin: Admin | undefined;
  let operatorConsole: Console | undefined;
  const { rotation, ...start } = options;
  let gw: RunningGateway;
  try {
    gw = await startGateway(config, {
      ...start,
      admin: (svc, kes) => (admin = createAdmin(svc, rotation, kes)).router,
      console: (svc) => (operatorConsole = createConsole(svc, { rotation: admin!.rotation, probe: admin!.kes })).handler,
    });
  } catch (err) {
    operatorConsole?.close();
    await admin?.close();
    throw err;
  }
  const a = admin!;
  try {
    const resumed = await a.rotation.resume();
    if (resumed.length > 0) gw.svc.logger.info({ jobs: resumed.map((j) => j.id) }, 'resuming rotation jobs');
  } catch (err) {
    // The gateway serves S3 without its jobs; they resume at the next start.
    gw.svc.logger.error({ err }, 'cannot resume the unfinished rotation jobs');
  }
  const closeGateway = gw.close.bind(gw);
  let closing: Promise<void> | undefined;
  return Object.assign(gw, {
    admin: a,
    close(): Promise<void> {
      closing ??= (async () => {
        operatorConsole?.close();
        // The listeners drain while the jobs pause: the shutdown takes the longer of the two, not their sum.
        await Promise.all([gw.stopServing(), a.close()]);
        await closeGateway();
      })();
      return closing;
    },
  });
}
