// Runs a test file in a node:test run of its own, as scripts/run-tests.js reports one: TAP, then the runner's
// per-package times and failure list (scripts/lib/package-times.js). For the suites that test the test runner.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../../../..');

export function runTestFile(file: string, cwd: string): SpawnSyncReturns<string> {
  return spawnSync(
    process.execPath,
    [
      '--test',
      '--test-reporter=tap',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'scripts/lib/package-times.js')}`,
      '--test-reporter-destination=stdout',
      file,
    ],
    // NODE_TEST_CONTEXT would make the child a file of this run instead of a run of its own.
    { cwd, encoding: 'utf8', env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')) },
  );
}
