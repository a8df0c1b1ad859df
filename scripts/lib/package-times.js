// A node:test reporter that prints, once the run ends, how long each package's tests took (the sum of the
// durations of its files' top-level tests and suites; files run two at a time, so the sums add up to about
// twice the wall time; module loading before the first test is not counted), then every failed test again
// with its file and error: a CI log is often read from its tail only, and the TAP line of a failure sits
// thousands of lines above it.
// It also records each test file's time for the next run's schedule (scripts/lib/test-times.js).
// Used next to the usual reporter by scripts/run-tests.js.
import { relative, sep } from 'node:path';
import { sourceLocation, sourceStack } from './bundle-locations.js';
import { recordTestTimes } from './test-times.js';

const MAX_ERROR_LINES = 12;

/** The directory (under the bundles) of scripts/lib/test-groups.js's entries: a top-level suite in one is a test file, named by its source. */
export const GROUPS_DIR = 'zz-groups';

// The suites run compiled (scripts/lib/compile-tests.js): name a test file by its source, not its compiled copy.
const COMPILED = [`.cache${sep}test-js${sep}`, `.cache${sep}test-bundles${sep}`];
const sourceOf = (path) => {
  const prefix = COMPILED.find((p) => path.startsWith(p));
  return prefix ? path.slice(prefix.length).replace(/\.js$/, '.ts') : path;
};

function errorText(error) {
  // node:test wraps what the test threw in an ERR_TEST_FAILURE whose cause is the original error.
  const cause = error?.cause ?? error;
  // An error class the test process had but this one has not (SqliteError…) arrives as a plain object.
  const text =
    cause instanceof Error
      ? (cause.stack ?? cause.message)
      : typeof cause?.message === 'string'
        ? `${cause.code ? `${cause.code}: ` : ''}${cause.message}${cause.stack ? `\n${cause.stack}` : ''}`
        : String(cause);
  return sourceStack(text.split('\n').slice(0, MAX_ERROR_LINES).join('\n'));
}

export default async function* packageTimes(source) {
  const perPackage = new Map();
  const perFile = {};
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { nesting, details, name } = event.data;
    // Where the test was defined, in the sources: the test processes run compiled code without source maps.
    const { file, line } = event.data.file ? sourceLocation(event.data.file, event.data.line, event.data.column) : event.data;
    // A file run in a group (scripts/lib/test-groups.js) is a top-level suite of the group's entry, named for its source.
    const grouped = nesting === 0 && file?.includes(`${sep}${GROUPS_DIR}${sep}`);
    const where = grouped ? name.split('/').join(sep) : file ? sourceOf(relative(process.cwd(), file)) : '(no file)';
    // A suite or test that failed only because a subtest did is not listed: its failing subtest is.
    if (event.type === 'test:fail' && details.error?.failureType !== 'subtestsFailed') {
      failures.push({ where: line && !grouped ? `${where}:${line}` : where, name, error: errorText(details.error) });
    }
    if (nesting !== 0 || !file) continue;
    // Files that run in one process together (scripts/lib/test-groups.js) report each test with its own file.
    const key = where.split(sep).join('/');
    if (key.endsWith('.test.ts')) perFile[key] = (perFile[key] ?? 0) + (details.duration_ms ?? 0);
    const parts = where.split(sep);
    const pkg = parts[0] === 'packages' && parts[1] ? parts[1] : parts[0];
    const entry = perPackage.get(pkg) ?? { ms: 0, files: new Set(), failed: 0 };
    entry.ms += details.duration_ms ?? 0;
    entry.files.add(key); // the source file, also for a file that ran in a group's process
    if (event.type === 'test:fail') entry.failed += 1;
    perPackage.set(pkg, entry);
  }
  if (Object.keys(perFile).length > 0) recordTestTimes(perFile);
  if (perPackage.size > 0) {
    const rows = [...perPackage].sort((a, b) => b[1].ms - a[1].ms);
    yield '\ntest time per package (sum over its top-level tests):\n';
    for (const [pkg, { ms, files, failed }] of rows) {
      yield `  ${pkg.padEnd(12)} ${(ms / 1000).toFixed(1).padStart(7)} s  ${String(files.size).padStart(4)} files${failed ? `, ${failed} failed` : ''}\n`;
    }
  }
  if (failures.length === 0) return;
  yield `\n${failures.length} failed test${failures.length === 1 ? '' : 's'}:\n`;
  for (const { where, name, error } of failures) {
    yield `\n✗ ${where}\n  ${name}\n${error.replace(/^/gm, '    ')}\n`;
  }
}
