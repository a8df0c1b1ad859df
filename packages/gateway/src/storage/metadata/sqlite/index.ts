// The embedded metadata store: SQLite in one file.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fsyncDirSync } from '../../fsync-dir.js';
import { openMetaDb } from './database.js';
import { SqliteMetadataStore } from './sqlite-metadata-store.js';
import { WalSync, type SyncFile } from './wal-sync.js';

export { SqliteMetadataStore };

export interface SqliteMetadataOptions {
  /** The database file (the embedded layout's is `<data dir>/meta.db`); its directory is created if missing. */
  path: string;
  /** How the -wal file is synced (default fdatasync); tests wrap it to see when it runs. */
  syncFile?: SyncFile;
}

/**
 * Opens (creating and migrating if needed) the database and takes its lock for this process.
 * Throws DataDirInUse when another process — or another open store in this one — holds it.
 */
export async function openSqliteMetadataStore(options: SqliteMetadataOptions): Promise<SqliteMetadataStore> {
  const file = resolve(options.path);
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = openMetaDb(file, dir);
  // SQLite fsyncs the directory when it creates a WAL file, but not for the database file itself.
  fsyncDirSync(dir);
  let wal: WalSync;
  try {
    wal = new WalSync(`${file}-wal`, options.syncFile);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteMetadataStore(db, file, wal);
}
