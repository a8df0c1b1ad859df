// `kes backup`: a consistent copy of the keystore while the server runs. `VACUUM INTO` on a
// read-only connection writes one read transaction's snapshot (WAL included, free pages and
// erased cells left behind) to a new file. The copy holds only wrapped keys and the wrapped
// root key, so it stays sealed under the same unseal shares. It is written beside the target,
// checked by opening it as a keystore, synced, and then linked into place, which fails rather
// than overwrite a file that appeared meanwhile.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SqliteKeyStore } from './sqlite-store.js';
import { OperatorError } from '../errors.js';

export interface BackupResult {
  source: string;
  out: string;
  bytes: number;
  keys: number;
  threshold: number;
  shares: number;
  initializedAt: string;
}

export async function backupStore(dbPath: string, outPath: string): Promise<BackupResult> {
  const source = resolve(dbPath);
  const out = resolve(outPath);
  if (existsSync(out)) throw new OperatorError(`refusing to overwrite ${out}: choose a new file for the backup`);
  if (!existsSync(source)) throw new OperatorError(`keystore ${source} does not exist: check keystore.sqlite.path in the config`);
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    closeSync(openSync(tmp, 'wx', 0o600)); // VACUUM INTO fills an empty file and keeps its mode
    snapshot(source, tmp);
    const summary = await inspect(tmp, source);
    syncFile(tmp);
    try {
      linkSync(tmp, out);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw new OperatorError(`refusing to overwrite ${out}: it appeared while the backup was written`);
      throw e;
    }
    syncFile(dirname(out));
    return { source, out, bytes: statSync(out).size, ...summary };
  } catch (e) {
    if (e instanceof OperatorError) throw e;
    throw new OperatorError(`backup of ${source} to ${out} failed: ${(e as Error).message}`);
  } finally {
    for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) {
      try {
        unlinkSync(f);
      } catch {
        // already gone
      }
    }
  }
}

function snapshot(source: string, target: string): void {
  const db = new Database(source, { readonly: true, fileMustExist: true, timeout: 10_000 });
  try {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'").get();
    if (!hasMeta || !db.prepare('SELECT 1 FROM meta WHERE id = 1').get()) {
      throw new OperatorError(`keystore ${source} is not initialized: there is nothing to back up (run \`kes init\` first)`);
    }
    db.prepare('VACUUM INTO ?').run(target);
  } finally {
    db.close();
  }
}

/** Opens the copy the way kes will (schema version, barrier record) and counts its keys. */
async function inspect(copy: string, source: string): Promise<Omit<BackupResult, 'source' | 'out' | 'bytes'>> {
  const store = new SqliteKeyStore(copy);
  try {
    const barrier = await store.loadBarrier();
    if (!barrier) throw new OperatorError(`the copy of ${source} has no root key record; the backup was not written`);
    return {
      keys: (await store.listNames('', '', Number.MAX_SAFE_INTEGER)).length,
      threshold: barrier.threshold,
      shares: barrier.shares,
      initializedAt: barrier.initializedAt,
    };
  } finally {
    await store.close();
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
