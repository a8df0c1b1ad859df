// The test runner runs light test files several to a process (scripts/lib/test-groups.js). What must hold: a
// marked file keeps a process of its own; in a group every test still reports its own file, so the runner's failure
// list (scripts/lib/package-times.js) names the file and the test that failed; a file's module-level hooks run around
// its own tests only; a file that throws while loading, or whose module-level hook fails, fails under its own name;
// the other files' tests still run and pass.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { runTestFile } from '../helpers/test-run.js';

const root = join(import.meta.dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'kesgate-groups-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Groups {
  ownProcessReason(file: string): string | undefined;
  planGroups(files: string[], times: Record<string, number>, base?: string): string[][];
  groupEntries(groups: string[][], bundles: string, bundledPath: (file: string) => string): string[];
}
const groups = (await import(pathToFileURL(join(root, 'scripts/lib/test-groups.js')).href)) as Groups;

/** Writes a test file under dir/packages/<pkg>/test/ and returns its path. */
function testFile(pkg: string, name: string, text: string): string {
  const path = join(dir, 'packages', pkg, 'test', name);
  mkdirSync(join(dir, 'packages', pkg, 'test'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

test('light files of one package share a process, hooked ones too; heavy, unmeasured and marked files keep their own; the longest start first', () => {
  const plain = "import { test } from 'node:test';\ntest('x', () => {});\n";
  const light1 = testFile('one', 'light1.test.mjs', plain);
  const light2 = testFile('one', 'light2.test.mjs', plain);
  const otherPackage = testFile('two', 'light3.test.mjs', plain);
  const otherPackage2 = testFile('two', 'light4.test.mjs', plain);
  const heavy = testFile('one', 'heavy.test.mjs', plain);
  const unmeasured = testFile('one', 'new.test.mjs', plain);
  const hooked = testFile('one', 'hooked.test.mjs', `import { before, test } from 'node:test';\nbefore(() => {});\n${plain}`);
  const marked = testFile('one', 'marked.test.mjs', `// kesgate-test: own-process (it counts its descriptors)\n${plain}`);
  const times: Record<string, number> = {};
  for (const f of [light1, light2, otherPackage, otherPackage2, hooked, marked]) times[f.slice(dir.length + 1)] = 100;
  times[heavy.slice(dir.length + 1)] = 60_000;
  assert.equal(groups.ownProcessReason(hooked), undefined);
  assert.equal(groups.ownProcessReason(marked), 'marked');
  assert.equal(groups.ownProcessReason(light1), undefined);
  const plan = groups.planGroups([light1, light2, otherPackage, otherPackage2, heavy, unmeasured, hooked, marked], times, dir);
  const alone = plan.filter((g) => g.length === 1).map((g) => g[0]!);
  assert.deepEqual(alone.sort(), [heavy, marked, unmeasured].sort());
  assert.deepEqual(
    plan
      .filter((g) => g.length > 1)
      .map((g) => [...g].sort())
      .sort(),
    [[light1, light2, hooked].sort(), [otherPackage, otherPackage2].sort()].sort(),
  );
  // Longest first: the heavy file, the unmeasured one (assumed long), the larger group.
  assert.deepEqual(plan, [[heavy], [unmeasured], [light1, light2, hooked].sort(), [otherPackage, otherPackage2].sort(), [marked]]);
});

test('in a group, the failure list names each failing test with its own file; hooks stay in their file; a file that cannot load or whose hook fails fails by name', () => {
  const passes = testFile('three', 'passes.test.mjs', "import { test } from 'node:test';\ntest('passes alone and grouped', () => {});\n");
  // Module-level hooks: before runs ahead of this file's tests, after once they are done and before the next file's.
  const hooked = testFile(
    'three',
    'hooked.test.mjs',
    "import assert from 'node:assert/strict';\nimport { after, before, test } from 'node:test';\nlet ready = false;\nbefore(() => { ready = true; globalThis.hookedAfter = 'not yet'; });\nafter(() => { globalThis.hookedAfter = 'ran'; });\ntest('its own before ran first', () => assert.equal(ready, true));\n",
  );
  const hookFails = testFile(
    'three',
    'hook-fails.test.mjs',
    "import { before, test } from 'node:test';\nbefore(() => { throw new Error('before failed'); });\ntest('behind a failing before', () => {});\n",
  );
  const fails = testFile(
    'three',
    'fails.test.mjs',
    "import assert from 'node:assert/strict';\nimport { describe, test } from 'node:test';\ndescribe('a suite', () => {\n  test('this one fails', () => assert.equal(1, 2));\n  test('this one passes', () => {});\n});\n",
  );
  const broken = testFile('three', 'broken.test.mjs', "throw new Error('broken at load');\n");
  const later = testFile(
    'three',
    'later.test.mjs',
    "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\ntest('a file after the broken one still runs, after the hooked file\\'s after', () => assert.equal(globalThis.hookedAfter, 'ran'));\n",
  );
  const bundles = join(dir, 'bundles');
  const [entry] = groups.groupEntries([[passes, hooked, fails, hookFails, broken, later]], bundles, (f) => f);
  const run = runTestFile(entry!, dir);
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const list = run.stdout.slice(run.stdout.indexOf('failed tests:'));
  // The failing test, the test its file's failing before held back, that file's suite and the broken file's suite.
  assert.match(run.stdout, /\n4 failed tests:\n/);
  assert.match(list, /✗ packages\/three\/test\/fails\.test\.mjs:\d+\n {2}this one fails\n/);
  assert.match(list, /✗ packages\/three\/test\/hook-fails\.test\.mjs:\d+\n {2}behind a failing before\n/);
  assert.match(
    list,
    /✗ \S*packages\/three\/test\/hook-fails\.test\.mjs\n {2}\S*packages\/three\/test\/hook-fails\.test\.mjs\n *Error: before failed/,
  );
  assert.match(
    list,
    /✗ \S*packages\/three\/test\/broken\.test\.mjs\n {2}\S*packages\/three\/test\/broken\.test\.mjs\n *Error: broken at load/,
  );
  assert.doesNotMatch(list, /passes alone|this one passes|after the broken one|its own before/);
  assert.match(run.stdout, /\n *ok \d+ - passes alone and grouped\n/);
  assert.match(run.stdout, /\n *ok \d+ - its own before ran first\n/);
  assert.match(run.stdout, /\n *ok \d+ - a file after the broken one still runs, after the hooked file's after\n/);
  assert.match(run.stdout, /# pass 4\n# fail 1\n# cancelled 1\n/);
});

test("a busy machine's last run does not make light files heavy: its times are scaled to the committed ones' pace", async () => {
  const { readTestTimes } = (await import(pathToFileURL(join(root, 'scripts/lib/test-times.js')).href)) as {
    readTestTimes(committedFile: string, lastRunFile: string): Record<string, number>;
  };
  const committed = join(dir, 'committed-times.json');
  const last = join(dir, 'last-times.json');
  writeFileSync(committed, JSON.stringify({ 'a.test.ts': 1000, 'b.test.ts': 9000, 'gone.test.ts': 500 }));
  // Everything took three times as long, and a new file appeared.
  writeFileSync(last, JSON.stringify({ 'a.test.ts': 3000, 'b.test.ts': 27000, 'new.test.ts': 6000 }));
  assert.deepEqual(readTestTimes(committed, last), { 'a.test.ts': 1000, 'b.test.ts': 9000, 'gone.test.ts': 500, 'new.test.ts': 2000 });
  // No last run: the committed figures as they are.
  assert.deepEqual(readTestTimes(committed, join(dir, 'none.json')), { 'a.test.ts': 1000, 'b.test.ts': 9000, 'gone.test.ts': 500 });
});

test("a run's times are kept for this repository's files only (the runner's own suites run files in temp directories)", async () => {
  const { recordTestTimes } = (await import(pathToFileURL(join(root, 'scripts/lib/test-times.js')).href)) as {
    recordTestTimes(times: Record<string, number>, file: string): void;
  };
  const out = join(dir, 'recorded-times.json');
  recordTestTimes({ 'packages/kes/test/pki.test.ts': 12.4, 'packages/q/test/fails.test.ts': 7 }, out);
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), { 'packages/kes/test/pki.test.ts': 12 });
});
