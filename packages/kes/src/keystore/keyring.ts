// The keyring joins the keystore (rows) and the barrier (root key): it wraps new master and HMAC
// keys and seals each key's state (key-state.ts) before they are stored, and checks and unwraps
// them after they are read.
//
// Freshness: every operation reads the key's sealed state from the keystore (one small row, read
// together with the cluster's seal epoch), so a seal, rotation, min_decryption_version change or
// delete made through any node — or by another process on the same file — is obeyed by the next
// operation on every node: before the call that made it returns, not eventually. Unwrapped versions
// are cached only while the state read matches the one they were unwrapped under, and only while
// the barrier is unsealed: a seal (or a delete) zeroes and drops them.
import { randomBytes } from 'node:crypto';
import type { Barrier } from '../barrier/barrier.js';
import type { Cipher } from '../crypto/ciphertext.js';
import { UnwrapError } from '../crypto/wrap.js';
import { errors, KesError } from '../errors.js';
import { checkVersions, extendDigest, firstState, KeyIntegrityError, openState, sealState, type KeyState } from './key-state.js';
import type { KeyStore, KeyVersionRow } from './types.js';

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
  /**
   * Set (before its keys are zeroed) when the keyring drops this entry: on seal, delete, or a newer
   * state. Users check it in the same synchronous turn as they use the keys (KeyService.#withKey).
   */
  dropped: boolean;
}

interface Cached {
  /** The sealed state the versions were checked against. */
  blob: Buffer;
  state: KeyState;
  entry: KeyEntry;
}

type Purpose = 'key' | 'hmac';

/** Compare-and-swap attempts of one change before giving up (other requests kept changing the key). */
const MAX_ATTEMPTS = 50;

/** AAD binding a wrapped value to its key name, version and purpose. */
export function wrapContext(name: string, version: number, purpose: Purpose): Buffer {
  return Buffer.from(`kesgate/master-key/v1\0${name}\0${version}\0${purpose}`);
}

/** A whole key from elsewhere (an export bundle): every version's key material and its state. */
export interface ImportedKey {
  name: string;
  sealed: boolean;
  minDecryptionVersion: number;
  /** Versions 1..N in order. The key material is zeroed once written. */
  versions: Array<Omit<KeyVersion, 'key' | 'hmacKey'> & { key: Buffer; hmacKey: Buffer }>;
}

export interface KeyRingOptions {
  /** Told the seal epoch read with every key state (the seal watch seals this node when it moved on). */
  onSealEpoch?: (epoch: number) => void;
}

export class KeyRing {
  readonly #store: KeyStore;
  readonly #barrier: Barrier;
  readonly #onSealEpoch: (epoch: number) => void;
  readonly #cache = new Map<string, Cached>();
  /**
   * The newest state sequence seen per key incarnation (not secret: kept across seals), and when
   * (`at`, a tick of #clock): only a read that began after that may be held to it.
   */
  readonly #seen = new Map<string, { incarnation: string; sequence: number; at: number }>();
  #clock = 0;

  constructor(store: KeyStore, barrier: Barrier, options: KeyRingOptions = {}) {
    this.#store = store;
    this.#barrier = barrier;
    this.#onSealEpoch = options.onSealEpoch ?? (() => {});
    barrier.onSeal(() => this.dropAll());
  }

  /** Creates version 1 of a new key with the given (or a random) 32-byte master key. */
  async create(name: string, cipher: Cipher, createdBy: string, keyBytes?: Uint8Array): Promise<void> {
    const key = keyBytes ? Buffer.from(keyBytes) : randomBytes(32);
    const hmacKey = randomBytes(32);
    try {
      const row = this.#row(name, 1, cipher, key, hmacKey, createdBy);
      const state = sealState(this.#barrier, name, firstState(name, [row], { sealed: false, minDecryptionVersion: 1 }));
      await this.#store.createKey(name, state, row);
    } finally {
      key.fill(0);
      hmacKey.fill(0);
    }
  }

  /**
   * Writes a whole key (every version wrapped under this root key, its state sealed over them) in one
   * transaction: an existing key of the name is refused (keyExists), or with `replace` erased in the same
   * transaction. Returns whether a key was replaced. The given key material is zeroed either way.
   */
  async importKey(key: ImportedKey, replace: boolean): Promise<boolean> {
    try {
      if (this.#barrier.sealed) throw errors.systemSealed();
      const rows = key.versions.map((v) => this.#row(key.name, v.version, v.cipher, v.key, v.hmacKey, v.createdBy, v.createdAt));
      const state = sealState(
        this.#barrier,
        key.name,
        firstState(key.name, rows, { sealed: key.sealed, minDecryptionVersion: key.minDecryptionVersion }),
      );
      this.#drop(key.name);
      const replaced = await this.#store.importKey(key.name, state, rows, replace);
      this.#drop(key.name);
      return replaced;
    } finally {
      for (const v of key.versions) {
        v.key.fill(0);
        v.hmacKey.fill(0);
      }
    }
  }

  /** Adds the next version (same cipher as the latest) and returns its number. */
  async rotate(name: string, createdBy: string): Promise<number> {
    const key = randomBytes(32);
    const hmacKey = randomBytes(32);
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const { blob, state, entry } = await this.#load(name);
        const cipher = entry.versions.at(-1)?.cipher ?? 'AES256';
        const row = this.#row(name, state.latestVersion + 1, cipher, key, hmacKey, createdBy);
        const nextState = { ...state, sequence: state.sequence + 1, latestVersion: row.version, digest: extendDigest(state.digest, row) };
        if (await this.#store.addVersion(name, blob, sealState(this.#barrier, name, nextState), row)) {
          this.#remember(name, nextState);
          return row.version;
        }
        await backoff(attempt);
      }
      throw busy();
    } finally {
      key.fill(0);
      hmacKey.fill(0);
      this.#drop(name);
    }
  }

  /** The key with all versions unwrapped. Throws keyNotFound, systemSealed or KeyIntegrityError. */
  async get(name: string): Promise<KeyEntry> {
    return (await this.#load(name)).entry;
  }

  async exists(name: string): Promise<boolean> {
    const { row, sealEpoch } = await this.#store.readState(name);
    this.#onSealEpoch(sealEpoch);
    return row !== undefined;
  }

  async setSealed(name: string, sealed: boolean): Promise<void> {
    await this.#change(name, (s) => ({ ...s, sealed }));
  }

  /** Throws badRequest when `version` is not one of the key's versions (checked against the state it replaces). */
  async setMinDecryptionVersion(name: string, version: number): Promise<KeyEntry> {
    await this.#change(name, (s) => {
      if (version < 1 || version > s.latestVersion) {
        throw errors.badRequest(`invalid min_decryption_version v${version}: the key's versions are v1 to v${s.latestVersion}`);
      }
      return { ...s, minDecryptionVersion: version };
    });
    return this.get(name);
  }

  /**
   * Deletes every version (one transaction), then runs the store's erasure step. Returns whether
   * that step completed; the delete itself has committed either way.
   */
  async delete(name: string): Promise<boolean> {
    if (this.#barrier.sealed) throw errors.systemSealed();
    this.#drop(name);
    const { removed, erased } = await this.#store.deleteKey(name);
    this.#drop(name);
    if (!removed) throw errors.keyNotFound();
    return erased;
  }

  /** How long the keystore takes to answer a trivial query, in microseconds; throws when it does not answer. */
  ping(): Promise<number> {
    return this.#store.ping();
  }

  list(prefix: string, start: string, limit: number): Promise<string[]> {
    return this.#store.listNames(prefix, start, limit);
  }

  /**
   * A SQLite keystore of schema version 1 keeps key states in plain columns: seal each one (with a
   * digest of its versions as they are now) and let the store switch to sealed states. Runs once, at
   * the first unseal after the upgrade of kes; the plain values are trusted this one time. Returns
   * how many keys were upgraded.
   */
  async upgrade(): Promise<number> {
    const legacy = await this.#store.legacyStates();
    if (legacy.length === 0) {
      await this.#store.completeUpgrade([]);
      return 0;
    }
    const states: Array<{ name: string; state: Buffer }> = [];
    for (const { name, legacy: l } of legacy) {
      // Sealed over the rows as they are: a key whose rows were already inconsistent stays refused on use.
      const rows = await this.#store.getVersions(name);
      const min = Math.min(Math.max(l.minDecryptionVersion, 1), rows.length);
      const state = firstState(name, rows, { sealed: l.sealed, minDecryptionVersion: min });
      // latest_version as the plain column said: rows that disagree with it stay refused on use
      states.push({ name, state: sealState(this.#barrier, name, { ...state, latestVersion: Math.max(l.latestVersion, 1) }) });
    }
    await this.#store.completeUpgrade(states);
    return states.length;
  }

  /** Zeroes and forgets every unwrapped key (called on seal). */
  dropAll(): void {
    for (const name of [...this.#cache.keys()]) this.#drop(name);
  }

  /**
   * Reads, checks and unwraps the key: from the cache when its state is the one just read. The state
   * and the versions are two reads: a change committed between them (by another node) makes them
   * disagree without any tampering, so a disagreement is believed only when the state is unchanged.
   */
  async #load(name: string): Promise<Cached> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#loadOnce(name);
      } catch (e) {
        if (!(e instanceof VersionsChanged)) throw e;
        if (attempt >= MAX_ATTEMPTS) throw busy();
      }
    }
  }

  async #loadOnce(name: string): Promise<Cached> {
    if (this.#barrier.sealed) throw errors.systemSealed();
    const readStart = ++this.#clock;
    const { row, sealEpoch } = await this.#store.readState(name);
    this.#onSealEpoch(sealEpoch);
    if (this.#barrier.sealed) throw errors.systemSealed();
    if (!row) {
      this.#drop(name);
      throw errors.keyNotFound();
    }
    if (row.state === null) {
      throw new KeyIntegrityError(
        name,
        'it has no authenticated state (a keystore of schema version 1 that was not upgraded: see the error log of the last unseal)',
      );
    }
    const cached = this.#cache.get(name);
    if (cached?.blob.equals(row.state)) return cached;
    const state = openState(this.#barrier, name, row.state);
    this.#checkFresh(name, state, readStart);
    // Versions above the state's latest were added after the state was read (their state is newer).
    const rows = (await this.#store.getVersions(name)).filter((r) => r.version <= state.latestVersion);
    try {
      checkVersions(name, state, rows);
    } catch (e) {
      const now = (await this.#store.readState(name)).row?.state;
      if (!now?.equals(row.state)) throw new VersionsChanged();
      throw e;
    }
    // Unwrapping and caching happen in one synchronous step: a seal in between cannot leave keys behind.
    const versions: KeyVersion[] = [];
    try {
      for (const r of rows) versions.push(this.#unwrapRow(r));
    } catch (e) {
      for (const v of versions) {
        v.key.fill(0);
        v.hmacKey.fill(0);
      }
      throw e;
    }
    const entry: KeyEntry = {
      name,
      sealed: state.sealed,
      minDecryptionVersion: state.minDecryptionVersion,
      latestVersion: state.latestVersion,
      versions,
      dropped: false,
    };
    const again = this.#cache.get(name);
    if (again?.blob.equals(row.state)) {
      // A concurrent request unwrapped the same state first: keep its entry (it may be in use) and drop ours.
      zero(entry);
      return again;
    }
    this.#drop(name);
    const fresh = { blob: row.state, state, entry };
    this.#cache.set(name, fresh);
    return fresh;
  }

  /** Replaces the key's state by `update(state)`, retrying when another writer changed it first. */
  async #change(name: string, update: (s: KeyState) => KeyState): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { blob, state } = await this.#load(name);
      const nextState = { ...update(state), sequence: state.sequence + 1 };
      const swapped = await this.#store.updateState(name, blob, sealState(this.#barrier, name, nextState));
      this.#drop(name);
      if (swapped) {
        this.#remember(name, nextState);
        return;
      }
      await backoff(attempt);
    }
    throw busy();
  }

  /**
   * Refuses a state older than one this node already saw for the same incarnation (a replayed row),
   * when the read began after this node saw the newer one: a read already in flight then may
   * legitimately return the state it replaced.
   */
  #checkFresh(name: string, state: KeyState, readStart: number): void {
    const seen = this.#seen.get(name);
    if (seen?.incarnation === state.incarnation && state.sequence < seen.sequence && readStart > seen.at) {
      throw new KeyIntegrityError(
        name,
        `its state is older than one this node already used (sequence ${state.sequence} < ${seen.sequence}): an old row was written back`,
      );
    }
    this.#remember(name, state);
  }

  /** Notes a state this node read or committed. */
  #remember(name: string, state: KeyState): void {
    const seen = this.#seen.get(name);
    if (!seen || seen.incarnation !== state.incarnation || state.sequence > seen.sequence) {
      this.#seen.set(name, { incarnation: state.incarnation, sequence: state.sequence, at: ++this.#clock });
    }
  }

  #drop(name: string): void {
    const cached = this.#cache.get(name);
    if (!cached) return;
    zero(cached.entry);
    this.#cache.delete(name);
  }

  /** The one place a key version is wrapped under the root key for storing (create, rotate, import). */
  #row(
    name: string,
    version: number,
    cipher: Cipher,
    key: Buffer,
    hmacKey: Buffer,
    createdBy: string,
    createdAt = new Date().toISOString(),
  ): KeyVersionRow {
    return {
      name,
      version,
      algorithm: cipher,
      wrappedKey: this.#barrier.wrap(wrapContext(name, version, 'key'), key),
      wrappedHmacKey: this.#barrier.wrap(wrapContext(name, version, 'hmac'), hmacKey),
      createdAt,
      createdBy,
    };
  }

  #unwrapRow(row: KeyVersionRow): KeyVersion {
    try {
      const key = this.#barrier.unwrap(wrapContext(row.name, row.version, 'key'), row.wrappedKey);
      let hmacKey: Buffer;
      try {
        hmacKey = this.#barrier.unwrap(wrapContext(row.name, row.version, 'hmac'), row.wrappedHmacKey);
      } catch (e) {
        key.fill(0);
        throw e;
      }
      return { version: row.version, cipher: row.algorithm, key, hmacKey, createdAt: row.createdAt, createdBy: row.createdBy };
    } catch (e) {
      if (e instanceof UnwrapError)
        throw new KeyIntegrityError(
          row.name,
          `version ${row.version} does not unwrap under this name and version (copied from another key, or from another keystore)`,
        );
      throw e;
    }
  }
}

/** The key changed between the read of its state and of its versions: read again. */
class VersionsChanged extends Error {}

function zero(entry: KeyEntry): void {
  entry.dropped = true;
  for (const v of entry.versions) {
    v.key.fill(0);
    v.hmacKey.fill(0);
  }
}

/** Lost a race to another writer of the same key: wait a little (jittered) before reading again. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 * (attempt + 1), 20)));
}

function busy(): KesError {
  return new KesError(503, 'the key is being changed by another request or kes node: try again');
}
