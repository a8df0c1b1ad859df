// A node:test reporter that prints, once the run ends, how long each package's tests took: the sum of the
// durations of its files' top-level tests and suites (files run two at a time, so the sums add up to about
// twice the wall time; module loading before the first test is not counted).
// Used next to the usual reporter by scripts/run-tests.js, so the slow package is visible in every CI log.
import { relative, sep } from 'node:path';

export default async function* packageTimes(source) {
  const perPackage = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { file, nesting, details } = event.data;
    if (nesting !== 0 || !file) continue;
    const parts = relative(process.cwd(), file).split(sep);
    const name = parts[0] === 'packages' && parts[1] ? parts[1] : parts[0];
    const entry = perPackage.get(name) ?? { ms: 0, files: new Set(), failed: 0 };
    entry.ms += details.duration_ms ?? 0;
    entry.files.add(file);
    if (event.type === 'test:fail') entry.failed += 1;
    perPackage.set(name, entry);
  }
  if (perPackage.size === 0) return;
  const rows = [...perPackage].sort((a, b) => b[1].ms - a[1].ms);
  yield '\ntest time per package (sum over its top-level tests):\n';
  for (const [name, { ms, files, failed }] of rows) {
    yield `  ${name.padEnd(12)} ${(ms / 1000).toFixed(1).padStart(7)} s  ${String(files.size).padStart(4)} files${failed ? `, ${failed} failed` : ''}\n`;
  }
}
