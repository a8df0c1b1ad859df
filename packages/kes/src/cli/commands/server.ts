// `kes server` and `kes init`: run the service from a config, and initialize its keystore once.
// The server modules are imported when a command runs, so client commands start quickly.
import { Command } from 'commander';
import { VERSION } from '../../version.js';
import type { Cli } from '../io.js';
import { CliError } from '../output.js';
import { integer } from '../parse.js';

export function serverCommand(cli: Cli): Command {
  return new Command('server')
    .description('run the kes server from a config file until SIGINT or SIGTERM')
    .requiredOption('--config <file>', 'kes config (YAML)')
    .action(async (flags: { config: string }) => {
      const [{ startServer }, { loadConfig }] = await Promise.all([import('../../server.js'), import('../../config/config.js')]);
      // SIGHUP reloads policies, certificates and the configured keys (docs/configuration.md, kes).
      const srv = await startServer(loadConfig(cli.path(flags.config), cli.env), { reloadOnSighup: true });
      // The server's own log (JSON, or pretty) is the only output: no plain-text lines among its lines.
      srv.log.info(
        { version: VERSION, url: srv.url, sealed: srv.sealed() },
        srv.sealed() ? 'kes ready: sealed, submit the unseal shares with `kes unseal`' : 'kes ready: unsealed',
      );
      let unregister = () => {};
      await new Promise<void>((resolve, reject) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) {
            srv.log.warn({ signal }, 'received the signal again: exiting without a graceful close');
            process.exit(1);
          }
          stopping = true;
          srv.log.info({ signal }, `received ${signal}: closing connections, sealing and closing the keystore`);
          srv.close().then(resolve, reject);
        };
        unregister = cli.io.onInterrupt(stop);
      });
      unregister();
      srv.log.info('kes stopped');
    });
}

export function initCommand(cli: Cli): Command {
  return new Command('init')
    .description('create the root key of a new keystore and print the unseal shares (once)')
    .requiredOption('--config <file>', 'kes config (YAML); its keystore (sqlite or postgres) is initialized, once for all nodes')
    .requiredOption('--shares <n>', 'number of unseal shares (1-255)', integer(1, 255))
    .requiredOption('--threshold <t>', 'shares needed to unseal (at least 2 when there is more than one share)', integer(1, 255))
    .option('--json', 'print JSON: {"shares": [...], "threshold": T}')
    .action(async (flags: { config: string; shares: number; threshold: number; json?: boolean }) => {
      const [{ loadConfig }, { KesError }, { initStore }, { describeKeystore }] = await Promise.all([
        import('../../config/config.js'),
        import('../../errors.js'),
        import('../../init.js'),
        import('../../keystore/open.js'),
      ]);
      const config = loadConfig(cli.path(flags.config), cli.env);
      const path = describeKeystore(config.keystore);
      let result: { shares: string[]; threshold: number };
      try {
        result = await initStore(config, { shares: flags.shares, threshold: flags.threshold });
      } catch (e) {
        if (e instanceof KesError && e.message === 'system is already initialized') {
          throw new CliError(
            `keystore ${path} is already initialized: \`kes init\` runs once per keystore (its root key and shares already exist; further kes nodes start with the same config and are unsealed with the same shares). Nothing was changed.`,
          );
        }
        throw e;
      }
      const warning = `Store these ${result.shares.length} unseal shares apart (different people or places). Any ${result.threshold} of them unseal kes; they are shown only this once and cannot be recovered.`;
      if (flags.json) cli.note(warning);
      cli.emit({ json: !!flags.json }, { shares: result.shares, threshold: result.threshold }, () => [
        `Initialized keystore ${path}: ${result.shares.length} unseal share(s), threshold ${result.threshold}.`,
        '',
        ...result.shares.map((s, i) => `Unseal share ${i + 1}: ${s}`),
        '',
        `WARNING: ${warning}`,
      ]);
    });
}
