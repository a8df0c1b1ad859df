// Service-wide seal state: thin functions over the barrier, shaped for the /v1/sys routes.
import type { Barrier, SealStatus } from '../barrier/barrier.js';

export class SystemService {
  readonly #barrier: Barrier;

  constructor(barrier: Barrier) {
    this.#barrier = barrier;
  }

  get sealed(): boolean {
    return this.#barrier.sealed;
  }

  status(): SealStatus {
    return this.#barrier.status();
  }

  /** Idempotent: drops the root key and every unwrapped master key. */
  seal(): SealStatus {
    this.#barrier.seal();
    return this.#barrier.status();
  }

  /** Submits one share; the T-th distinct valid share unseals. */
  unseal(share: string): Promise<SealStatus> {
    return this.#barrier.unseal(share);
  }

  resetUnseal(): SealStatus {
    return this.#barrier.resetUnseal();
  }
}
