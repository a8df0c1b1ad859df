// Direct access to a keystore file for the commands that move key material (export, import):
// the file from the config, its barrier unsealed in this process with the operator's shares.
// The server may keep running: SQLite in WAL mode lets both processes read and write.
import { existsSync } from 'node:fs';
import { Barrier } from '../barrier/barrier.js';
import type { KesConfig } from '../config/config.js';
import { KesError } from '../errors.js';
import { KeyRing } from '../keystore/keyring.js';
import { KeyStore } from '../keystore/store.js';
import { CliError } from './output.js';

export interface LocalStore {
  path: string;
  store: KeyStore;
  barrier: Barrier;
  ring: KeyRing;
  /** Seals (zeroing the root key and cached master keys) and closes the file. */
  close(): void;
}

/** Opens the config's keystore and unseals it with shares from `nextShare` (undefined: no more). */
export async function openUnsealed(config: KesConfig, nextShare: (progress: number, threshold: number) => Promise<string | undefined>): Promise<LocalStore> {
  const path = config.keystore.sqlite.path;
  if (!existsSync(path)) throw new CliError(`keystore ${path} does not exist: check keystore.sqlite.path in the config`);
  const store = new KeyStore(path);
  const barrier = new Barrier(store);
  const local: LocalStore = {
    path,
    store,
    barrier,
    ring: new KeyRing(store, barrier),
    close: () => {
      barrier.seal();
      store.close();
    },
  };
  try {
    if (!barrier.initialized) throw new CliError(`keystore ${path} is not initialized (run \`kes init\` first)`);
    while (barrier.sealed) {
      const { progress, t } = barrier.status();
      const share = await nextShare(progress, t);
      if (share === undefined) throw new CliError(`keystore ${path} needs ${t} unseal shares; only ${progress} were given (--shares-file, or one per line on stdin)`);
      try {
        await barrier.unseal(share);
      } catch (e) {
        throw e instanceof KesError ? new CliError(e.message) : e;
      }
    }
    return local;
  } catch (e) {
    local.close();
    throw e;
  }
}
