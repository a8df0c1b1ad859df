// `kesgate server --config F`: the gateway with its admin API, until SIGTERM/SIGINT.
import { startGatewayWithAdmin } from '../admin/admin.js';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type GatewayConfig } from '../config/load.js';
import { createLogger, logFormat } from '@kesgate/log';

export async function runServer(configFile: string): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadConfig(configFile);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : (err as Error).message;
    process.stderr.write(`kesgate: ${message}\n`);
    process.exit(1);
  }
  let logger: Logger;
  try {
    logger = createLogger('kesgate', config.log.level, logFormat(config.log.format));
  } catch (err) {
    process.stderr.write(`kesgate: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let gw: Awaited<ReturnType<typeof startGatewayWithAdmin>>;
  try {
    gw = await startGatewayWithAdmin(config, { logger });
  } catch (err) {
    // The log is set up by now: the reason is one of its lines, not plain text beside them.
    logger.fatal({ config: configFile, err: (err as Error).message }, 'cannot start the gateway');
    process.exit(1);
  }
  logger.info({ url: gw.url, ...(gw.httpsUrl ? { httpsUrl: gw.httpsUrl } : {}) }, 'kesgate server ready');

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting for in-flight requests');
      process.exit(1);
    }
    stopping = true;
    logger.info(
      { signal, drainSeconds: config.shutdown.drainSeconds },
      'stopping: no new connections, finishing in-flight requests, pausing rotation jobs',
    );
    gw.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
