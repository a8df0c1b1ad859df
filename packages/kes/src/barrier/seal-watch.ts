// Cluster-wide seal: every /v1/sys/seal, on any node, advances the keystore's seal epoch, and a node
// that was unsealed at an older epoch seals itself. The new epoch reaches a node three ways:
//   - pushed: the keystore notifies watchers at once where it can (PostgreSQL LISTEN/NOTIFY);
//   - polled: every `pollMs` while unsealed (the fallback when the push connection is broken);
//   - with every key operation, which reads the epoch in the same statement as the key's state, so a
//     node never serves a key operation after a seal it could have read.
// Unseal is per node (as in Vault): the epoch is read before the shares are combined, so a seal that
// lands during an unseal seals this node again at the next read.
import type { Barrier, SealStatus } from './barrier.js';
import type { KeyStore } from '../keystore/types.js';

export interface SealWatchLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export class SealWatch {
  readonly #store: KeyStore;
  readonly #barrier: Barrier;
  readonly #log: SealWatchLog;
  readonly #timer: NodeJS.Timeout;
  readonly #unwatch: () => void;
  /** The epoch this node was unsealed at; undefined while sealed. */
  #unsealedAt: number | undefined;
  #pollFailing = false;

  constructor(store: KeyStore, barrier: Barrier, log: SealWatchLog, options: { pollMs: number }) {
    this.#store = store;
    this.#barrier = barrier;
    this.#log = log;
    barrier.onSeal(() => {
      this.#unsealedAt = undefined;
    });
    this.#unwatch = store.watchSealEpoch((epoch) => this.observe(epoch, 'notified'));
    this.#timer = setInterval(() => void this.#poll(), options.pollMs);
    this.#timer.unref();
  }

  /** Runs one unseal step; when it unseals, this node follows the epoch read before it. */
  async unseal(step: () => Promise<SealStatus>): Promise<SealStatus> {
    const epoch = await this.#store.sealEpoch();
    const status = await step();
    if (!status.sealed && this.#unsealedAt === undefined) this.#unsealedAt = epoch;
    return status;
  }

  /** An epoch read from the keystore: seals this node when the cluster was sealed after it unsealed. */
  observe(epoch: number, how = 'read'): void {
    if (this.#unsealedAt === undefined || epoch <= this.#unsealedAt || this.#barrier.sealed) return;
    this.#log.info({ epoch, how }, 'sealed: another kes node sealed the cluster');
    this.#barrier.seal();
  }

  /** Seals this node and records the seal for every node. Throws when it cannot be recorded. */
  async sealCluster(): Promise<number> {
    this.#barrier.seal();
    return this.#store.advanceSealEpoch();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#unwatch();
  }

  async #poll(): Promise<void> {
    if (this.#unsealedAt === undefined) return;
    try {
      this.observe(await this.#store.sealEpoch(), 'polled');
      if (this.#pollFailing) this.#log.info({}, 'keystore reachable again');
      this.#pollFailing = false;
    } catch (e) {
      // Key operations read the keystore themselves and fail meanwhile (503): nothing stale is served.
      if (!this.#pollFailing)
        this.#log.warn({ err: (e as Error).message }, 'cannot read the seal epoch from the keystore; key operations fail until it answers');
      this.#pollFailing = true;
    }
  }
}
