// Certificate sets for test suites and benchmarks: a set is made once per machine (every test process of a run
// then uses the same identities, and none signs certificates of its own) and kept as JSON in the temp directory,
// written atomically (temp file + rename) so concurrent runs never read half a file. Not used by the servers.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const memo = new Map<string, unknown>();

/**
 * The set cached under `name` in the temp directory if it reads back and `isValid` accepts it (a layout of
 * an older run is not), else `make()`'s, saved there for the next run. Memoised per process.
 * KESGATE_CERT_CACHE_DIR names the directory instead: the test runner gives each run a temp directory of its own
 * and keeps the sets in the system's, so that a run does not make them again.
 */
export function cachedInTempDir<T>(name: string, isValid: (cached: T) => boolean, make: () => T): T {
  const file = join(process.env.KESGATE_CERT_CACHE_DIR || tmpdir(), name);
  if (memo.has(file)) return memo.get(file) as T;
  let value: T | undefined;
  if (existsSync(file)) {
    try {
      const cached = JSON.parse(readFileSync(file, 'utf8')) as T;
      if (isValid(cached)) value = cached;
    } catch {
      // unreadable or from an older layout: make a new set
    }
  }
  if (value === undefined) {
    value = make();
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value), { mode: 0o600 });
    renameSync(tmp, file);
  }
  memo.set(file, value);
  return value;
}
