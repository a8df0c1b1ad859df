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
import type { Cli } from './io.js';

/** The command tree for one run: built anew each time, its commands writing to `cli`'s streams. */
export function buildProgram(cli: Cli): Command {
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
    serverCommand(cli),
    initCommand(cli),
    statusCommand(cli),
    sealCommand(cli),
    unsealCommand(cli),
    sysCommand(cli),
    keyCommand(cli),
    logCommand(cli),
    identityCommand(cli),
    policyCommand(cli),
    metricCommand(cli),
    devCertsCommand(cli),
    backupCommand(cli),
    exportCommand(cli),
    importBundleCommand(cli),
  ]) {
    program.addCommand(cmd);
  }
  // Subcommands report bad flags the same way as the top level, and throw instead of exiting: run.ts
  // gives usage errors their own exit status. Help, usage and errors go to the run's streams.
  // Help wraps at a terminal's width, else at 80 columns (commander's own rule, for the run's streams).
  const width = (stream: NodeJS.WritableStream): number => {
    const tty = stream as { isTTY?: boolean; columns?: number };
    return (tty.isTTY ? tty.columns : undefined) ?? 80;
  };
  const output = {
    writeOut: (s: string) => cli.io.stdout.write(s),
    writeErr: (s: string) => cli.io.stderr.write(s),
    getOutHelpWidth: () => width(cli.io.stdout),
    getErrHelpWidth: () => width(cli.io.stderr),
  };
  const configure = (cmd: Command) => {
    cmd.showHelpAfterError('(run with --help for usage)').exitOverride().configureOutput(output);
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}
