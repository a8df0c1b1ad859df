// `npm start` and `npm run cluster` run their scripts' bundles (dist/scripts/, built by scripts/build.js) while
// those are current, not the TypeScript sources through tsx (about 1.8 s of CPU per start), and the sources again
// once one is newer than the bundle, until the next build.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';

// The repository itself, not the compiled copy the test may run from (.cache/test-js/ links its plain JavaScript files).
const root = dirname(dirname(realpathSync(join(import.meta.dirname, '../../../../scripts/run-cli.js'))));
const out = mkdtempSync(join(tmpdir(), 'kesgate-script-bundles-'));
const home = mkdtempSync(join(tmpdir(), 'kesgate-script-home-'));
after(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

/** Runs `code` (an ES module body) in a node process of its own, from the repository's plain JavaScript (not the tests' compiled copy); its stdout. */
function runModule(code: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
}
const url = (file: string): string => JSON.stringify(pathToFileURL(join(root, file)).href);

/** What scripts/run-script.js would run for `name` with the bundles in `out`: true for the bundle, false for the .ts through tsx. */
function runsBundle(name: string): boolean {
  const chosen = JSON.parse(
    runModule(
      `const { scriptToRun } = await import(${url('scripts/run-cli.js')}); console.log(JSON.stringify(scriptToRun('${name}', ${JSON.stringify(out)})));`,
    ),
  ) as { bundle: boolean; file: string };
  assert.equal(chosen.file, chosen.bundle ? join(out, `${name}.mjs`) : join(root, 'scripts', `${name}.ts`));
  return chosen.bundle;
}

/** currentScripts(dir) in a process of its own: builds the bundles in `dir` unless current. */
const currentScripts = (dir = out): string =>
  runModule(`const { currentScripts } = await import(${url('scripts/build.js')}); await currentScripts(${JSON.stringify(dir)});`);

test('the scripts run from their bundles while current, from the sources once one is newer, and the next start rebuilds', () => {
  assert.equal(runsBundle('start'), false, 'not built yet: the source');
  // The repository's bundles (the test runner made them current: scripts/run-tests.js), their times kept: one build fewer here.
  currentScripts(join(root, 'dist/scripts'));
  cpSync(join(root, 'dist/scripts'), out, { recursive: true, preserveTimestamps: true });
  assert.equal(runsBundle('start'), true, 'built: the bundle');
  assert.equal(runsBundle('cluster'), true, 'built: the bundle');
  // A source of the start bundle, changed after the build: listed in inputs.json (as a path from the root) and newer.
  const source = join(out, 'changed-source.ts');
  writeFileSync(source, '// changed\n');
  const inputs = JSON.parse(readFileSync(join(out, 'inputs.json'), 'utf8')) as Record<string, string[]>;
  assert.ok(inputs.start!.includes('scripts/start.ts') && inputs.start!.includes('scripts/lib/dev-state.ts'), 'the sources are listed');
  assert.ok(inputs.cluster!.includes('scripts/cluster.ts'), 'of each script');
  assert.ok(!inputs.start!.includes('scripts/build.js'), 'the plain JavaScript of scripts/ stays outside the bundles');
  inputs.start!.push(relative(root, source));
  writeFileSync(join(out, 'inputs.json'), JSON.stringify(inputs));
  assert.equal(runsBundle('start'), false, 'a source newer than the bundle: the source');
  assert.equal(runsBundle('cluster'), true, 'the other script is still current');
  currentScripts();
  assert.equal(runsBundle('start'), true, 'rebuilt: the bundle again');
});

test('`npm start` and `npm run cluster` run scripts/run-script.js, which runs the current bundle without tsx', () => {
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.equal(scripts.start, 'node scripts/run-script.js start');
  assert.equal(scripts.cluster, 'node scripts/run-script.js cluster');
  // A resolve hook that refuses tsx: through tsx, the script could not load.
  const hook =
    'export async function resolve(s, c, next) { if (s.startsWith("tsx")) throw new Error("tsx refused by the test"); return next(s, c); }';
  const blockTsx = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  // The cluster script's first check (one HTTPS address per gateway) fails before it starts anything: its own message
  // shows the bundle loaded and ran, at the cost of loading it (a fresh development state would cost a second more).
  const run = spawnSync(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(blockTsx)}`, join(root, 'scripts/run-script.js'), 'cluster'],
    {
      cwd: root,
      env: {
        ...process.env,
        KESGATE_HOME: home,
        KESGATE_CLUSTER_ADDRESSES: '127.0.0.1:1',
        KESGATE_CLUSTER_TLS_ADDRESSES: '127.0.0.1:2,127.0.0.1:3',
      },
      encoding: 'utf8',
    },
  );
  assert.equal(run.status, 1, `${run.stdout}${run.stderr}`);
  assert.match(
    run.stderr,
    /npm run cluster failed: KESGATE_CLUSTER_ADDRESSES lists 1 gateways but KESGATE_CLUSTER_TLS_ADDRESSES 2: give one HTTPS address per gateway/,
  );
  assert.doesNotMatch(run.stderr, /tsx refused/);
  assert.deepEqual(readdirSync(home), [], 'it started nothing and wrote no state');
});

test('an unknown script name is refused with the usage', () => {
  const run = spawnSync(process.execPath, [join(root, 'scripts/run-script.js'), 'stat'], { cwd: root, encoding: 'utf8' });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /usage: node scripts\/run-script\.js <start\|cluster>/);
});
