// The SQLite keystore: rows of wrapped keys and sealed key states, nothing else (see types.ts). It
// never sees a plaintext key; the keyring wraps and seals before it writes and checks after it reads.
//
// Durability and erasure: WAL + synchronous=FULL (a committed create survives power loss; a crash
// mid-transaction leaves no trace), secure_delete=ON (deleted cells are overwritten with zeros),
// and after a delete the WAL is checkpointed and truncated so old page images leave it too.
//
// Schema versions (PRAGMA user_version): 1 kept each key's state (sealed, latest and minimum
// decryption version) in plain columns that anyone with write access to the file could change.
// 2 keeps it as one blob sealed under the root key (key-state.ts). A version 1 file opens as it is
// (its states read as null); at the first unseal the keyring seals the plain columns' values and
// completeUpgrade() rebuilds the table in one transaction and sets version 2.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BarrierRecord } from '../barrier/barrier.js';
import { errors } from '../errors.js';
import type { DeleteResult, KeyStore, KeyVersionRow, LegacyState, StateRead } from './types.js';
import { checkImport, toVersion, type RawVersion } from './rows.js';

const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (
  id               INTEGER PRIMARY KEY CHECK (id = 1),
  wrapped_root_key BLOB    NOT NULL,
  threshold        INTEGER NOT NULL,
  shares           INTEGER NOT NULL,
  initialized_at   TEXT    NOT NULL,
  seal_epoch       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS key_state (
  name  TEXT PRIMARY KEY,
  state BLOB NOT NULL
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

// Version 2's key_state, built beside version 1's and swapped in (SQLite's documented way to change a
// table's columns: foreign keys off around the transaction, checked before it commits).
const UPGRADE_TABLE = `
CREATE TABLE key_state_v2 (
  name  TEXT PRIMARY KEY,
  state BLOB NOT NULL
) WITHOUT ROWID;
`;

export class SqliteKeyStore implements KeyStore {
  readonly path: string;
  readonly description: string;
  readonly #db: Database.Database;
  #schema: number;
  #stmt: ReturnType<typeof prepareStatements>;

  constructor(path: string) {
    this.path = path;
    this.description = `SQLite ${path}`;
    mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('secure_delete = ON');
    this.#db.pragma('foreign_keys = ON');
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version === 0) {
      this.#db.exec(SCHEMA);
      this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } else if (version === 1) {
      // Additive and harmless to an older kes reading the file: the seal epoch.
      const columns = this.#db.prepare("SELECT name FROM pragma_table_info('meta')").pluck().all() as string[];
      if (!columns.includes('seal_epoch')) this.#db.exec('ALTER TABLE meta ADD COLUMN seal_epoch INTEGER NOT NULL DEFAULT 0');
    } else if (version !== SCHEMA_VERSION) {
      this.#db.close();
      throw new Error(
        `keystore ${path} has schema version ${version}; this kes understands 1 and ${SCHEMA_VERSION} (a newer kes wrote it)`,
      );
    }
    this.#schema = version === 0 ? SCHEMA_VERSION : version;
    this.#stmt = prepareStatements(this.#db, this.#schema);
  }

  /** The schema version of the file (1 until the first unseal upgrades it). */
  get schemaVersion(): number {
    return this.#schema;
  }

  async loadBarrier(): Promise<BarrierRecord | undefined> {
    const row = this.#stmt.loadMeta.get() as
      { wrapped_root_key: Buffer; threshold: number; shares: number; initialized_at: string } | undefined;
    if (!row) return undefined;
    return { wrappedRootKey: row.wrapped_root_key, threshold: row.threshold, shares: row.shares, initializedAt: row.initialized_at };
  }

  async saveBarrier(r: BarrierRecord): Promise<void> {
    try {
      this.#stmt.insertMeta.run(r.wrappedRootKey, r.threshold, r.shares, r.initializedAt);
    } catch (e) {
      if (isConstraint(e)) throw errors.alreadyInitialized();
      throw e;
    }
  }

  async readState(name: string): Promise<StateRead> {
    // One statement, as on PostgreSQL; no meta row (not initialized) means no keys either.
    const r = this.#stmt.readState.get(name) as { name: string | null; state: Buffer | null; epoch: number } | undefined;
    return { row: r?.name ? { name: r.name, state: r.state } : undefined, sealEpoch: r?.epoch ?? 0 };
  }

  async getVersions(name: string): Promise<KeyVersionRow[]> {
    return (this.#stmt.versions.all(name) as RawVersion[]).map(toVersion);
  }

  async createKey(name: string, state: Buffer, first: KeyVersionRow): Promise<void> {
    this.#db.transaction(() => {
      if (this.#stmt.stateOf.get(name)) throw errors.keyExists();
      this.#stmt.insertState.run(name, state);
      this.#insertVersion(first);
    })();
  }

  async addVersion(name: string, expected: Buffer | null, state: Buffer, row: KeyVersionRow): Promise<boolean> {
    return this.#db.transaction(() => {
      const current = this.#stmt.stateOf.get(name) as { state: Buffer | null } | undefined;
      if (!current) throw errors.keyNotFound();
      if (!sameState(current.state, expected)) return false;
      if (this.#stmt.versionExists.get(name, row.version)) return false;
      this.#insertVersion(row);
      this.#stmt.setState.run(state, name);
      return true;
    })();
  }

  async updateState(name: string, expected: Buffer | null, state: Buffer): Promise<boolean> {
    return this.#db.transaction(() => {
      const current = this.#stmt.stateOf.get(name) as { state: Buffer | null } | undefined;
      if (!current) throw errors.keyNotFound();
      if (!sameState(current.state, expected)) return false;
      this.#stmt.setState.run(state, name);
      return true;
    })();
  }

  async importKey(name: string, state: Buffer, versions: KeyVersionRow[], replace: boolean): Promise<boolean> {
    checkImport(name, versions);
    const replaced = this.#db.transaction(() => {
      const exists = this.#stmt.stateOf.get(name) !== undefined;
      if (exists && !replace) throw errors.keyExists();
      if (exists) this.#erase(name);
      this.#stmt.insertState.run(name, state);
      for (const v of versions) this.#insertVersion(v);
      return exists;
    })();
    if (replaced) this.truncateWal();
    return replaced;
  }

  /**
   * Removes every version and the state in one transaction, then truncates the WAL (below).
   * `erased` false means the delete committed but the WAL still holds old page images.
   */
  async deleteKey(name: string): Promise<DeleteResult> {
    const removed = this.#db.transaction(() => this.#erase(name))();
    return { removed, erased: removed ? this.truncateWal() : true };
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

  /** Key names use only [0-9A-Za-z_-], all below '~', so prefix + '~' bounds the range. */
  async listNames(prefix: string, start: string, limit: number): Promise<string[]> {
    const from = start > prefix ? start : prefix;
    return (this.#stmt.list.all(from, prefix + '~', limit) as Array<{ name: string }>).map((r) => r.name);
  }

  async legacyStates(): Promise<Array<{ name: string; legacy: LegacyState }>> {
    if (this.#schema !== 1) return [];
    const rows = this.#db
      .prepare('SELECT name, sealed, min_decryption_version, latest_version FROM key_state ORDER BY name')
      .all() as Array<{
      name: string;
      sealed: number;
      min_decryption_version: number;
      latest_version: number;
    }>;
    return rows.map((r) => ({
      name: r.name,
      legacy: { sealed: r.sealed !== 0, minDecryptionVersion: r.min_decryption_version, latestVersion: r.latest_version },
    }));
  }

  async completeUpgrade(states: Array<{ name: string; state: Buffer }>): Promise<void> {
    if (this.#schema !== 1) return;
    this.#db.pragma('foreign_keys = OFF');
    try {
      this.#db.transaction(() => {
        const names = this.#db.prepare('SELECT name FROM key_state ORDER BY name').pluck().all() as string[];
        const given = new Map(states.map((s) => [s.name, s.state]));
        // A key created by another process between legacyStates() and now would be lost: refuse instead.
        const missing = names.filter((n) => !given.has(n));
        if (missing.length)
          throw new Error(`keystore upgrade: no sealed state for ${missing.slice(0, 5).join(', ')}; unseal again to retry`);
        this.#db.exec(UPGRADE_TABLE);
        const insert = this.#db.prepare('INSERT INTO key_state_v2 (name, state) VALUES (?, ?)');
        for (const n of names) insert.run(n, given.get(n));
        this.#db.exec('DROP TABLE key_state; ALTER TABLE key_state_v2 RENAME TO key_state;');
        const broken = this.#db.pragma('foreign_key_check') as unknown[];
        if (broken.length) throw new Error(`keystore upgrade: ${broken.length} key version(s) without a key; nothing was changed`);
        this.#db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    } finally {
      this.#db.pragma('foreign_keys = ON');
    }
    this.#schema = SCHEMA_VERSION;
    this.#stmt = prepareStatements(this.#db, this.#schema);
    // The old table's pages (plain states) are zeroed by secure_delete; push them out of the WAL too.
    this.truncateWal();
  }

  async sealEpoch(): Promise<number> {
    return this.#epoch();
  }

  async advanceSealEpoch(): Promise<number> {
    return this.#db.transaction(() => {
      this.#stmt.advanceEpoch.run();
      return this.#epoch();
    })();
  }

  /** SQLite cannot push: the seal watch's poll reads the epoch (a local file read, cheap). */
  watchSealEpoch(): () => void {
    return () => {};
  }

  async ping(): Promise<number> {
    const t = process.hrtime.bigint();
    this.#stmt.ping.get();
    return Number((process.hrtime.bigint() - t) / 1000n);
  }

  /** A consistent copy through SQLite's online backup; the copy stays sealed under the same shares. */
  async backup(destination: string): Promise<void> {
    await this.#db.backup(destination);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #epoch(): number {
    return (this.#stmt.epoch.get() as number | undefined) ?? 0;
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

function sameState(current: Buffer | null, expected: Buffer | null): boolean {
  return current === null || expected === null ? current === expected : current.equals(expected);
}

const notUpgraded = {
  run(): never {
    throw new Error('the keystore has schema version 1 and is upgraded at the first unseal; it takes no writes before that');
  },
};

function prepareStatements(db: Database.Database, schema: number) {
  // A version 1 file has no state column: its states read as null until the upgrade.
  const stateColumn = schema === 1 ? 'NULL AS state' : 'state';
  return {
    loadMeta: db.prepare('SELECT wrapped_root_key, threshold, shares, initialized_at FROM meta WHERE id = 1'),
    insertMeta: db.prepare('INSERT INTO meta (id, wrapped_root_key, threshold, shares, initialized_at) VALUES (1, ?, ?, ?, ?)'),
    readState: db.prepare(
      `SELECT s.name, ${schema === 1 ? 'NULL AS state' : 's.state'}, m.seal_epoch AS epoch FROM meta m LEFT JOIN key_state s ON s.name = ? WHERE m.id = 1`,
    ),
    stateOf: db.prepare(`SELECT ${stateColumn} FROM key_state WHERE name = ?`),
    // Version 1's table has no state column to write: writes wait for the upgrade (the first unseal).
    insertState: schema === 1 ? notUpgraded : db.prepare('INSERT INTO key_state (name, state) VALUES (?, ?)'),
    setState: schema === 1 ? notUpgraded : db.prepare('UPDATE key_state SET state = ? WHERE name = ?'),
    versions: db.prepare(
      'SELECT name, version, algorithm, wrapped_key, wrapped_hmac_key, created_at, created_by FROM keys WHERE name = ? ORDER BY version',
    ),
    versionExists: db.prepare('SELECT 1 FROM keys WHERE name = ? AND version = ?'),
    insertVersion: db.prepare(
      'INSERT INTO keys (name, version, algorithm, wrapped_key, wrapped_hmac_key, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    deleteVersions: db.prepare('DELETE FROM keys WHERE name = ?'),
    deleteState: db.prepare('DELETE FROM key_state WHERE name = ?'),
    list: db.prepare('SELECT name FROM key_state WHERE name >= ? AND name < ? ORDER BY name LIMIT ?'),
    epoch: db.prepare('SELECT seal_epoch FROM meta WHERE id = 1').pluck(),
    advanceEpoch: db.prepare('UPDATE meta SET seal_epoch = seal_epoch + 1 WHERE id = 1'),
    ping: db.prepare('SELECT 1'),
  };
}

function isConstraint(e: unknown): boolean {
  return typeof e === 'object' && e !== null && String((e as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}
