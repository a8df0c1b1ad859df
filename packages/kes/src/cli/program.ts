// The `kes` command tree. Each command lives in commands/<area>.ts; this file only assembles them.
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { devCertsCommand, identityCommand } from './commands/identity.js';
import { keyCommand } from './commands/key.js';
import { logCommand } from './commands/log.js';
import { metricCommand } from './commands/metric.js';
import { policyCommand } from './commands/policy.js';
import { initCommand, serverCommand } from './commands/server.js';
import { backupCommand, exportCommand, importBundleCommand } from './commands/store.js';
import { sealCommand, statusCommand, sysCommand, unsealCommand } from './commands/sys.js';

export function buildProgram(): Command {
  const program = new Command('kes')
    .description('kes: a KES-compatible key encryption service with a sealed SQLite keystore')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Exit status: 0 success, 1 an error (kes answered with one or was unreachable, a local file was wrong),
2 sealed or not initialized (status), 64 a usage error, 77 refused credentials (not authorized, or a TLS
handshake failed on a certificate).`,
    );
  for (const cmd of [
    serverCommand(),
    initCommand(),
    statusCommand(),
    sealCommand(),
    unsealCommand(),
    sysCommand(),
    keyCommand(),
    logCommand(),
    identityCommand(),
    policyCommand(),
    metricCommand(),
    devCertsCommand(),
    backupCommand(),
    exportCommand(),
    importBundleCommand(),
  ]) {
    program.addCommand(cmd);
  }
  // Subcommands report bad flags the same way as the top level, and throw instead of exiting: main.ts
  // gives usage errors their own exit status.
  const configure = (cmd: Command) => {
    cmd.showHelpAfterError('(run with --help for usage)').exitOverride();
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}
