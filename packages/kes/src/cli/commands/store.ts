// Commands that work on the keystore file itself rather than over the API: `kes backup`,
// `kes export` and `kes import-bundle`. Their work (SQLite, JWE) is in store-actions.ts, loaded
// only when one of them runs.
import { Command } from 'commander';
import type { Cli } from '../io.js';

export const PASSPHRASE_ENV = 'KES_EXPORT_PASSPHRASE';
const actions = () => import('./store-actions.js');

export function backupCommand(cli: Cli): Command {
  return new Command('backup')
    .description('write a consistent copy of the keystore (also while kes runs); it stays sealed under the same shares')
    .requiredOption('--config <file>', 'kes config (YAML); its keystore.sqlite.path is copied')
    .requiredOption('--out <file>', 'the backup file to create (never overwritten)')
    .option('--json', 'print JSON')
    .action(async (flags: BackupFlags) => (await actions()).runBackup(cli, flags));
}

export interface BackupFlags {
  config: string;
  out: string;
  json?: boolean;
}

export interface ShareFlags {
  config: string;
  sharesFile?: string;
  json?: boolean;
}

export type ExportFlags = ShareFlags & { names: string; out: string };
export type ImportFlags = ShareFlags & { force?: boolean };

const shareOptions = (cmd: Command) =>
  cmd
    .requiredOption('--config <file>', 'kes config (YAML) naming the keystore')
    .option('--shares-file <file>', 'unseal shares, one per line (default: typed at the terminal, or one per line on stdin)')
    .option('--json', 'print JSON');

export function exportCommand(cli: Cli): Command {
  return shareOptions(
    new Command('export')
      .description(
        `write chosen keys (all versions, HMAC keys, state) to a passphrase-protected JWE bundle; passphrase from ${PASSPHRASE_ENV}, the terminal, or stdin after the shares`,
      )
      .requiredOption('--names <patterns>', "key names or prefixes ending in '*', comma-separated")
      .requiredOption('--out <file>', 'the bundle file to create (never overwritten)'),
  ).action(async (flags: ExportFlags) => (await actions()).runExport(cli, flags));
}

export function importBundleCommand(cli: Cli): Command {
  return shareOptions(
    new Command('import-bundle')
      .description(
        `load the keys of a bundle made by \`kes export\` into this keystore; passphrase from ${PASSPHRASE_ENV}, the terminal, or stdin after the shares`,
      )
      .argument('<bundle>', 'the .jwe file')
      .option('--force', 'replace keys that already exist (the existing key is erased)'),
  ).action(async (file: string, flags: ImportFlags) => (await actions()).runImportBundle(cli, file, flags));
}
