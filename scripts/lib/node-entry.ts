// How a test starts a TypeScript entry point (a fixture, scripts/start.ts) in a process of its own: the suites run
// from JavaScript compiled into .cache/test-js/ (scripts/lib/compile-tests.js), where a .ts path a test computes
// relative to its own file has its compiled .js beside it; run that, without a TypeScript loader. When the run
// bundled the test files and fixtures (scripts/lib/bundle-tests.js names its directory in KESGATE_TEST_BUNDLES),
// a fixture's bundle is run instead: it loads a few chunks, not hundreds of modules. Run from the sources (a file
// run through tsx by hand, the awscli suites), the .ts goes through tsx as before.
import { existsSync } from 'node:fs';
import { sep } from 'node:path';

/** Whether this module, and so the test that imported it, runs compiled. */
const compiled = import.meta.url.endsWith('.js');

const MIRROR = `${sep}.cache${sep}test-js${sep}`;

/** The node arguments that run `file` (a .ts path): its bundle or compiled .js when this run is compiled, else the .ts through tsx. */
export function nodeArgsFor(file: string): string[] {
  const js = file.replace(/\.ts$/, '.js');
  if (!compiled || js === file || !existsSync(js)) return ['--import', 'tsx', file];
  const bundles = process.env.KESGATE_TEST_BUNDLES;
  const at = js.lastIndexOf(MIRROR);
  const bundle = bundles && at >= 0 ? `${bundles}${sep}${js.slice(at + MIRROR.length)}` : undefined;
  // Without source maps, as the test processes run (scripts/run-tests.js): loading them costs each process CPU.
  const sourceMaps = process.env.KESGATE_TEST_SOURCE_MAPS === '1' ? ['--enable-source-maps'] : [];
  return [...sourceMaps, bundle && existsSync(bundle) ? bundle : js];
}
