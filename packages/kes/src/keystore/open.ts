// The keystore a config names: the one place that knows both implementations.
import type { KeystoreConfig } from '../config/config.js';
import { SqliteKeyStore } from './sqlite-store.js';
import type { KeyStore } from './types.js';

export async function openKeyStore(config: KeystoreConfig): Promise<KeyStore> {
  if (config.sqlite) return new SqliteKeyStore(config.sqlite.path);
  // `pg` is loaded only when a PostgreSQL keystore is configured (CLI commands start faster without it).
  const { PostgresKeyStore } = await import('./postgres-store.js');
  const pg = config.postgres;
  return PostgresKeyStore.open({ url: pg.url, poolSize: pg.poolSize, timeoutMs: pg.timeoutMs, listenReconnectMs: pg.listenRetryMs });
}

/** How often a node reads the seal epoch besides pushes (a local SQLite read is cheap). */
export function sealPollMs(config: KeystoreConfig): number {
  return config.postgres?.sealPollMs ?? 500;
}

/** "SQLite /path" or "PostgreSQL postgres://user:***@host/db", for messages before a store is open. */
export function describeKeystore(config: KeystoreConfig): string {
  if (config.sqlite) return `SQLite ${config.sqlite.path}`;
  return `PostgreSQL ${redact(config.postgres.url)}`;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
