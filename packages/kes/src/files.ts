// File helpers with the CLI's rules (used by it and by dev-certs): never overwrite unless asked, private keys readable by the
// owner only, and errors that say which file and what it was for.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { OperatorError } from './errors.js';

const reason = (e: unknown) => ((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message);

/**
 * Reads `path` (relative to `cwd` when given, else to the process's); a failure names the file as given and
 * what it was for, e.g. "client certificate".
 */
export function readFileFor(path: string, what: string, cwd?: string): Buffer {
  try {
    return readFileSync(cwd === undefined ? path : resolve(cwd, path));
  } catch (e) {
    throw new OperatorError(`cannot read ${what} ${path}: ${reason(e)}`);
  }
}

/** Throws when any of `paths` exists (unless `force`), naming all of them at once. */
export function refuseExisting(paths: string[], force = false, hint = 'pass --force to overwrite'): void {
  if (force) return;
  const existing = paths.filter((p) => existsSync(p));
  if (existing.length) throw new OperatorError(`refusing to overwrite ${existing.join(', ')}: ${hint}`);
}

export interface WriteOptions {
  /** File mode for a new file; also applied to an overwritten one. */
  mode?: number;
  force?: boolean;
}

/** Writes a file that must not exist yet (exclusive create), unless `force`. */
export function writeNewFile(path: string, data: string | Uint8Array, options: WriteOptions = {}): void {
  const mode = options.mode ?? 0o644;
  try {
    writeFileSync(path, data, { mode, flag: options.force ? 'w' : 'wx' });
    if (options.force) chmodSync(path, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new OperatorError(`refusing to overwrite ${path}: pass --force to overwrite`);
    throw new OperatorError(`cannot write ${path}: ${reason(e)}`);
  }
}
