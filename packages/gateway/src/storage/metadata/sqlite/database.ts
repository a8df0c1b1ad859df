// Opens meta.db durably and exclusively. The exclusive lock doubles as the data directory's lock:
// with locking_mode=EXCLUSIVE the connection keeps SQLite's file lock until it closes, the kernel
// drops it when the process dies (so kill -9 leaves no stale lock), and any other connection —
// another process or the same one — gets SQLITE_BUSY at once.
import DatabaseConstructor from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { DataDirInUse } from '../../errors.js';
import { migrate } from './schema.js';

export function openMetaDb(file: string, root: string): Database {
  const db = new DatabaseConstructor(file, { timeout: 0 });
  try {
    // EXCLUSIVE before WAL: the WAL index then lives in heap memory, no -shm file is shared.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (err) {
    db.close();
    if (isBusy(err)) throw new DataDirInUse(root);
    throw err;
  }
  const mode = db.pragma('journal_mode', { simple: true });
  if (mode !== 'wal') {
    db.close();
    throw new Error(`meta.db could not be switched to WAL mode (it is in ${String(mode)} mode)`);
  }
  db.pragma('synchronous = FULL');
  migrate(db); // before foreign keys are on: a step may rebuild a table
  db.pragma('foreign_keys = ON');
  // From here on a commit writes the WAL without an fsync: the store fsyncs it on the thread pool before any
  // write resolves (wal-sync.ts), so the event loop no longer stalls for one fsync per commit.
  db.pragma('synchronous = NORMAL');
  return db;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}
