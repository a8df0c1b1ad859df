// The test runner compiles (scripts/lib/compile-tests.js) and bundles (scripts/lib/bundle-tests.js) only what changed
// since its last run. What must hold: a second run with nothing changed does no work; a changed source is compiled
// and bundled again and its output follows it; a change to what decides every output (a tsconfig, the entry points)
// redoes everything; a removed source loses its output. Each case runs the real scripts, copied into a small
// repository of their own (the scripts find the repository from their own location), in a process of its own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const root = join(import.meta.dirname, '../../../..');
const repo = mkdtempSync(join(tmpdir(), 'kesgate-runner-cache-'));
after(() => rmSync(repo, { recursive: true, force: true }));

mkdirSync(join(repo, 'scripts', 'lib'), { recursive: true });
for (const f of ['compile-tests.js', 'bundle-tests.js']) copyFileSync(join(root, 'scripts/lib', f), join(repo, 'scripts/lib', f));
symlinkSync(join(root, 'node_modules'), join(repo, 'node_modules'));
writeFileSync(join(repo, 'tsconfig.json'), '{ "compilerOptions": { "strict": true } }\n');
const write = (rel: string, text: string): void => {
  mkdirSync(join(repo, rel, '..'), { recursive: true });
  writeFileSync(join(repo, rel), text);
};
write('packages/p/package.json', '{ "name": "p", "type": "module" }\n');
write('packages/p/src/value.ts', 'export const value: number = 1;\n');
write('packages/p/test/value.test.ts', "import { value } from '../src/value.js';\nconsole.log(`value ${value}`);\n");

/** Runs compileTests() and bundleTests(files) in the small repository; returns what each reported. */
function run(files = ['packages/p/test/value.test.ts']): { compiled: number; bundled: 'built' | 'skipped' } {
  const script = `
    import { compileTests } from './scripts/lib/compile-tests.js';
    import { bundleTests } from './scripts/lib/bundle-tests.js';
    const c = await compileTests();
    const b = await bundleTests(${JSON.stringify(files.map((f) => join(repo, f)))});
    console.log(JSON.stringify({ compiled: c.compiled, bundled: b.skipped ? 'skipped' : 'built' }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { compiled: number; bundled: 'built' | 'skipped' };
}
/** Runs the bundled test file; returns what it printed. */
const runBundle = (): string =>
  spawnSync(process.execPath, [join(repo, '.cache/test-bundles/packages/p/test/value.test.js')], { encoding: 'utf8' }).stdout.trim();
const compiledValue = (): string => readFileSync(join(repo, '.cache/test-js/packages/p/src/value.js'), 'utf8');

test('the first run compiles and bundles everything; a second with nothing changed does neither', () => {
  assert.deepEqual(run(), { compiled: 2, bundled: 'built' });
  assert.equal(runBundle(), 'value 1');
  assert.deepEqual(run(), { compiled: 0, bundled: 'skipped' });
});

test('a changed source is compiled and bundled again, and its outputs follow it', () => {
  write('packages/p/src/value.ts', 'export const value: number = 22;\n');
  assert.deepEqual(run(), { compiled: 1, bundled: 'built' });
  assert.match(compiledValue(), /value = 22/);
  assert.equal(runBundle(), 'value 22');
  assert.deepEqual(run(), { compiled: 0, bundled: 'skipped' });
});

test('a changed tsconfig compiles every source again; other entry points bundle again', () => {
  writeFileSync(join(repo, 'tsconfig.json'), '{ "compilerOptions": { "strict": false } }\n');
  assert.deepEqual(run(), { compiled: 2, bundled: 'skipped' });
  write('packages/p/test/other.test.ts', "console.log('other');\n");
  assert.deepEqual(run(['packages/p/test/value.test.ts', 'packages/p/test/other.test.ts']), { compiled: 1, bundled: 'built' });
  assert.ok(existsSync(join(repo, '.cache/test-bundles/packages/p/test/other.test.js')));
});

test('a removed source loses its compiled output and is not compiled again', () => {
  rmSync(join(repo, 'packages/p/test/other.test.ts'));
  assert.deepEqual(run(), { compiled: 0, bundled: 'built' });
  assert.equal(existsSync(join(repo, '.cache/test-js/packages/p/test/other.test.js')), false);
  assert.deepEqual(run(), { compiled: 0, bundled: 'skipped' });
});
