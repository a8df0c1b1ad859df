// The security barrier (the shape of Vault's SecurityBarrier): the only place that holds the
// root key and does encryption at rest. "Sealed" means exactly "no root key in memory".
//
//   initialize(N, T) → N shares; random root key + random unseal key; the root key is stored
//                      AES-256-GCM-wrapped under the unseal key, which is split with Shamir.
//   unseal(share)    → collects distinct shares; the T-th rebuilds the unseal key and opens the
//                      root key. A rebuilt key that cannot open it (wrong, foreign, mixed shares)
//                      is an error and progress resets.
//   seal()           → zeroes and drops the root key and tells listeners to drop what they cache.
//   wrap / unwrap    → AES-256-GCM under the root key with caller-supplied AAD.
import { randomBytes } from 'node:crypto';
import { KesError, errors } from '../errors.js';
import { unwrapKey, wrapKey } from '../crypto/wrap.js';
import { combineShares, parseShare, splitUnsealKey, validateSharing, UNSEAL_KEY_SIZE } from './shares.js';

/** What the barrier persists (one row of the keystore's meta table). */
export interface BarrierRecord {
  wrappedRootKey: Buffer;
  threshold: number;
  shares: number;
  initializedAt: string;
}

export interface BarrierStorage {
  loadBarrier(): Promise<BarrierRecord | undefined>;
  /** Must fail with alreadyInitialized if a record already exists (a second init is refused). */
  saveBarrier(record: BarrierRecord): Promise<void>;
}

export interface SealStatus {
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
}

const ROOT_KEY_AAD = Buffer.from('kesgate/root-key/v1');

export class Barrier {
  readonly #storage: BarrierStorage;
  #record: BarrierRecord | undefined;
  #rootKey: Buffer | undefined;
  #pending: Buffer[] = [];
  #sealListeners: Array<() => void> = [];
  #unsealListeners: Array<() => void | Promise<void>> = [];
  // Unseal rebuilds keys asynchronously; serialize calls so shares are counted one at a time.
  #queue: Promise<unknown> = Promise.resolve();

  /** `record`: what the storage holds (see open()); undefined for a keystore not initialized yet. */
  constructor(storage: BarrierStorage, record?: BarrierRecord) {
    this.#storage = storage;
    this.#record = record;
  }

  /** A barrier over `storage` with its record loaded. */
  static async open(storage: BarrierStorage): Promise<Barrier> {
    return new Barrier(storage, await storage.loadBarrier());
  }

  get initialized(): boolean {
    return this.#record !== undefined;
  }

  get sealed(): boolean {
    return this.#rootKey === undefined;
  }

  status(): SealStatus {
    return {
      initialized: this.initialized,
      sealed: this.sealed,
      t: this.#record?.threshold ?? 0,
      n: this.#record?.shares ?? 0,
      progress: this.#pending.length,
    };
  }

  /** Called (synchronously) on every seal, so holders of unwrapped keys can zero them. */
  onSeal(listener: () => void): void {
    this.#sealListeners.push(listener);
  }

  /**
   * Called each time the barrier becomes unsealed, in order, before the unseal call returns (an
   * async listener is awaited; listeners handle their own errors).
   */
  onUnseal(listener: () => void | Promise<void>): void {
    this.#unsealListeners.push(listener);
  }

  async initialize(shares: number, threshold: number): Promise<string[]> {
    validateSharing(shares, threshold);
    if (this.#record ?? (await this.#storage.loadBarrier())) throw errors.alreadyInitialized();
    const rootKey = randomBytes(32);
    const unsealKey = randomBytes(UNSEAL_KEY_SIZE);
    try {
      const encoded = await splitUnsealKey(unsealKey, shares, threshold);
      const record: BarrierRecord = {
        wrappedRootKey: wrapKey(unsealKey, ROOT_KEY_AAD, rootKey),
        threshold,
        shares,
        initializedAt: new Date().toISOString(),
      };
      await this.#storage.saveBarrier(record);
      this.#record = record;
      return encoded;
    } finally {
      rootKey.fill(0);
      unsealKey.fill(0);
    }
  }

  unseal(share: string): Promise<SealStatus> {
    const run = this.#queue.then(() => this.#unsealOne(share));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #unsealOne(text: string): Promise<SealStatus> {
    // Another node (or `kes init`) may have initialized the shared keystore since this one started.
    const record = (this.#record ??= await this.#storage.loadBarrier());
    if (!record) throw errors.notInitialized();
    if (!this.sealed) return this.status();
    const share = parseShare(text);
    // "progress counts distinct shares": a share submitted twice counts once.
    if (this.#pending.some((p) => p.equals(share))) {
      share.fill(0);
      return this.status();
    }
    this.#pending.push(share);
    if (this.#pending.length < record.threshold) return this.status();

    let unsealKey: Buffer | undefined;
    try {
      unsealKey = await combineShares(this.#pending, record.threshold);
      this.#rootKey = unwrapKey(unsealKey, ROOT_KEY_AAD, record.wrappedRootKey);
    } catch {
      // combine() rejects duplicate x-coordinates; unwrap rejects a wrong key. Same answer.
      throw new KesError(
        400,
        'unseal failed: the submitted shares do not rebuild the unseal key (wrong, duplicate or foreign share); progress was reset, submit the shares again',
      );
    } finally {
      unsealKey?.fill(0);
      this.#clearPending();
    }
    for (const listener of this.#unsealListeners) {
      try {
        await listener();
      } catch {
        // listeners report their own failures
      }
    }
    return this.status();
  }

  /** Forgets the shares submitted so far. */
  resetUnseal(): SealStatus {
    this.#clearPending();
    return this.status();
  }

  /** Idempotent. Zeroes the root key and tells every listener to drop its unwrapped keys. */
  seal(): void {
    this.#clearPending();
    if (this.#rootKey) {
      this.#rootKey.fill(0);
      this.#rootKey = undefined;
    }
    for (const listener of this.#sealListeners) listener();
  }

  wrap(aad: Uint8Array, plaintext: Uint8Array): Buffer {
    return wrapKey(this.#root(), aad, plaintext);
  }

  /** Throws UnwrapError when the value does not belong to this AAD or this root key. */
  unwrap(aad: Uint8Array, wrapped: Uint8Array): Buffer {
    return unwrapKey(this.#root(), aad, wrapped);
  }

  #root(): Buffer {
    if (!this.#rootKey) throw errors.systemSealed();
    return this.#rootKey;
  }

  #clearPending(): void {
    for (const p of this.#pending) p.fill(0);
    this.#pending = [];
  }
}
