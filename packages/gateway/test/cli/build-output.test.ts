// The command bundles (scripts/build.js) are the same files whichever directory the build is started from. A
// build removes the chunks its own output does not name, while commands started from the previous build may still
// have to load theirs: a test's `npm start` runs from its own directory while CLI tests start commands from dist/,
// and when the source comments in the chunks were relative to the working directory, the second build renamed
// every chunk and a command started a moment before failed with ERR_MODULE_NOT_FOUND.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';

const root = join(import.meta.dirname, '../../../..');
const out = mkdtempSync(join(tmpdir(), 'kesgate-build-'));
after(() => rmSync(out, { recursive: true, force: true }));

/** Builds the bundles into `out` in a process of its own started in `cwd` (esbuild's service takes its directory once). */
function buildFrom(cwd: string): string[] {
  const script = `const { buildBundles } = await import(${JSON.stringify(pathToFileURL(join(root, 'scripts/build.js')).href)}); await buildBundles(${JSON.stringify(out)});`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd, stdio: 'inherit' });
  return readdirSync(join(out, 'chunks')).sort();
}

/**
 * `currentBundles(out)` (what `npm start`, `npm run cluster` and the test runner call) in a process of its own started in
 * `cwd`; the kes bundle's mtime after it.
 */
function currentFrom(cwd = root): number {
  const script = `const { currentBundles } = await import(${JSON.stringify(pathToFileURL(join(root, 'scripts/build.js')).href)}); await currentBundles(${JSON.stringify(out)});`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd, stdio: 'inherit' });
  return statSync(join(out, 'kes.mjs')).mtimeMs;
}

/** Makes a source of the kes bundle newer than the build: listed in inputs.json (as a path from the root) and changed after it. */
function changeASource(): void {
  const source = join(out, 'changed-source.ts');
  writeFileSync(source, '// changed\n');
  const inputs = JSON.parse(readFileSync(join(out, 'inputs.json'), 'utf8')) as Record<string, string[]>;
  inputs.kes!.push(relative(root, source));
  writeFileSync(join(out, 'inputs.json'), JSON.stringify(inputs));
}

// Two builds in all (each about a second of CPU), not three: the second build, from another directory, is the one a
// changed source makes currentBundles() start, so one build proves both.
let firstBuilt = 0;
let rebuilt = 0;

test('a build started from another directory writes the same chunks and removes none of the first build’s', () => {
  const first = buildFrom(tmpdir());
  firstBuilt = statSync(join(out, 'kes.mjs')).mtimeMs;
  assert.ok(
    first.some((name) => name.startsWith('server-')),
    `the servers are in chunks: ${first.join(' ')}`,
  );
  changeASource();
  rebuilt = currentFrom(join(root, 'packages', 'gateway'));
  assert.ok(rebuilt > firstBuilt, 'the second build ran');
  const second = readdirSync(join(out, 'chunks')).sort();
  assert.deepEqual(second, first);
  for (const name of first) assert.ok(existsSync(join(out, 'chunks', name)), name);
});

test('current bundles are reused as they are, and rebuilt once a file they were built from is newer', () => {
  assert.ok(rebuilt > firstBuilt, 'a source newer than the bundle: built again (the previous test)');
  assert.equal(currentFrom(), rebuilt, 'nothing changed since the last build: no new build');
  assert.equal(currentFrom(), rebuilt, 'and reused after that');
});
