// Key operations as plain functions over the keyring: no HTTP here. Every failure is a KesError
// with the status and message of kes-api.md; keystore (SQLite) failures become 502
// "failed to <op> key" and are written to the error log (never with key material).
import { createHmac } from 'node:crypto';
import { randomBytesFromPool } from '../crypto/random.js';
import type { Barrier } from '../barrier/barrier.js';
import { decryptKes, encryptKes, isCipher, NotAuthenticError, type Cipher } from '../crypto/ciphertext.js';
import { errors, isKesError, KesError } from '../errors.js';
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

  create(name: string, createdBy: string): void {
    this.#ready(name);
    this.#guard('create', () => this.#ring.create(name, 'AES256', createdBy));
  }

  import(name: string, key: Uint8Array, cipher: unknown, createdBy: string): void {
    this.#ready(name);
    if (!isCipher(cipher)) throw errors.notAcceptable(`unsupported cipher '${String(cipher).slice(0, 40)}': use "AES256" or "ChaCha20"`);
    if (key.length !== 32) throw errors.notAcceptable(`invalid key size ${key.length} bytes: ${cipher} keys are 32 bytes`);
    this.#guard('import', () => this.#ring.create(name, cipher, createdBy, key));
  }

  describe(name: string): KeyDescription {
    this.#ready(name);
    const entry = this.#entry('read', name);
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

  delete(name: string): void {
    this.#ready(name);
    const truncated = this.#guard('delete', () => this.#ring.delete(name));
    if (!truncated) {
      // The delete committed; only the erasure from the WAL is late (another connection held it).
      this.#log.error({ key: name }, 'deleted key, but the WAL could not be truncated yet: its old pages stay in the WAL until the next truncation');
    }
  }

  /** `pattern` is a name prefix; a trailing '*' (or '*' alone) is accepted. */
  list(pattern: string, options: { continueAt?: string; limit?: number } = {}): KeyList {
    this.#ready();
    const prefix = parseListPrefix(pattern);
    const limit = Math.min(Math.max(Math.trunc(options.limit ?? LIST_PAGE), 1), LIST_PAGE);
    const names = this.#guard('list', () => this.#ring.list(prefix, options.continueAt ?? '', limit + 1));
    if (names.length <= limit) return { names };
    return { names: names.slice(0, limit), continueAt: names[limit] };
  }

  generate(name: string, context?: Uint8Array): DataKey {
    const latest = this.#latest(this.#usable(name));
    const plaintext = randomBytesFromPool(32);
    return { plaintext, ciphertext: encryptKes(latest.cipher, latest.key, plaintext, context), version: formatVersion(latest.version) };
  }

  encrypt(name: string, plaintext: Uint8Array, context?: Uint8Array): { ciphertext: Buffer; version: string } {
    if (plaintext.length > MAX_PLAINTEXT) throw errors.badRequest(`plaintext is too large: at most ${MAX_PLAINTEXT} bytes`);
    const latest = this.#latest(this.#usable(name));
    return { ciphertext: encryptKes(latest.cipher, latest.key, plaintext, context), version: formatVersion(latest.version) };
  }

  /**
   * With `version`, decrypts with that version only. Without it, tries the live versions newest
   * first (authentication picks the right one). A ciphertext that only a version below
   * min_decryption_version opens is refused with "key version is too old".
   */
  decrypt(name: string, ciphertext: Uint8Array, context?: Uint8Array, version?: number): { plaintext: Buffer; version: string } {
    const entry = this.#usable(name);
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

  hmac(name: string, message: Uint8Array): Buffer {
    const latest = this.#latest(this.#usable(name));
    return createHmac('sha256', latest.hmacKey).update(message).digest();
  }

  seal(name: string): void {
    this.#ready(name);
    this.#guard('seal', () => this.#ring.setSealed(name, true));
  }

  unseal(name: string): void {
    this.#ready(name);
    this.#guard('unseal', () => this.#ring.setSealed(name, false));
  }

  rotate(name: string, createdBy: string): { version: string } {
    this.#ready(name);
    const version = this.#guard('rotate', () => this.#ring.rotate(name, createdBy));
    return { version: formatVersion(version) };
  }

  /** Sets min_decryption_version: versions below it refuse to decrypt. */
  configure(name: string, minDecryptionVersion: number): KeyDescription {
    this.#ready(name);
    const entry = this.#entry('configure', name);
    if (minDecryptionVersion < 1 || minDecryptionVersion > entry.latestVersion) {
      throw errors.badRequest(`invalid min_decryption_version ${formatVersion(minDecryptionVersion)}: the key's versions are v1 to ${formatVersion(entry.latestVersion)}`);
    }
    this.#guard('configure', () => this.#ring.setMinDecryptionVersion(name, minDecryptionVersion));
    return this.describe(name);
  }

  /** Creates the key if it is missing; used for the `keys:` list of the config. */
  ensure(name: string, createdBy: string): boolean {
    this.#ready(name);
    if (this.#guard('read', () => this.#ring.exists(name))) return false;
    try {
      this.create(name, createdBy);
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

  #entry(op: string, name: string): KeyEntry {
    return this.#guard(op, () => this.#ring.get(name));
  }

  /** The key, checked for existence and for a per-key seal. */
  #usable(name: string): KeyEntry {
    this.#ready(name);
    const entry = this.#entry('read', name);
    if (entry.sealed) throw errors.keySealed();
    return entry;
  }

  #latest(entry: KeyEntry): KeyVersion {
    const latest = entry.versions.find((v) => v.version === entry.latestVersion);
    if (!latest) throw errors.store('read');
    return latest;
  }

  #guard<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof KesError) throw e;
      this.#log.error({ op, err: e instanceof Error ? e.message : String(e) }, `keystore: failed to ${op} key`);
      throw errors.store(op);
    }
  }
}

function tryDecrypt(v: KeyVersion, ciphertext: Uint8Array, context?: Uint8Array): Buffer | undefined {
  try {
    return decryptKes(v.cipher, v.key, ciphertext, context);
  } catch (e) {
    if (e instanceof NotAuthenticError) return undefined;
    throw e;
  }
}
