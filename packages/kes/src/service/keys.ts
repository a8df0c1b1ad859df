// Key operations as plain functions over the keyring: no HTTP here. Every failure is a KesError
// with the status and message of docs/kes-api.md: keystore failures become 502 "failed to <op> key", an
// unreachable keystore 503, a key whose rows fail their integrity check 502 with its own message;
// each is written to the error log (never with key material).
import { createHmac } from 'node:crypto';
import { randomBytesFromPool } from '../crypto/random.js';
import type { Barrier } from '../barrier/barrier.js';
import { decryptKes, encryptKes, isCipher, NotAuthenticError, type Cipher } from '../crypto/ciphertext.js';
import { errors, isKesError, KesError } from '../errors.js';
import { KeyIntegrityError } from '../keystore/key-state.js';
import { KeystoreUnavailable } from '../keystore/types.js';
import type { KeyEntry, KeyRing, KeyVersion } from '../keystore/keyring.js';
import { parseListPrefix, validateName } from './names.js';
import { formatVersion } from './versions.js';

export const MAX_PLAINTEXT = 1 << 20;
export const LIST_PAGE = 1024;

/** The subset of a pino logger the service needs. */
export interface ErrorSink {
  error(fields: object, message: string): void;
}

export interface KeyDescription {
  name: string;
  algorithm: Cipher;
  createdAt: string;
  createdBy: string;
  state: 'active' | 'sealed';
  versions: string[];
  latestVersion: string;
  minDecryptionVersion: string;
}

export interface KeyList {
  names: string[];
  /** The first name of the next page, when there is one. */
  continueAt?: string;
}

export interface DataKey {
  plaintext: Buffer;
  ciphertext: Buffer;
  version: string;
}

export class KeyService {
  readonly #ring: KeyRing;
  readonly #barrier: Barrier;
  readonly #log: ErrorSink;

  constructor(ring: KeyRing, barrier: Barrier, log: ErrorSink) {
    this.#ring = ring;
    this.#barrier = barrier;
    this.#log = log;
  }

  /** The keystore's answer time in microseconds (for /v1/status and /v1/ready); throws when it does not answer. */
  pingKeystore(): Promise<number> {
    return this.#ring.ping();
  }

  async create(name: string, createdBy: string): Promise<void> {
    this.#ready(name);
    await this.#guard('create', () => this.#ring.create(name, 'AES256', createdBy));
  }

  async import(name: string, key: Uint8Array, cipher: unknown, createdBy: string): Promise<void> {
    this.#ready(name);
    if (!isCipher(cipher)) throw errors.notAcceptable(`unsupported cipher '${String(cipher).slice(0, 40)}': use "AES256" or "ChaCha20"`);
    if (key.length !== 32) throw errors.notAcceptable(`invalid key size ${key.length} bytes: ${cipher} keys are 32 bytes`);
    await this.#guard('import', () => this.#ring.create(name, cipher, createdBy, key));
  }

  async describe(name: string): Promise<KeyDescription> {
    this.#ready(name);
    const entry = await this.#entry('read', name);
    const first = entry.versions[0];
    const latest = entry.versions.at(-1);
    if (!first || !latest) throw errors.store('read');
    return {
      name,
      algorithm: latest.cipher,
      createdAt: first.createdAt,
      createdBy: first.createdBy,
      state: entry.sealed ? 'sealed' : 'active',
      versions: entry.versions.map((v) => formatVersion(v.version)),
      latestVersion: formatVersion(entry.latestVersion),
      minDecryptionVersion: formatVersion(entry.minDecryptionVersion),
    };
  }

  async delete(name: string): Promise<void> {
    this.#ready(name);
    const erased = await this.#guard('delete', () => this.#ring.delete(name));
    if (!erased) {
      // The delete committed; only the store's erasure step is late (SQLite: another connection held the WAL; PostgreSQL: VACUUM failed).
      this.#log.error(
        { key: name },
        'deleted key, but the keystore could not erase its old pages yet (WAL truncation or VACUUM): they stay until the next one',
      );
    }
  }

  /** `pattern` is a name prefix; a trailing '*' (or '*' alone) is accepted. */
  async list(pattern: string, options: { continueAt?: string; limit?: number } = {}): Promise<KeyList> {
    this.#ready();
    const prefix = parseListPrefix(pattern);
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? LIST_PAGE), 1), LIST_PAGE);
    const names = await this.#guard('list', () => this.#ring.list(prefix, options.continueAt ?? '', limit + 1));
    if (names.length <= limit) return { names };
    return { names: names.slice(0, limit), continueAt: names[limit] };
  }

  async generate(name: string, context?: Uint8Array): Promise<DataKey> {
    return this.#withKey(name, (entry) => {
      const latest = this.#latest(entry);
      const plaintext = randomBytesFromPool(32);
      return { plaintext, ciphertext: encryptKes(latest.cipher, latest.key, plaintext, context), version: formatVersion(latest.version) };
    });
  }

  async encrypt(name: string, plaintext: Uint8Array, context?: Uint8Array): Promise<{ ciphertext: Buffer; version: string }> {
    if (plaintext.length > MAX_PLAINTEXT) throw errors.badRequest(`plaintext is too large: at most ${MAX_PLAINTEXT} bytes`);
    return this.#withKey(name, (entry) => {
      const latest = this.#latest(entry);
      return { ciphertext: encryptKes(latest.cipher, latest.key, plaintext, context), version: formatVersion(latest.version) };
    });
  }

  /** See decryptWith(). */
  async decrypt(
    name: string,
    ciphertext: Uint8Array,
    context?: Uint8Array,
    version?: number,
  ): Promise<{ plaintext: Buffer; version: string }> {
    return this.#withKey(name, (entry) => decryptWith(entry, ciphertext, context, version));
  }

  /**
   * Bulk generate: a fresh data key per context, all under the latest version, from one read of the key.
   * All or nothing, as KES's bulk decrypt: nothing here can fail for one item alone.
   */
  async generateMany(name: string, contexts: (Uint8Array | undefined)[]): Promise<DataKey[]> {
    return this.#withKey(name, (entry) => {
      const latest = this.#latest(entry);
      const version = formatVersion(latest.version);
      return contexts.map((context) => {
        const plaintext = randomBytesFromPool(32);
        return { plaintext, ciphertext: encryptKes(latest.cipher, latest.key, plaintext, context), version };
      });
    });
  }

  /**
   * Bulk decrypt, as KES's `/v1/key/bulk/decrypt`: every item or none. The first item that fails is the
   * answer (its error, as single decrypt gives it), and the plaintexts already made are zeroed.
   */
  async decryptMany(name: string, items: { ciphertext: Uint8Array; context?: Uint8Array; version?: number }[]): Promise<Buffer[]> {
    return this.#withKey(name, (entry) => {
      const out: Buffer[] = [];
      try {
        for (const it of items) out.push(decryptWith(entry, it.ciphertext, it.context, it.version).plaintext);
      } catch (e) {
        for (const p of out) p.fill(0);
        throw e;
      }
      return out;
    });
  }

  async hmac(name: string, message: Uint8Array): Promise<Buffer> {
    return this.#withKey(name, (entry) => createHmac('sha256', this.#latest(entry).hmacKey).update(message).digest());
  }

  async seal(name: string): Promise<void> {
    this.#ready(name);
    await this.#guard('seal', () => this.#ring.setSealed(name, true));
  }

  async unseal(name: string): Promise<void> {
    this.#ready(name);
    await this.#guard('unseal', () => this.#ring.setSealed(name, false));
  }

  async rotate(name: string, createdBy: string): Promise<{ version: string }> {
    this.#ready(name);
    const version = await this.#guard('rotate', () => this.#ring.rotate(name, createdBy));
    return { version: formatVersion(version) };
  }

  /** Sets min_decryption_version: versions below it refuse to decrypt. */
  async configure(name: string, minDecryptionVersion: number): Promise<KeyDescription> {
    this.#ready(name);
    // The keyring checks the bound against the state it replaces (a concurrent rotate cannot slip in).
    await this.#guard('configure', () => this.#ring.setMinDecryptionVersion(name, minDecryptionVersion));
    return this.describe(name);
  }

  /** Creates the key if it is missing; used for the `keys:` list of the config. */
  async ensure(name: string, createdBy: string): Promise<boolean> {
    this.#ready(name);
    if (await this.#guard('read', () => this.#ring.exists(name))) return false;
    try {
      await this.create(name, createdBy);
      return true;
    } catch (e) {
      if (isKesError(e) && e.message === errors.keyExists().message) return false;
      throw e;
    }
  }

  #ready(name?: string): void {
    if (this.#barrier.sealed) throw errors.systemSealed();
    if (name !== undefined) validateName(name);
  }

  #entry(op: string, name: string): Promise<KeyEntry> {
    return this.#guard(op, () => this.#ring.get(name));
  }

  /** The key, checked for existence and for a per-key seal. */
  async #usable(name: string): Promise<KeyEntry> {
    this.#ready(name);
    const entry = await this.#entry('read', name);
    if (entry.sealed) throw errors.keySealed();
    return entry;
  }

  /**
   * Runs `use` on the key's unwrapped versions. `use` is synchronous and runs in the same turn as the
   * check that the entry is still live: a seal or a newer state read by a concurrent request (which
   * zero the keys they drop) cannot slip in between, so a zeroed key is never used. A dropped entry
   * is read again.
   */
  async #withKey<T>(name: string, use: (entry: KeyEntry) => T): Promise<T> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const entry = await this.#usable(name);
      if (!entry.dropped) return use(entry);
    }
    throw new KesError(503, 'the key is being changed by other requests: try again');
  }

  #latest(entry: KeyEntry): KeyVersion {
    const latest = entry.versions.find((v) => v.version === entry.latestVersion);
    if (!latest) throw errors.store('read');
    return latest;
  }

  async #guard<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof KesError) throw e;
      if (e instanceof KeyIntegrityError) {
        this.#log.error({ op, key: e.key, err: e.message }, `keystore: refused to ${op} key: its rows were changed outside kes`);
        throw errors.integrity(op);
      }
      if (e instanceof KeystoreUnavailable) {
        this.#log.error({ op, err: e.message }, `keystore: cannot ${op} key: the keystore does not answer`);
        throw errors.storeUnavailable();
      }
      this.#log.error({ op, err: e instanceof Error ? e.message : String(e) }, `keystore: failed to ${op} key`);
      throw errors.store(op);
    }
  }
}

/**
 * With `version`, decrypts with that version only. Without it, tries the live versions newest
 * first (authentication picks the right one). A ciphertext that only a version below
 * min_decryption_version opens is refused with "key version is too old".
 */
function decryptWith(
  entry: KeyEntry,
  ciphertext: Uint8Array,
  context: Uint8Array | undefined,
  version: number | undefined,
): { plaintext: Buffer; version: string } {
  const min = entry.minDecryptionVersion;
  if (version !== undefined) {
    const v = entry.versions.find((x) => x.version === version);
    if (!v) throw errors.badRequest(`key version ${formatVersion(version)} does not exist`);
    if (version < min) throw errors.versionTooOld();
    const plaintext = tryDecrypt(v, ciphertext, context);
    if (!plaintext) throw errors.notAuthentic();
    return { plaintext, version: formatVersion(version) };
  }
  const newestFirst = [...entry.versions].reverse();
  for (const v of newestFirst) {
    if (v.version < min) continue;
    const plaintext = tryDecrypt(v, ciphertext, context);
    if (plaintext) return { plaintext, version: formatVersion(v.version) };
  }
  for (const v of newestFirst) {
    if (v.version >= min) continue;
    const plaintext = tryDecrypt(v, ciphertext, context);
    if (plaintext) {
      plaintext.fill(0);
      throw errors.versionTooOld();
    }
  }
  throw errors.notAuthentic();
}

function tryDecrypt(v: KeyVersion, ciphertext: Uint8Array, context?: Uint8Array): Buffer | undefined {
  try {
    return decryptKes(v.cipher, v.key, ciphertext, context);
  } catch (e) {
    if (e instanceof NotAuthenticError) return undefined;
    throw e;
  }
}
