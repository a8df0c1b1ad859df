// How a test starts a TypeScript entry point (a fixture, scripts/start.ts) in a process of its own: the suites run
// from JavaScript compiled into .cache/test-js/ (scripts/lib/compile-tests.js), where a .ts path a test computes
// relative to its own file has its compiled .js beside it; run that, without a TypeScript loader. Run from the
// sources (a file run through tsx by hand, the awscli suites), the .ts goes through tsx as before.
import { existsSync } from 'node:fs';

/** Whether this module, and so the test that imported it, runs compiled. */
const compiled = import.meta.url.endsWith('.js');

/** The node arguments that run `file` (a .ts path): its compiled .js when there is one and this run is compiled, else the .ts through tsx. */
export function nodeArgsFor(file: string): string[] {
  const js = file.replace(/\.ts$/, '.js');
  if (compiled && js !== file && existsSync(js)) return ['--enable-source-maps', js];
  return ['--import', 'tsx', file];
}
