// A node:test reporter that prints, once the run ends, how long each package's tests took: the sum of its
// test files' durations (files run two at a time, so the sums add up to about twice the wall time).
// Used next to the usual reporter by scripts/run-tests.js, so the slow package is visible in every CI log.
import { relative, sep } from 'node:path';

export default async function* packageTimes(source) {
  const perPackage = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { file, nesting, details } = event.data;
    // With --test every file is one top-level test.
    if (nesting !== 0 || !file) continue;
    const parts = relative(process.cwd(), file).split(sep);
    const name = parts[0] === 'packages' && parts[1] ? parts[1] : parts[0];
    const entry = perPackage.get(name) ?? { ms: 0, tests: 0, failed: 0 };
    entry.ms += details.duration_ms ?? 0;
    entry.tests += 1;
    if (event.type === 'test:fail') entry.failed += 1;
    perPackage.set(name, entry);
  }
  if (perPackage.size === 0) return;
  const rows = [...perPackage].sort((a, b) => b[1].ms - a[1].ms);
  yield '\ntest time per package (sum over its test files):\n';
  for (const [name, { ms, tests, failed }] of rows) {
    yield `  ${name.padEnd(12)} ${(ms / 1000).toFixed(1).padStart(7)} s  ${String(tests).padStart(4)} test files${failed ? `, ${failed} failed` : ''}\n`;
  }
}
