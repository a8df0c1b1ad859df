// How long each test file's tests took in earlier runs, for scheduling (scripts/lib/test-groups.js): the last run's
// figures in .cache/test-times.json (written by the package-times reporter at the end of every run), over the
// figures committed beside this file (scripts/lib/test-times.json, so a fresh clone schedules the same way).
// Keys are source paths relative to the repository (`packages/gateway/test/e2e/at-rest.test.ts`); values are
// milliseconds, the sum of the file's top-level tests and suites (module loading is not counted).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const COMMITTED_TIMES = join(root, 'scripts', 'lib', 'test-times.json');
export const LAST_RUN_TIMES = join(root, '.cache', 'test-times.json');

function read(file) {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * Milliseconds per test file (source path relative to the root): the last run's, else the committed figure. The last
 * run's figures are scaled to the committed ones' pace (over the files both have): a run on a busy machine takes
 * longer for every file, and that must not turn light files into heavy ones for the next run's grouping.
 */
export function readTestTimes(committedFile = COMMITTED_TIMES, lastRunFile = LAST_RUN_TIMES) {
  const committed = read(committedFile);
  const last = read(lastRunFile);
  let lastSum = 0;
  let committedSum = 0;
  for (const [file, ms] of Object.entries(last)) {
    if (typeof committed[file] === 'number' && typeof ms === 'number') {
      lastSum += ms;
      committedSum += committed[file];
    }
  }
  const pace = lastSum > 0 && committedSum > 0 ? committedSum / lastSum : 1;
  const scaled = Object.fromEntries(Object.entries(last).map(([file, ms]) => [file, typeof ms === 'number' ? Math.round(ms * pace) : ms]));
  return { ...committed, ...scaled };
}

/**
 * Merges `times` (source path → ms) into the last-run cache; files not run keep their earlier figures. Only this
 * repository's files: the suites that test the runner run files of their own in temp directories.
 */
export function recordTestTimes(times, file = LAST_RUN_TIMES) {
  const merged = { ...read(file) };
  for (const [path, ms] of Object.entries(times)) if (existsSync(join(root, path))) merged[path] = Math.round(ms);
  const sorted = Object.fromEntries(Object.entries(merged).sort(([a], [b]) => a.localeCompare(b)));
  // Beside it first, then renamed: a run starting meanwhile reads the old file or the new one, never half of one.
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(sorted, null, 2)}\n`);
  renameSync(tmp, file);
}
