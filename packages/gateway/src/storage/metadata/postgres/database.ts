// The connection pool of the PostgreSQL metadata store and how it runs statements: bounded pool,
// statement and connect timeouts, transactions retried on the failures concurrency causes, and every
// failure of the database itself turned into BackendUnavailable (503) with nothing committed.
//
// Driver: `pg` (node-postgres): the most used and well kept PostgreSQL client for Node, plain SQL with
// parameters, a pool with bounded size and connect timeouts, server-side statement timeouts.
import pg from 'pg';
import { BackendUnavailable } from '../../errors.js';

export interface PostgresMetadataOptions {
  /** postgres://user:password@host:5432/database (never logged with its password). */
  url: string;
  /** Connections at most; default 10. */
  poolSize?: number;
  /** A statement (and a connect) taking longer fails with 503; default 10 000 ms. */
  statementTimeoutMs?: number;
}

const WHAT = 'the metadata database';
/** Attempts of one transaction that lost a race (see RETRYABLE) before giving up. */
const MAX_ATTEMPTS = 6;

/**
 * Failures that mean "another transaction got there first": serialisation failure, deadlock, a unique
 * or foreign key violation by a row committed after this transaction read. Run again, the transaction
 * reads the new state (and the S3 rule callbacks decide on it).
 */
const RETRYABLE = new Set(['40001', '40P01', '23505', '23503']);

const INT8 = 20;
const NUMERIC = 1700;
// bigint columns and sums come back as strings by default; every one of ours (sizes, counts,
// milliseconds) is an integer below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 || oid === NUMERIC ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** A statement of the database failed (as opposed to an S3 rule callback throwing). */
class StatementFailed extends Error {
  constructor(readonly original: unknown) {
    super('statement failed');
  }
}

export interface Tx {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** The least time a new connection is given (ms), whatever the statement limit. */
const CONNECT_TIMEOUT_MS = 10_000;

export class PostgresDatabase {
  private readonly pool: pg.Pool;
  private readonly secrets: string[];
  private closed = false;

  constructor(options: PostgresMetadataOptions) {
    const timeout = options.statementTimeoutMs ?? 10_000;
    const size = options.poolSize ?? 10;
    if (!Number.isInteger(size) || size < 1) throw new TypeError(`poolSize must be a positive integer (got ${size})`);
    if (!Number.isInteger(timeout) || timeout < 1) {
      throw new TypeError(`statementTimeoutMs must be a positive integer (got ${timeout})`);
    }
    assertPostgresUrl(options.url);
    this.secrets = passwordForms(options.url);
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: size,
      // Opening a connection costs the server a process and an authentication; on a busy host that alone can take
      // longer than a short statement limit, so a new connection gets at least CONNECT_TIMEOUT_MS.
      connectionTimeoutMillis: Math.max(timeout, CONNECT_TIMEOUT_MS),
      // Server side: a statement (a lock wait included) longer than this is cancelled; a transaction
      // left open by a gateway that vanished is ended. Client side: a server that stopped answering.
      statement_timeout: timeout,
      idle_in_transaction_session_timeout: timeout,
      query_timeout: timeout + 2_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      application_name: 'kesgate',
      types,
    });
    // An idle connection that breaks (the server restarted) is dropped by the pool, and the next
    // request opens a new one; without a listener the 'error' event would end the process. The same
    // for a connection that breaks while checked out between two statements: the next statement fails.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  /** A URL to show in logs and status pages: no password. */
  static redact(url: string): string {
    try {
      const parsed = new URL(url);
      if (parsed.password !== '') parsed.password = '***';
      return parsed.toString();
    } catch {
      return 'postgres://(unparsable URL)';
    }
  }

  /** One statement on its own (autocommit). Reads only: retried once if a pooled connection was broken. */
  async read<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    this.assertOpen();
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.pool.query<R>(sql, params)).rows;
      } catch (err) {
        if (attempt === 1 && brokenConnection(err)) continue;
        throw this.failure(err);
      }
    }
  }

  /**
   * Runs `work` in one transaction (READ COMMITTED; row locks order the writers) and commits. Runs it
   * again, from BEGIN, when it lost a race to a concurrent transaction; errors `work` throws itself
   * (the S3 rules) roll back and pass through unchanged.
   */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    this.assertOpen();
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw this.failure(err);
      }
      let begun = false;
      const tx: Tx = {
        query: async (sql, params) => {
          try {
            return await client.query(sql, params);
          } catch (err) {
            throw new StatementFailed(err);
          }
        },
      };
      try {
        await tx.query('BEGIN');
        begun = true;
        const result = await work(tx);
        await tx.query('COMMIT');
        client.release();
        return result;
      } catch (err) {
        const original = err instanceof StatementFailed ? err.original : undefined;
        const connectionLost = err instanceof StatementFailed && !(original instanceof pg.DatabaseError);
        if (connectionLost || !(await rollback(client))) client.release(true);
        else client.release();
        if (!(err instanceof StatementFailed)) throw err;
        const code = original instanceof pg.DatabaseError ? original.code : undefined;
        const retry =
          (code !== undefined && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) ||
          // A pooled connection found broken at BEGIN: nothing was sent, take another.
          (!begun && attempt === 1 && brokenConnection(original));
        if (retry) {
          await backoff(attempt);
          continue;
        }
        throw this.failure(original);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the PostgreSQL metadata store is closed');
  }

  /**
   * A driver error as what the layers above understand: the database unreachable, down, too slow, out
   * of connections or losing races → BackendUnavailable (503, retryable); anything else (a bug: a
   * missing table, a malformed statement) as it is. Messages never carry the URL's password.
   */
  private failure(err: unknown): Error {
    const cause = this.scrub(err);
    if (!(err instanceof pg.DatabaseError)) return new BackendUnavailable(WHAT, { cause });
    const code = err.code ?? '';
    // 08 connection exception, 53 insufficient resources, 57 operator intervention (statement
    // timeout, shutdown, starting up), 58 system error, 40 serialisation failure and deadlock after
    // retries, 55P03 lock not available, 25P03 idle-in-transaction timeout, 28 authentication.
    if (/^(08|53|57|58|40|28)/.test(code) || code === '55P03' || code === '25P03' || code === '3D000') {
      return new BackendUnavailable(WHAT, { cause });
    }
    return cause;
  }

  /**
   * The error without the password: a server's error as it is (it never sees the URL), anything else
   * (a socket error, a URL parser's error with the input attached) as a fresh Error of its message only.
   */
  private scrub(err: unknown): Error {
    const original = err instanceof Error ? err : new Error(String(err));
    let message = original.message;
    for (const secret of this.secrets) message = message.split(secret).join('***');
    if (original instanceof pg.DatabaseError && message === original.message) return original;
    const clean = new Error(message) as NodeJS.ErrnoException;
    clean.name = original.name;
    const code = (original as NodeJS.ErrnoException).code;
    if (code !== undefined) clean.code = code;
    return clean;
  }
}

/**
 * A pooled connection that the server or the network closed while it sat idle: the statement never ran,
 * so another connection may run it. (A refused connect or a timeout is not retried: it would only wait
 * again.)
 */
function brokenConnection(err: unknown): boolean {
  if (err instanceof pg.DatabaseError || !(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || /Connection terminated unexpectedly|is not queryable/.test(err.message);
}

async function rollback(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    return true;
  } catch {
    return false;
  }
}

function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * 5 * 2 ** attempt;
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function assertPostgresUrl(url: string): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new TypeError('the metadata database URL is not a URL (expected postgres://user:password@host:5432/database)');
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new TypeError(`the metadata database URL must start with postgres:// (it starts with ${protocol}//)`);
  }
}

/** The URL's password as it may appear in a message: decoded and as written. */
function passwordForms(url: string): string[] {
  try {
    const raw = new URL(url).password;
    if (raw === '') return [];
    return [...new Set([raw, decodeURIComponent(raw)])].filter((s) => s.length > 0);
  } catch {
    return [];
  }
}
