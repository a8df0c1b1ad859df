// The SQLite keystore: rows of wrapped keys, nothing else. It never sees a plaintext key; the
// keyring wraps before it writes and unwraps after it reads.
//
// Durability and erasure: WAL + synchronous=FULL (a committed create survives power loss; a crash
// mid-transaction leaves no trace), secure_delete=ON (deleted cells are overwritten with zeros),
// and after a delete the WAL is checkpointed and truncated so old page images leave it too.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BarrierRecord, BarrierStorage } from '../barrier/barrier.js';
import type { Cipher } from '../crypto/ciphertext.js';
import { errors } from '../errors.js';

export interface KeyVersionRow {
  name: string;
  version: number;
  algorithm: Cipher;
  wrappedKey: Buffer;
  wrappedHmacKey: Buffer;
  createdAt: string;
  createdBy: string;
}

export interface KeyStateRow {
  name: string;
  sealed: boolean;
  minDecryptionVersion: number;
  latestVersion: number;
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  id               INTEGER PRIMARY KEY CHECK (id = 1),
  wrapped_root_key BLOB    NOT NULL,
  threshold        INTEGER NOT NULL,
  shares           INTEGER NOT NULL,
  initialized_at   TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS key_state (
  name                   TEXT    PRIMARY KEY,
  sealed                 INTEGER NOT NULL DEFAULT 0,
  min_decryption_version INTEGER NOT NULL DEFAULT 1,
  latest_version         INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys (
  name             TEXT    NOT NULL REFERENCES key_state(name) ON DELETE CASCADE,
  version          INTEGER NOT NULL,
  algorithm        TEXT    NOT NULL,
  wrapped_key      BLOB    NOT NULL,
  wrapped_hmac_key BLOB    NOT NULL,
  created_at       TEXT    NOT NULL,
  created_by       TEXT    NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
`;

interface RawVersion {
  name: string;
  version: number;
  algorithm: string;
  wrapped_key: Buffer;
  wrapped_hmac_key: Buffer;
  created_at: string;
  created_by: string;
}

interface RawState {
  name: string;
  sealed: number;
  min_decryption_version: number;
  latest_version: number;
}

export class KeyStore implements BarrierStorage {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #stmt: ReturnType<typeof prepareStatements>;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('secure_delete = ON');
    this.#db.pragma('foreign_keys = ON');
    this.#db.exec(SCHEMA);
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version === 0) this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
    else if (version !== SCHEMA_VERSION) {
      this.#db.close();
      throw new Error(`keystore ${path} has schema version ${version}; this kes understands ${SCHEMA_VERSION}`);
    }
    this.#stmt = prepareStatements(this.#db);
  }

  loadBarrier(): BarrierRecord | undefined {
    const row = this.#stmt.loadMeta.get() as
      | { wrapped_root_key: Buffer; threshold: number; shares: number; initialized_at: string }
      | undefined;
    if (!row) return undefined;
    return { wrappedRootKey: row.wrapped_root_key, threshold: row.threshold, shares: row.shares, initializedAt: row.initialized_at };
  }

  saveBarrier(r: BarrierRecord): void {
    try {
      this.#stmt.insertMeta.run(r.wrappedRootKey, r.threshold, r.shares, r.initializedAt);
    } catch (e) {
      if (isConstraint(e)) throw errors.alreadyInitialized();
      throw e;
    }
  }

  getState(name: string): KeyStateRow | undefined {
    const row = this.#stmt.getState.get(name) as RawState | undefined;
    return row && toState(row);
  }

  getVersions(name: string): KeyVersionRow[] {
    return (this.#stmt.versions.all(name) as RawVersion[]).map(toVersion);
  }

  /** One transaction: the key's state row and its version 1. Throws keyExists. */
  createKey(first: KeyVersionRow): void {
    this.#db.transaction(() => {
      if (this.#stmt.getState.get(first.name)) throw errors.keyExists();
      this.#stmt.insertState.run(first.name, first.version);
      this.#insertVersion(first);
    })();
  }

  /** One transaction: the next version (made by `build`) and the new latest_version. */
  addVersion(name: string, build: (version: number) => KeyVersionRow): KeyVersionRow {
    return this.#db.transaction(() => {
      const state = this.#stmt.getState.get(name) as RawState | undefined;
      if (!state) throw errors.keyNotFound();
      const row = build(state.latest_version + 1);
      this.#insertVersion(row);
      this.#stmt.setLatest.run(row.version, name);
      return row;
    })();
  }

  /**
   * A whole key from elsewhere (an export bundle) in one transaction: its state and every version, 1..N in
   * order. An existing key of that name is refused (keyExists), or with `replace` erased in the same
   * transaction (then the WAL is truncated, as for deleteKey). A crash or an error leaves the store as it was.
   * Returns whether a key was replaced.
   */
  importKey(state: Omit<KeyStateRow, 'latestVersion'>, versions: KeyVersionRow[], replace: boolean): boolean {
    versions.forEach((v, i) => {
      if (v.name !== state.name || v.version !== i + 1) throw new Error(`key ${state.name}: version ${i + 1} expected, got ${v.name} v${v.version}`);
    });
    if (versions.length === 0) throw new Error(`key ${state.name} has no versions`);
    const replaced = this.#db.transaction(() => {
      const exists = this.#stmt.getState.get(state.name) !== undefined;
      if (exists && !replace) throw errors.keyExists();
      if (exists) this.#erase(state.name);
      this.#stmt.insertFullState.run(state.name, state.sealed ? 1 : 0, state.minDecryptionVersion, versions.length);
      for (const v of versions) this.#insertVersion(v);
      return exists;
    })();
    if (replaced) this.truncateWal();
    return replaced;
  }

  setSealed(name: string, sealed: boolean): boolean {
    return this.#stmt.setSealed.run(sealed ? 1 : 0, name).changes > 0;
  }

  setMinDecryptionVersion(name: string, version: number): boolean {
    return this.#stmt.setMin.run(version, name).changes > 0;
  }

  /**
   * Removes every version and the state in one transaction, then truncates the WAL (below).
   * `walTruncated` false means the delete committed but the WAL still holds old page images.
   */
  deleteKey(name: string): { removed: boolean; walTruncated: boolean } {
    const removed = this.#db.transaction(() => this.#erase(name))();
    return { removed, walTruncated: removed ? this.truncateWal() : true };
  }

  /**
   * Checkpoints the WAL into the database file and truncates it to zero bytes, so page images
   * of deleted rows leave the WAL. Returns false when another connection kept it busy (after
   * SQLite's busy timeout); the next successful truncation removes them.
   */
  truncateWal(): boolean {
    const [result] = this.#db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    return result !== undefined && result.busy === 0;
  }

  /**
   * Names starting with `prefix`, from `start` (inclusive), sorted bytewise, at most `limit`.
   * Key names use only [0-9A-Za-z_-], all below '~', so prefix + '~' bounds the range.
   */
  listNames(prefix: string, start: string, limit: number): string[] {
    const from = start > prefix ? start : prefix;
    return (this.#stmt.list.all(from, prefix + '~', limit) as Array<{ name: string }>).map((r) => r.name);
  }

  /**
   * SQLite's data_version: it changes whenever another connection (another process such as the
   * CLI's import) commits to the file, and never for this connection's own commits.
   */
  externalVersion(): number {
    return this.#stmt.dataVersion.get() as number;
  }

  /** Round-trip time of a trivial query, in microseconds. */
  ping(): number {
    const t = process.hrtime.bigint();
    this.#stmt.ping.get();
    return Number((process.hrtime.bigint() - t) / 1000n);
  }

  /** A consistent copy through SQLite's online backup; the copy stays sealed under the same shares. */
  async backup(destination: string): Promise<void> {
    await this.#db.backup(destination);
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  /** Every version and the state of `name` (inside the caller's transaction); whether there was a key. */
  #erase(name: string): boolean {
    this.#stmt.deleteVersions.run(name);
    return this.#stmt.deleteState.run(name).changes > 0;
  }

  #insertVersion(r: KeyVersionRow): void {
    this.#stmt.insertVersion.run(r.name, r.version, r.algorithm, r.wrappedKey, r.wrappedHmacKey, r.createdAt, r.createdBy);
  }
}

function prepareStatements(db: Database.Database) {
  return {
    loadMeta: db.prepare('SELECT wrapped_root_key, threshold, shares, initialized_at FROM meta WHERE id = 1'),
    insertMeta: db.prepare('INSERT INTO meta (id, wrapped_root_key, threshold, shares, initialized_at) VALUES (1, ?, ?, ?, ?)'),
    getState: db.prepare('SELECT name, sealed, min_decryption_version, latest_version FROM key_state WHERE name = ?'),
    insertState: db.prepare('INSERT INTO key_state (name, sealed, min_decryption_version, latest_version) VALUES (?, 0, 1, ?)'),
    insertFullState: db.prepare('INSERT INTO key_state (name, sealed, min_decryption_version, latest_version) VALUES (?, ?, ?, ?)'),
    setLatest: db.prepare('UPDATE key_state SET latest_version = ? WHERE name = ?'),
    setSealed: db.prepare('UPDATE key_state SET sealed = ? WHERE name = ?'),
    setMin: db.prepare('UPDATE key_state SET min_decryption_version = ? WHERE name = ?'),
    versions: db.prepare('SELECT name, version, algorithm, wrapped_key, wrapped_hmac_key, created_at, created_by FROM keys WHERE name = ? ORDER BY version'),
    insertVersion: db.prepare('INSERT INTO keys (name, version, algorithm, wrapped_key, wrapped_hmac_key, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    deleteVersions: db.prepare('DELETE FROM keys WHERE name = ?'),
    deleteState: db.prepare('DELETE FROM key_state WHERE name = ?'),
    list: db.prepare('SELECT name FROM key_state WHERE name >= ? AND name < ? ORDER BY name LIMIT ?'),
    ping: db.prepare('SELECT 1'),
    dataVersion: db.prepare('PRAGMA data_version').pluck(),
  };
}

function toState(r: RawState): KeyStateRow {
  return { name: r.name, sealed: r.sealed !== 0, minDecryptionVersion: r.min_decryption_version, latestVersion: r.latest_version };
}

function toVersion(r: RawVersion): KeyVersionRow {
  if (r.algorithm !== 'AES256' && r.algorithm !== 'ChaCha20') throw new Error(`keystore holds an unknown algorithm '${r.algorithm}' for key '${r.name}'`);
  return {
    name: r.name,
    version: r.version,
    algorithm: r.algorithm,
    wrappedKey: r.wrapped_key,
    wrappedHmacKey: r.wrapped_hmac_key,
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}

function isConstraint(e: unknown): boolean {
  return typeof e === 'object' && e !== null && String((e as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}
