// The keystore contract: what kes needs from the database that holds its wrapped keys. Two
// implementations: SqliteKeyStore (one file, the embedded default) and PostgresKeyStore (several kes
// nodes over one database). Nothing above this contract knows which one it has.
//
// A keystore never sees a plaintext key and decides nothing about keys: the keyring wraps, seals
// and authenticates everything it stores (master keys under AAD name+version+purpose, each key's
// state as a sealed blob bound to the key's name) and checks it all on every read. The keystore's
// job is durable rows, atomic multi-row changes, compare-and-swap on a key's state (so that two
// nodes changing one key never both win), and the cluster-wide seal epoch.
import type { BarrierStorage } from '../barrier/barrier.js';
import type { Cipher } from '../crypto/ciphertext.js';

export interface KeyVersionRow {
  name: string;
  version: number;
  algorithm: Cipher;
  wrappedKey: Buffer;
  wrappedHmacKey: Buffer;
  createdAt: string;
  createdBy: string;
}

/** The plain per-key columns of a SQLite keystore of schema version 1, which predate sealed states. */
export interface LegacyState {
  sealed: boolean;
  minDecryptionVersion: number;
  latestVersion: number;
}

interface KeyStateRow {
  name: string;
  /** The key's state, sealed by the keyring (key-state.ts); null only in a not yet upgraded v1 SQLite store. */
  state: Buffer | null;
}

/** A key's state row as read together with the seal epoch, in one statement. */
export interface StateRead {
  row: KeyStateRow | undefined;
  sealEpoch: number;
}

export interface DeleteResult {
  /** There was a key of that name (now gone). */
  removed: boolean;
  /**
   * The store's post-delete erasure step (SQLite: WAL truncation; PostgreSQL: VACUUM) completed. False
   * means the delete committed but old bytes may linger until the next such step.
   */
  erased: boolean;
}

/** The store's own database is unreachable, down or too slow: key operations answer 503. */
export class KeystoreUnavailable extends Error {
  constructor(what: string, options?: { cause?: unknown }) {
    super(`keystore is not available: ${what}`, options);
    this.name = 'KeystoreUnavailable';
  }
}

export interface KeyStore extends BarrierStorage {
  /** What and where, for logs and errors (never a password): "SQLite /var/kes/kes.db". */
  readonly description: string;

  /** The key's state row and the current seal epoch, read in one statement. */
  readState(name: string): Promise<StateRead>;
  /** Every version of `name`, ascending. */
  getVersions(name: string): Promise<KeyVersionRow[]>;

  /** One transaction: the state row and version 1. Throws keyExists when the name is taken. */
  createKey(name: string, state: Buffer, first: KeyVersionRow): Promise<void>;
  /**
   * One transaction: inserts `row` and replaces the state, only if the state is still `expected`.
   * False when another writer changed the state (or added that version) first: read again and retry.
   * Throws keyNotFound when the key is gone.
   */
  addVersion(name: string, expected: Buffer | null, state: Buffer, row: KeyVersionRow): Promise<boolean>;
  /** Replaces the state only if it is still `expected`; false otherwise. Throws keyNotFound. */
  updateState(name: string, expected: Buffer | null, state: Buffer): Promise<boolean>;
  /**
   * A whole key from elsewhere (an export bundle) in one transaction: the state and every version, 1..N.
   * An existing key of that name is refused (keyExists), or with `replace` erased in the same transaction.
   * Returns whether a key was replaced.
   */
  importKey(name: string, state: Buffer, versions: KeyVersionRow[], replace: boolean): Promise<boolean>;
  /** Removes every version and the state in one transaction, then runs the store's erasure step. */
  deleteKey(name: string): Promise<DeleteResult>;
  /** Names starting with `prefix`, from `start` (inclusive), bytewise sorted, at most `limit`. */
  listNames(prefix: string, start: string, limit: number): Promise<string[]>;

  /**
   * Keys whose state is not sealed yet (SQLite stores made before sealed states), with their plain
   * columns; empty for every other store.
   */
  legacyStates(): Promise<Array<{ name: string; legacy: LegacyState }>>;
  /** Writes the sealed states of legacyStates() in one transaction and marks the store upgraded. */
  completeUpgrade(states: Array<{ name: string; state: Buffer }>): Promise<void>;

  /** The cluster-wide seal epoch: every /v1/sys/seal advances it; a node unsealed at an older epoch seals. */
  sealEpoch(): Promise<number>;
  /** Advances the seal epoch (and tells watching nodes at once, where the store can); returns the new one. */
  advanceSealEpoch(): Promise<number>;
  /**
   * Pushes seal epochs as other nodes advance them, where the store can push (PostgreSQL's LISTEN);
   * returns a function that stops watching. Stores that cannot push never call `listener`: the
   * poll in SealWatch is then the only path.
   */
  watchSealEpoch(listener: (epoch: number) => void): () => void;

  /** Round-trip time of a trivial query, in microseconds; throws when the database does not answer. */
  ping(): Promise<number>;
  close(): Promise<void>;
}
