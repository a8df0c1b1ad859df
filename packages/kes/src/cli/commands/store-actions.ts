// The work of `kes backup`, `kes export` and `kes import-bundle` (see store.ts). They need the
// config (for the keystore path) and, to move key material, the unseal shares; the server may
// keep running meanwhile.
import { userInfo } from 'node:os';
import { loadConfig, type KesConfig } from '../../config/config.js';
import { describeKeystore } from '../../keystore/open.js';
import { AuditLog } from '../../log/audit.js';
import { backupStore } from '../../keystore/backup.js';
import { collectKeys, importKeys, matchNames, MIN_PASSPHRASE, openBundle, sealBundle } from '../../transfer/bundle.js';
import { readFileFor, refuseExisting, writeNewFile } from '../../files.js';
import type { Input } from '../input.js';
import type { Cli } from '../io.js';
import { openUnsealed, type LocalStore } from '../../keystore/local-store.js';
import { CliError } from '../output.js';
import { PASSPHRASE_ENV, type BackupFlags, type ExportFlags, type ImportFlags, type ShareFlags } from './store.js';

export async function runBackup(cli: Cli, flags: BackupFlags): Promise<void> {
  const config = loadConfig(cli.path(flags.config), cli.env);
  if (!config.keystore.sqlite) {
    throw new CliError(
      'kes backup copies a SQLite keystore; a PostgreSQL keystore is backed up with the database (pg_dump, base backups): its copy stays sealed under the same shares',
    );
  }
  const r = await backupStore(config.keystore.sqlite.path, cli.path(flags.out));
  cli.emit({ json: !!flags.json }, r, () => [
    `Wrote a consistent copy of ${r.source} to ${r.out}: ${r.keys} key(s), ${r.bytes} bytes.`,
    `It is sealed under the same unseal shares (${r.threshold} of ${r.shares}). To restore, stop kes and put the file at keystore.sqlite.path.`,
  ]);
}

export async function runExport(cli: Cli, flags: ExportFlags): Promise<void> {
  const config = loadConfig(cli.path(flags.config), cli.env);
  const out = cli.path(flags.out);
  refuseExisting([out], false, 'choose a new file for the bundle');
  const patterns = flags.names
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (patterns.length === 0) throw new CliError("--names is empty: give key names or prefixes such as 'minio-*'");
  const input = cli.input();
  try {
    const local = await unsealLocal(cli, config, flags, input);
    let names: string[];
    let jwe: string;
    try {
      names = await matchNames(local.ring, patterns);
      if (names.length === 0) throw new CliError(`no key in ${local.path} matches ${patterns.join(', ')}`);
      const keys = await collectKeys(local.ring, names);
      const passphrase = await readPassphrase(cli, input, true);
      jwe = await sealBundle(keys, passphrase);
    } finally {
      await local.close();
    }
    writeNewFile(out, `${jwe}\n`, { mode: 0o600 });
    await audit(cli, config, 'kes export', names);
    cli.emit({ json: !!flags.json }, { out, keys: names }, () => [
      `Exported ${names.length} key(s) to ${out}: ${names.join(', ')}`,
      'The bundle holds the keys themselves: keep it and its passphrase apart, and delete it once imported.',
    ]);
  } finally {
    input.close();
  }
}

export async function runImportBundle(cli: Cli, file: string, flags: ImportFlags): Promise<void> {
  const config = loadConfig(cli.path(flags.config), cli.env);
  const jwe = readFileFor(file, 'bundle', cli.io.cwd).toString('utf8');
  const input = cli.input();
  try {
    const local = await unsealLocal(cli, config, flags, input);
    let result: { imported: string[]; replaced: string[] };
    try {
      const bundle = await openBundle(jwe, await readPassphrase(cli, input, false), file);
      result = await importKeys(local.ring, bundle.keys, { force: flags.force });
    } finally {
      await local.close();
    }
    await audit(cli, config, 'kes import-bundle', result.imported);
    if (result.replaced.length) {
      cli.note(`replaced ${result.replaced.join(', ')}: running kes servers use the new keys from their next request`);
    }
    cli.emit(
      { json: !!flags.json },
      result,
      () =>
        `Imported ${result.imported.length} key(s) into ${describeKeystore(config.keystore)}: ${result.imported.join(', ') || '(none)'}`,
    );
  } finally {
    input.close();
  }
}

async function unsealLocal(cli: Cli, config: KesConfig, flags: ShareFlags, input: Input): Promise<LocalStore> {
  const fromFile = flags.sharesFile
    ? readFileFor(flags.sharesFile, 'shares file', cli.io.cwd)
        .toString('utf8')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
    : undefined;
  return openUnsealed(config, async (progress, t) => {
    if (fromFile) return fromFile.shift();
    if (input.interactive) return (await input.secret(`Unseal share ${progress + 1} of ${t}: `))?.trim() || undefined;
    return input.nextValue();
  });
}

/** From the environment, else typed at the terminal (twice when exporting), else the next line of stdin. */
async function readPassphrase(cli: Cli, input: Input, confirm: boolean): Promise<string> {
  const env = cli.env[PASSPHRASE_ENV];
  if (env) return env;
  if (!input.interactive) {
    const line = await input.secret('');
    if (!line) throw new CliError(`no bundle passphrase: set ${PASSPHRASE_ENV}, or give it on the line after the shares on stdin`);
    return line;
  }
  const first = await input.secret(confirm ? `Bundle passphrase (at least ${MIN_PASSPHRASE} characters): ` : 'Bundle passphrase: ');
  if (!first) throw new CliError('no bundle passphrase given');
  if (confirm && (await input.secret('Repeat the passphrase: ')) !== first) throw new CliError('the passphrases do not match');
  return first;
}

/** One audit line per key moved, in the config's audit file (not stdout: it carries our output). */
async function audit(cli: Cli, config: KesConfig, action: string, names: string[]): Promise<void> {
  if (config.log.audit === 'off' || config.log.audit === 'stdout') return;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep 'unknown'
  }
  const log = new AuditLog(config.log.audit, undefined, (e) => cli.note(`cannot write the audit log ${config.log.audit}: ${e.message}`));
  try {
    for (const key of names) {
      log.write({
        time: new Date().toISOString(),
        identity: `local:${user}`,
        ip: 'local',
        method: 'CLI',
        path: action,
        key,
        status: 200,
        latency_ms: 0,
      });
    }
  } finally {
    // The CLI exits soon after: wait until the entries are on disk.
    await log.close();
  }
}
