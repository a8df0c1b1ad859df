// `kes init`: make the root key and the unseal key of a new keystore and return the N shares
// (hex strings of 66 characters; see barrier/shares.ts). Refuses an initialized keystore.
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
