// Direct access to a keystore for the commands that move key material (export, import): the
// keystore from the config, its barrier unsealed in this process with the operator's shares. The
// servers may keep running: SQLite in WAL mode lets both processes read and write, PostgreSQL too,
// and servers read each key's state per operation, so they see the change at once.
import { existsSync } from 'node:fs';
import { Barrier } from '../barrier/barrier.js';
import type { KesConfig } from '../config/config.js';
import { KesError, OperatorError } from '../errors.js';
import { KeyRing } from './keyring.js';
import { describeKeystore, openKeyStore } from './open.js';
import type { KeyStore } from './types.js';

export interface LocalStore {
  /** What and where, for messages. */
  path: string;
  store: KeyStore;
  barrier: Barrier;
  ring: KeyRing;
  /** Seals (zeroing the root key and cached master keys) and closes the keystore. */
  close(): Promise<void>;
}

/** Opens the config's keystore and unseals it with shares from `nextShare` (undefined: no more). */
export async function openUnsealed(
  config: KesConfig,
  nextShare: (progress: number, threshold: number) => Promise<string | undefined>,
): Promise<LocalStore> {
  const file = config.keystore.sqlite?.path;
  if (file !== undefined && !existsSync(file))
    throw new OperatorError(`keystore ${file} does not exist: check keystore.sqlite.path in the config`);
  const path = file ?? describeKeystore(config.keystore);
  const store = await openKeyStore(config.keystore);
  const barrier = await Barrier.open(store);
  const ring = new KeyRing(store, barrier);
  const local: LocalStore = {
    path,
    store,
    barrier,
    ring,
    close: async () => {
      barrier.seal();
      await store.close();
    },
  };
  try {
    if (!barrier.initialized) throw new OperatorError(`keystore ${path} is not initialized (run \`kes init\` first)`);
    while (barrier.sealed) {
      const { progress, t } = barrier.status();
      const share = await nextShare(progress, t);
      if (share === undefined)
        throw new OperatorError(
          `keystore ${path} needs ${t} unseal shares; only ${progress} were given (--shares-file, or one per line on stdin)`,
        );
      try {
        await barrier.unseal(share);
      } catch (e) {
        throw e instanceof KesError ? new OperatorError(e.message) : e;
      }
    }
    // A SQLite keystore of schema version 1 is upgraded to sealed key states before anything is written.
    await ring.upgrade();
    return local;
  } catch (e) {
    await local.close();
    throw e;
  }
}
