// Service-wide seal state: thin functions over the barrier and the cluster's seal watch, shaped for
// the /v1/sys routes. Seal is cluster-wide (every node sharing the keystore seals); unseal is per node.
import type { Barrier, SealStatus } from '../barrier/barrier.js';
import type { SealWatch } from '../barrier/seal-watch.js';
import { KesError } from '../errors.js';
import type { ErrorSink } from './keys.js';

export class SystemService {
  readonly #barrier: Barrier;
  readonly #watch: SealWatch;
  readonly #log: ErrorSink;

  constructor(barrier: Barrier, watch: SealWatch, log: ErrorSink) {
    this.#barrier = barrier;
    this.#watch = watch;
    this.#log = log;
  }

  get sealed(): boolean {
    return this.#barrier.sealed;
  }

  status(): SealStatus {
    return this.#barrier.status();
  }

  /**
   * Idempotent: drops the root key and every unwrapped master key here at once, then advances the
   * seal epoch so every other node seals too (also when this node was sealed already).
   */
  async seal(): Promise<SealStatus> {
    try {
      await this.#watch.sealCluster();
    } catch (e) {
      this.#log.error({ err: (e as Error).message }, 'sealed this node, but could not record the seal in the keystore');
      throw new KesError(
        503,
        'this node is sealed, but the keystore did not record the seal, so other kes nodes may still be unsealed: retry, or seal each node',
      );
    }
    return this.#barrier.status();
  }

  /** Submits one share; the T-th distinct valid share unseals this node. */
  async unseal(share: string): Promise<SealStatus> {
    try {
      return await this.#watch.unseal(() => this.#barrier.unseal(share));
    } catch (e) {
      if (e instanceof KesError) throw e;
      this.#log.error({ err: (e as Error).message }, 'unseal: cannot read the seal epoch from the keystore');
      throw new KesError(503, 'keystore is not available: kes cannot unseal without reading the cluster seal state');
    }
  }

  resetUnseal(): SealStatus {
    return this.#barrier.resetUnseal();
  }
}
