// The keyring joins the keystore (wrapped rows) and the barrier (root key): it wraps new master
// and HMAC keys before they are stored, unwraps them on first use, and caches the unwrapped keys
// only while the barrier is unsealed — a seal (or a delete) zeroes and drops them.
import { randomBytes } from 'node:crypto';
import type { Barrier } from '../barrier/barrier.js';
import type { Cipher } from '../crypto/ciphertext.js';
import { errors } from '../errors.js';
import type { KeyStore, KeyVersionRow } from './store.js';

export interface KeyVersion {
  version: number;
  cipher: Cipher;
  key: Buffer;
  hmacKey: Buffer;
  createdAt: string;
  createdBy: string;
}

export interface KeyEntry {
  name: string;
  sealed: boolean;
  minDecryptionVersion: number;
  latestVersion: number;
  /** Ascending by version. */
  versions: KeyVersion[];
}

type Purpose = 'key' | 'hmac';

/** AAD binding a wrapped value to its key name, version and purpose. */
export function wrapContext(name: string, version: number, purpose: Purpose): Buffer {
  return Buffer.from(`kesgate/master-key/v1\0${name}\0${version}\0${purpose}`);
}

export class KeyRing {
  readonly #store: KeyStore;
  readonly #barrier: Barrier;
  readonly #cache = new Map<string, KeyEntry>();
  #seenVersion: number | undefined;

  constructor(store: KeyStore, barrier: Barrier) {
    this.#store = store;
    this.#barrier = barrier;
    barrier.onSeal(() => this.dropAll());
  }

  /** Creates version 1 of a new key with the given (or a random) 32-byte master key. */
  create(name: string, cipher: Cipher, createdBy: string, keyBytes?: Uint8Array): void {
    const key = keyBytes ? Buffer.from(keyBytes) : randomBytes(32);
    const hmacKey = randomBytes(32);
    try {
      this.#store.createKey(this.#row(name, 1, cipher, key, hmacKey, createdBy));
    } finally {
      key.fill(0);
      hmacKey.fill(0);
    }
  }

  /** Adds the next version (same cipher as the latest) and returns its number. */
  rotate(name: string, createdBy: string): number {
    const cipher = this.get(name).versions.at(-1)?.cipher ?? 'AES256';
    const key = randomBytes(32);
    const hmacKey = randomBytes(32);
    try {
      const row = this.#store.addVersion(name, (version) => this.#row(name, version, cipher, key, hmacKey, createdBy));
      return row.version;
    } finally {
      key.fill(0);
      hmacKey.fill(0);
      this.#drop(name);
    }
  }

  /** The key with all versions unwrapped. Throws keyNotFound or systemSealed. */
  get(name: string): KeyEntry {
    if (this.#barrier.sealed) throw errors.systemSealed();
    // Another process (e.g. `kes import`) may have changed the file: then the cache is stale.
    const version = this.#store.externalVersion();
    if (version !== this.#seenVersion) {
      this.dropAll();
      this.#seenVersion = version;
    }
    const cached = this.#cache.get(name);
    if (cached) return cached;
    const state = this.#store.getState(name);
    if (!state) throw errors.keyNotFound();
    const versions = this.#store.getVersions(name).map((row) => this.#unwrapRow(row));
    const entry: KeyEntry = { ...state, versions };
    this.#cache.set(name, entry);
    return entry;
  }

  exists(name: string): boolean {
    return this.#cache.has(name) || this.#store.getState(name) !== undefined;
  }

  setSealed(name: string, sealed: boolean): void {
    if (!this.#store.setSealed(name, sealed)) throw errors.keyNotFound();
    const cached = this.#cache.get(name);
    if (cached) cached.sealed = sealed;
  }

  setMinDecryptionVersion(name: string, version: number): void {
    if (!this.#store.setMinDecryptionVersion(name, version)) throw errors.keyNotFound();
    const cached = this.#cache.get(name);
    if (cached) cached.minDecryptionVersion = version;
  }

  /**
   * Deletes every version (one transaction), then truncates the WAL. Returns whether the WAL
   * was truncated; the delete itself has committed either way.
   */
  delete(name: string): boolean {
    this.#drop(name);
    const { removed, walTruncated } = this.#store.deleteKey(name);
    if (!removed) throw errors.keyNotFound();
    return walTruncated;
  }

  list(prefix: string, start: string, limit: number): string[] {
    return this.#store.listNames(prefix, start, limit);
  }

  /** Zeroes and forgets every unwrapped key (called on seal). */
  dropAll(): void {
    for (const name of [...this.#cache.keys()]) this.#drop(name);
  }

  #drop(name: string): void {
    const entry = this.#cache.get(name);
    if (!entry) return;
    for (const v of entry.versions) {
      v.key.fill(0);
      v.hmacKey.fill(0);
    }
    this.#cache.delete(name);
  }

  #row(name: string, version: number, cipher: Cipher, key: Buffer, hmacKey: Buffer, createdBy: string): KeyVersionRow {
    return {
      name,
      version,
      algorithm: cipher,
      wrappedKey: this.#barrier.wrap(wrapContext(name, version, 'key'), key),
      wrappedHmacKey: this.#barrier.wrap(wrapContext(name, version, 'hmac'), hmacKey),
      createdAt: new Date().toISOString(),
      createdBy,
    };
  }

  #unwrapRow(row: KeyVersionRow): KeyVersion {
    return {
      version: row.version,
      cipher: row.algorithm,
      key: this.#barrier.unwrap(wrapContext(row.name, row.version, 'key'), row.wrappedKey),
      hmacKey: this.#barrier.unwrap(wrapContext(row.name, row.version, 'hmac'), row.wrappedHmacKey),
      createdAt: row.createdAt,
      createdBy: row.createdBy,
    };
  }
}
