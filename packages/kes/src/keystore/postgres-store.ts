// The PostgreSQL keystore: several kes nodes over one database (see types.ts for the contract).
//
// Tables are prefixed kes_ so kes can share a database with the gateway's metadata. Versioned
// migrations run under a transaction-scoped advisory lock, so nodes starting at the same moment
// migrate one at a time. A bounded pool with connect and statement timeouts: a database that is
// down or too slow fails key operations with KeystoreUnavailable (503) instead of hanging them.
//
// The seal epoch lives in kes_meta. Advancing it NOTIFYs channel kes_seal in the same transaction
// (delivered at commit); every node LISTENs on a connection of its own and reconnects when it
// breaks (the seal watch polls meanwhile).
//
// Key state reads (one per key operation) are batched: requests that arrive while reads are out share the
// next query (batched-reads.ts), which keeps the cost of a GenerateKey near the SQLite keystore's.
//
// Delete removes the rows in one transaction and then VACUUMs both key tables, so the dead tuples'
// space is reclaimed promptly. That is not erasure of every copy: see the README ("Deleting a key on PostgreSQL").
import pg from 'pg';
import type { BarrierRecord } from '../barrier/barrier.js';
import { errors, KesError } from '../errors.js';
import { BatchedReads } from './batched-reads.js';
import { checkImport, toVersion, type RawVersion } from './rows.js';
import { KeystoreUnavailable, type DeleteResult, type KeyStore, type KeyVersionRow, type LegacyState, type StateRead } from './types.js';

export interface PostgresKeyStoreOptions {
  /** postgres://user:password@host:5432/database (never logged with its password). */
  url: string;
  /** Connections at most (default 10). */
  poolSize?: number;
  /** A connect or a statement taking longer fails with 503 (default 5000 ms). */
  timeoutMs?: number;
  /** How long the LISTEN connection waits before reconnecting after it broke (default 2000 ms). */
  listenReconnectMs?: number;
}

/** State reads out at once; requests arriving meanwhile share the next query (batched-reads.ts). */
const STATE_READS_IN_FLIGHT = 2;
const MIGRATION_LOCK = '7738049350437774642'; // 'kes-migr' as a bigint
const CHANNEL = 'kes_seal';

const STEPS = [
  `
  CREATE TABLE kes_meta (
    id               integer PRIMARY KEY CHECK (id = 1),
    wrapped_root_key bytea   NOT NULL,
    threshold        integer NOT NULL,
    shares           integer NOT NULL,
    initialized_at   text    NOT NULL,
    seal_epoch       bigint  NOT NULL DEFAULT 0
  );
  CREATE TABLE kes_key_state (
    name  text COLLATE "C" PRIMARY KEY,
    state bytea NOT NULL
  );
  CREATE TABLE kes_keys (
    name             text COLLATE "C" NOT NULL REFERENCES kes_key_state (name) ON DELETE CASCADE,
    version          integer NOT NULL,
    algorithm        text    NOT NULL,
    wrapped_key      bytea   NOT NULL,
    wrapped_hmac_key bytea   NOT NULL,
    created_at       text    NOT NULL,
    created_by       text    NOT NULL,
    PRIMARY KEY (name, version)
  );
  `,
];
const SCHEMA_VERSION = STEPS.length;

type Client = pg.PoolClient;
type KeyStateRow = NonNullable<StateRead['row']>;

export class PostgresKeyStore implements KeyStore {
  readonly description: string;
  readonly #url: string;
  readonly #pool: pg.Pool;
  readonly #timeoutMs: number;
  readonly #reconnectMs: number;
  readonly #secrets: string[];
  readonly #watchers = new Set<() => void>();
  readonly #stateReads = new BatchedReads<KeyStateRow>((names) => this.#readStates(names), STATE_READS_IN_FLIGHT);
  #closed = false;

  private constructor(options: PostgresKeyStoreOptions) {
    this.#url = options.url;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#reconnectMs = options.listenReconnectMs ?? 2_000;
    this.description = `PostgreSQL ${redactUrl(options.url)}`;
    this.#secrets = passwordForms(options.url);
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: this.#timeoutMs,
      statement_timeout: this.#timeoutMs,
      idle_in_transaction_session_timeout: this.#timeoutMs,
      query_timeout: this.#timeoutMs + 1_000,
      keepAlive: true,
      application_name: 'kes',
    });
    // A pooled connection that breaks while idle is dropped; the next statement opens a new one.
    this.#pool.on('error', () => undefined);
    this.#pool.on('connect', (client) => client.on('error', () => undefined));
  }

  /** Connects and migrates the schema (one node at a time). Throws KeystoreUnavailable when unreachable. */
  static async open(options: PostgresKeyStoreOptions): Promise<PostgresKeyStore> {
    assertPostgresUrl(options.url);
    const store = new PostgresKeyStore(options);
    try {
      await store.#transaction(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        await c.query(
          'CREATE TABLE IF NOT EXISTS kes_schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
        );
        const { rows } = await c.query<{ version: number | null }>('SELECT max(version) AS version FROM kes_schema_migrations');
        const current = rows[0]?.version ?? 0;
        if (current > SCHEMA_VERSION) {
          throw new Error(
            `the kes keystore in ${store.description} has schema version ${current}; this kes knows ${SCHEMA_VERSION} (a newer kes migrated it)`,
          );
        }
        for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
          await c.query(STEPS[v - 1]!);
          await c.query('INSERT INTO kes_schema_migrations (version) VALUES ($1)', [v]);
        }
      });
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }

  async loadBarrier(): Promise<BarrierRecord | undefined> {
    const rows = await this.#query<{ wrapped_root_key: Buffer; threshold: number; shares: number; initialized_at: string }>(
      'kes-load-meta',
      'SELECT wrapped_root_key, threshold, shares, initialized_at FROM kes_meta WHERE id = 1',
    );
    const row = rows[0];
    return row && { wrappedRootKey: row.wrapped_root_key, threshold: row.threshold, shares: row.shares, initializedAt: row.initialized_at };
  }

  /** INSERT … ON CONFLICT DO NOTHING: of two nodes initializing at once, exactly one wins. */
  async saveBarrier(r: BarrierRecord): Promise<void> {
    const { rowCount } = await this.#run((c) =>
      c.query(
        'INSERT INTO kes_meta (id, wrapped_root_key, threshold, shares, initialized_at) VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO NOTHING',
        [r.wrappedRootKey, r.threshold, r.shares, r.initializedAt],
      ),
    );
    if (rowCount === 0) throw errors.alreadyInitialized();
  }

  async readState(name: string): Promise<StateRead> {
    if (this.#closed) throw new Error(`${this.description} is closed`);
    return this.#stateReads.read(name);
  }

  /** The states of `names` (those that exist) and the seal epoch, in one statement. */
  async #readStates(names: string[]): Promise<{ rows: Map<string, KeyStateRow>; sealEpoch: number }> {
    const rows = await this.#query<{ name: string | null; state: Buffer | null; epoch: string | null }>(
      'kes-read-states',
      'SELECT s.name, s.state, (SELECT seal_epoch FROM kes_meta WHERE id = 1) AS epoch FROM (SELECT 1) AS one LEFT JOIN kes_key_state s ON s.name = ANY($1::text[])',
      [names],
    );
    const found = new Map<string, KeyStateRow>();
    for (const r of rows) if (r.name !== null) found.set(r.name, { name: r.name, state: r.state });
    return { rows: found, sealEpoch: Number(rows[0]?.epoch ?? 0) };
  }

  async getVersions(name: string): Promise<KeyVersionRow[]> {
    const rows = await this.#query<RawVersion>(
      'kes-versions',
      'SELECT name, version, algorithm, wrapped_key, wrapped_hmac_key, created_at, created_by FROM kes_keys WHERE name = $1 ORDER BY version',
      [name],
    );
    return rows.map(toVersion);
  }

  async createKey(name: string, state: Buffer, first: KeyVersionRow): Promise<void> {
    await this.#transaction(async (c) => {
      const { rowCount } = await c.query('INSERT INTO kes_key_state (name, state) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
        name,
        state,
      ]);
      if (rowCount === 0) throw errors.keyExists();
      await insertVersion(c, first);
    });
  }

  async addVersion(name: string, expected: Buffer | null, state: Buffer, row: KeyVersionRow): Promise<boolean> {
    return this.#transaction(async (c) => {
      if (!(await swapState(c, name, expected, state))) return false;
      const { rowCount } = await c.query(
        'INSERT INTO kes_keys (name, version, algorithm, wrapped_key, wrapped_hmac_key, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING',
        versionValues(row),
      );
      if (rowCount === 0) throw new Conflict();
      return true;
    }).catch((e: unknown) => {
      if (e instanceof Conflict) return false;
      throw e;
    });
  }

  async updateState(name: string, expected: Buffer | null, state: Buffer): Promise<boolean> {
    return this.#run((c) => swapState(c, name, expected, state));
  }

  async importKey(name: string, state: Buffer, versions: KeyVersionRow[], replace: boolean): Promise<boolean> {
    checkImport(name, versions);
    const replaced = await this.#transaction(async (c) => {
      const { rowCount } = await c.query('SELECT 1 FROM kes_key_state WHERE name = $1 FOR UPDATE', [name]);
      const exists = (rowCount ?? 0) > 0;
      if (exists && !replace) throw errors.keyExists();
      if (exists) await c.query('DELETE FROM kes_key_state WHERE name = $1', [name]);
      await c.query('INSERT INTO kes_key_state (name, state) VALUES ($1, $2)', [name, state]);
      for (const v of versions) await insertVersion(c, v);
      return exists;
    });
    if (replaced) await this.#vacuum();
    return replaced;
  }

  async deleteKey(name: string): Promise<DeleteResult> {
    const removed = await this.#transaction(async (c) => {
      await c.query('DELETE FROM kes_keys WHERE name = $1', [name]);
      const { rowCount } = await c.query('DELETE FROM kes_key_state WHERE name = $1', [name]);
      return (rowCount ?? 0) > 0;
    });
    return { removed, erased: removed ? await this.#vacuum() : true };
  }

  async listNames(prefix: string, start: string, limit: number): Promise<string[]> {
    const from = start > prefix ? start : prefix;
    const rows = await this.#query<{ name: string }>(
      'kes-list',
      'SELECT name FROM kes_key_state WHERE name >= $1 AND name < $2 ORDER BY name LIMIT $3',
      [from, prefix + '~', Math.min(limit, 2 ** 31 - 1)],
    );
    return rows.map((r) => r.name);
  }

  /** Every PostgreSQL keystore was made with sealed states. */
  async legacyStates(): Promise<Array<{ name: string; legacy: LegacyState }>> {
    return [];
  }

  async completeUpgrade(): Promise<void> {}

  async sealEpoch(): Promise<number> {
    const rows = await this.#query<{ seal_epoch: string }>('kes-epoch', 'SELECT seal_epoch FROM kes_meta WHERE id = 1');
    return Number(rows[0]?.seal_epoch ?? 0);
  }

  async advanceSealEpoch(): Promise<number> {
    return this.#transaction(async (c) => {
      const { rows } = await c.query<{ seal_epoch: string }>(
        'UPDATE kes_meta SET seal_epoch = seal_epoch + 1 WHERE id = 1 RETURNING seal_epoch',
      );
      const epoch = rows[0]?.seal_epoch;
      if (epoch === undefined) return 0;
      await c.query('SELECT pg_notify($1, $2)', [CHANNEL, epoch]);
      return Number(epoch);
    });
  }

  watchSealEpoch(listener: (epoch: number) => void): () => void {
    let stopped = false;
    let client: pg.Client | undefined;
    let timer: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      if (stopped || this.#closed) return;
      const c = new pg.Client({
        connectionString: this.#url,
        application_name: 'kes-seal-listener',
        connectionTimeoutMillis: this.#timeoutMs,
        keepAlive: true,
      });
      client = c;
      let retried = false;
      const retry = () => {
        if (retried) return;
        retried = true;
        c.end().catch(() => undefined);
        if (client === c) client = undefined;
        if (!stopped && !this.#closed) timer = setTimeout(() => void connect(), this.#reconnectMs);
      };
      c.on('error', retry);
      c.on('end', retry);
      c.on('notification', (n) => {
        const epoch = Number(n.payload);
        if (n.channel === CHANNEL && Number.isFinite(epoch)) listener(epoch);
      });
      try {
        await c.connect();
        await c.query(`LISTEN ${CHANNEL}`);
        // A seal NOTIFYed while this connection was down is not replayed: read the epoch now.
        const { rows } = await c.query<{ seal_epoch: string }>('SELECT seal_epoch FROM kes_meta WHERE id = 1');
        if (rows[0]) listener(Number(rows[0].seal_epoch));
      } catch {
        retry();
      }
    };
    void connect();
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      client?.end().catch(() => undefined);
      this.#watchers.delete(stop);
    };
    this.#watchers.add(stop);
    return stop;
  }

  async ping(): Promise<number> {
    const t = process.hrtime.bigint();
    await this.#query('kes-ping', 'SELECT 1');
    return Number((process.hrtime.bigint() - t) / 1000n);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const stop of [...this.#watchers]) stop();
    await this.#pool.end();
  }

  /** VACUUM cannot run in a transaction; a failure leaves the dead tuples to autovacuum (logged above). */
  async #vacuum(): Promise<boolean> {
    try {
      await this.#run((c) => c.query('VACUUM kes_keys, kes_key_state'));
      return true;
    } catch {
      return false;
    }
  }

  /** One named (server-side prepared) statement on a pooled connection. */
  async #query<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[] = []): Promise<R[]> {
    if (this.#closed) throw new Error(`${this.description} is closed`);
    try {
      return (await this.#pool.query<R>({ name, text, values })).rows;
    } catch (e) {
      throw this.#failure(e);
    }
  }

  async #run<T>(work: (c: Client) => Promise<T>): Promise<T> {
    if (this.#closed) throw new Error(`${this.description} is closed`);
    let client: Client;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw this.#failure(e);
    }
    try {
      const result = await work(client);
      client.release();
      return result;
    } catch (e) {
      // A connection that failed underneath (not a statement the server refused) is not reused.
      client.release(!(e instanceof pg.DatabaseError) && !(e instanceof KesError) && !(e instanceof Conflict));
      throw this.#failure(e);
    }
  }

  async #transaction<T>(work: (c: Client) => Promise<T>): Promise<T> {
    return this.#run(async (c) => {
      await c.query('BEGIN');
      try {
        const result = await work(c);
        await c.query('COMMIT');
        return result;
      } catch (e) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  /**
   * A driver error as kes understands it: the database unreachable, down, too slow or out of
   * connections → KeystoreUnavailable (503); kes's own errors unchanged; anything else (a bug, a
   * constraint) as a plain error (502). Messages never carry the URL's password.
   */
  #failure(e: unknown): Error {
    if (e instanceof KesError || e instanceof Conflict || e instanceof KeystoreUnavailable) return e;
    let message = e instanceof Error ? e.message : String(e);
    for (const s of this.#secrets) message = message.split(s).join('***');
    if (e instanceof pg.DatabaseError) {
      const code = e.code ?? '';
      if (/^(08|53|57|58|28)/.test(code) || code === '3D000' || code === '25P03')
        return new KeystoreUnavailable(`${this.description}: ${message}`);
      const clean = new Error(message);
      return Object.assign(clean, { code });
    }
    return new KeystoreUnavailable(`${this.description}: ${message}`);
  }
}

/** Another writer added the version first: the transaction rolls back and the caller reads again. */
class Conflict extends Error {}

/** Compare-and-swap of a key's state; false when it changed, keyNotFound when the key is gone. */
async function swapState(c: Client, name: string, expected: Buffer | null, state: Buffer): Promise<boolean> {
  const { rowCount } = await c.query('UPDATE kes_key_state SET state = $3 WHERE name = $1 AND state = $2', [name, expected, state]);
  if ((rowCount ?? 0) > 0) return true;
  const exists = await c.query('SELECT 1 FROM kes_key_state WHERE name = $1', [name]);
  if ((exists.rowCount ?? 0) === 0) throw errors.keyNotFound();
  return false;
}

function versionValues(r: KeyVersionRow): unknown[] {
  return [r.name, r.version, r.algorithm, r.wrappedKey, r.wrappedHmacKey, r.createdAt, r.createdBy];
}

async function insertVersion(c: Client, r: KeyVersionRow): Promise<void> {
  await c.query(
    'INSERT INTO kes_keys (name, version, algorithm, wrapped_key, wrapped_hmac_key, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    versionValues(r),
  );
}

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

function assertPostgresUrl(url: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new Error('keystore.postgres.url is not a URL (expected postgres://user:password@host:5432/database)');
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:')
    throw new Error(`keystore.postgres.url must start with postgres:// (it starts with ${protocol}//)`);
}

function passwordForms(url: string): string[] {
  try {
    const raw = new URL(url).password;
    if (raw === '') return [];
    return [...new Set([raw, decodeURIComponent(raw)])];
  } catch {
    return [];
  }
}
