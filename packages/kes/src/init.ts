// Offline keystore operations for the CLI.
// `kes init`: make the root key and the unseal key of a new keystore and return the N shares
// (hex strings of 66 characters; see barrier/shares.ts). Refuses an initialized keystore.
// `kes backup`: a consistent copy of the keystore (SQLite online backup), still sealed under the
// same shares; it may run while a server uses the keystore.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Barrier } from './barrier/barrier.js';
import { loadConfig, type KesConfig } from './config/config.js';
import { KeyStore } from './keystore/store.js';

export interface InitResult {
  shares: string[];
  threshold: number;
}

export async function initStore(configOrPath: KesConfig | string, options: { shares: number; threshold: number }): Promise<InitResult> {
  const config = typeof configOrPath === 'string' ? loadConfig(configOrPath) : configOrPath;
  const store = new KeyStore(config.keystore.sqlite.path);
  try {
    const shares = await new Barrier(store).initialize(options.shares, options.threshold);
    return { shares, threshold: options.threshold };
  } finally {
    store.close();
  }
}

export async function backupStore(configOrPath: KesConfig | string, destination: string): Promise<{ path: string }> {
  const config = typeof configOrPath === 'string' ? loadConfig(configOrPath) : configOrPath;
  const path = resolve(destination);
  if (existsSync(path)) throw new Error(`backup destination ${path} exists; choose a new file`);
  if (!existsSync(config.keystore.sqlite.path)) throw new Error(`keystore ${config.keystore.sqlite.path} does not exist`);
  const store = new KeyStore(config.keystore.sqlite.path);
  try {
    await store.backup(path);
    return { path };
  } finally {
    store.close();
  }
}
