// Offline keystore operations for the CLI.
// `kes init`: make the root key and the unseal key of a new keystore and return the N shares
// (hex strings of 66 characters; see barrier/shares.ts). Refuses an initialized keystore — for a
// PostgreSQL keystore shared by several nodes, exactly one init ever succeeds (the insert of the
// root key record is atomic); the other nodes start with the same config and join.
// `kes backup`: a consistent copy of a SQLite keystore (SQLite online backup), still sealed under
// the same shares; it may run while a server uses the keystore.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Barrier } from './barrier/barrier.js';
import { loadConfig, type KesConfig } from './config/config.js';
import { openKeyStore } from './keystore/open.js';
import { SqliteKeyStore } from './keystore/sqlite-store.js';

export interface InitResult {
  shares: string[];
  threshold: number;
}

export async function initStore(configOrPath: KesConfig | string, options: { shares: number; threshold: number }): Promise<InitResult> {
  const config = typeof configOrPath === 'string' ? loadConfig(configOrPath) : configOrPath;
  const store = await openKeyStore(config.keystore);
  try {
    const shares = await (await Barrier.open(store)).initialize(options.shares, options.threshold);
    return { shares, threshold: options.threshold };
  } finally {
    await store.close();
  }
}

export async function backupStore(configOrPath: KesConfig | string, destination: string): Promise<{ path: string }> {
  const config = typeof configOrPath === 'string' ? loadConfig(configOrPath) : configOrPath;
  const source = config.keystore.sqlite?.path;
  if (source === undefined)
    throw new Error('backupStore copies SQLite keystores; back up a PostgreSQL keystore with pg_dump or your base backups');
  const path = resolve(destination);
  if (existsSync(path)) throw new Error(`backup destination ${path} exists; choose a new file`);
  if (!existsSync(source)) throw new Error(`keystore ${source} does not exist`);
  const store = new SqliteKeyStore(source);
  try {
    await store.backup(path);
    return { path };
  } finally {
    await store.close();
  }
}
