// The test processes run bundled JavaScript without --enable-source-maps (scripts/run-tests.js); the failure list at
// the end of a run (scripts/lib/package-times.js) still names the TypeScript file and line of a failing test and
// leads its stack back to the sources (scripts/lib/bundle-locations.js). Here a TypeScript test file and a helper it
// imports are bundled as the runner bundles them (a linked source map), run without source maps, and reported.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runTestFile } from '../helpers/test-run.js';
import { build } from 'esbuild';

const dir = mkdtempSync(join(tmpdir(), 'kesgate-source-locations-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a failing bundled test is listed at its .ts line, and its stack names the .ts files it passed through', async () => {
  mkdirSync(join(dir, 'packages/q/test'), { recursive: true });
  // Types and blank lines shift the lines: the bundle's line numbers are not the source's.
  writeFileSync(
    join(dir, 'packages/q/test/check.ts'),
    [
      'interface Pair {',
      '  a: number;',
      '  b: number;',
      '}',
      '',
      'export function check(p: Pair): void {',
      '  if (p.a !== p.b) throw new Error(`${p.a} is not ${p.b}`);',
      '}',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'packages/q/test/fails.test.ts'),
    [
      "import { test } from 'node:test';",
      "import { check } from './check.js';",
      '',
      'type Unused = { x: string };',
      '',
      "test('passes', () => check({ a: 1, b: 1 }));",
      '',
      "test('fails in a helper', () => {",
      '  check({ a: 1, b: 2 });',
      '});',
      '',
    ].join('\n'),
  );
  const bundles = join(dir, '.cache', 'test-bundles');
  await build({
    entryPoints: [join(dir, 'packages/q/test/fails.test.ts')],
    outbase: dir,
    outdir: bundles,
    bundle: true,
    platform: 'node',
    format: 'esm',
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
  });
  const run = runTestFile(join(bundles, 'packages/q/test/fails.test.js'), dir);
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const list = run.stdout.slice(run.stdout.indexOf('failed test:'));
  assert.match(list, /✗ packages\/q\/test\/fails\.test\.ts:8\n {2}fails in a helper\n/);
  assert.match(list, /Error: 1 is not 2/);
  assert.match(list, /packages\/q\/test\/check\.ts:7:\d+/);
  assert.match(list, /packages\/q\/test\/fails\.test\.ts:9:\d+/);
  assert.doesNotMatch(list, /test-bundles/);
  // The per-package times count the file by its source.
  assert.match(run.stdout, /\n {2}q +[\d.]+ s +1 files, 1 failed\n/);
});
