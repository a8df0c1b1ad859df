#!/usr/bin/env node
// Runs every package's test suites with Node's own test runner, from JavaScript compiled ahead of time
// (scripts/lib/compile-tests.js: no TypeScript loader in any test process), after building the bundles.
// Usage: node scripts/run-tests.js [--checks] [package | test file ...]   (default: all packages)
// --checks runs `npm run check` (lint and typecheck) alongside the suites (scripts/lib/checks.js): `npm test`.
// --profile ends with the slowest test files by wall time and by CPU (their own and their child processes').
import { readdirSync, statSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { startChecks } from './lib/checks.js';
import { startTestServices } from './lib/run-services.js';
import { compileTests, compiledPath } from './lib/compile-tests.js';
import { bundleTests, bundledPath, BUNDLES } from './lib/bundle-tests.js';
import { groupEntries, planGroups } from './lib/test-groups.js';
import { readTestTimes } from './lib/test-times.js';
import { testTmpdir } from './lib/test-tmpdir.js';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const withChecks = process.argv.includes('--checks');
const profile = process.argv.includes('--profile');
const wanted = process.argv.slice(2).filter((a) => a !== '--checks' && a !== '--profile');
const packages = wanted.length ? wanted : readdirSync(join(root, 'packages'));

function collect(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'fixtures' ? [] : collect(p);
    return /\.test\.ts$/.test(name) ? [p] : [];
  });
}

const files = packages.flatMap((p) => (p.endsWith('.ts') ? [join(process.cwd(), p)] : collect(join(root, 'packages', p, 'test')))).sort();
if (files.length === 0) {
  console.error(`no test files found for: ${packages.join(', ')}`);
  process.exit(1);
}
const checks = withChecks ? startChecks(root) : undefined;
// Every test file, what it imports and what it spawns (fixtures, scripts/start.ts…) as JavaScript in .cache/test-js/.
await compileTests();
// The run's temporary files in memory when there is room (scripts/lib/test-tmpdir.js): TMPDIR of every process below.
const tmp = testTmpdir(process.env);
const runEnv = tmp.env;
// One PostgreSQL cluster and one moto_server for the whole run instead of one per file (scripts/lib/test-services.ts),
// started while the bundles build and the first files run: a file that needs them waits for them.
const services = startTestServices(root, runEnv, runEnv.TMPDIR || tmpdir());
// The CLI suites spawn the commands in packages/*/bin, which run the built bundles while those are current
// (scripts/run-cli.js): build them first, so each spawn skips compiling the TypeScript sources.
// Beside them, each test file and fixture bundled (scripts/lib/bundle-tests.js; shared code in common chunks): a
// process loads a few chunks instead of hundreds of modules. KESGATE_TEST_BUNDLE=0 runs the compiled files unbundled.
const bundled = process.env.KESGATE_TEST_BUNDLE !== '0';
const { currentBundles, currentScripts } = await import('./build.js');
// And the bundles `npm start` and `npm run cluster` run (scripts/run-script.js), for the tests that spawn those.
await Promise.all([currentBundles(), currentScripts(), bundled && bundleTests(files)]);
// The usual reporter (spec on a terminal, TAP otherwise), plus per-package times at the end.
const reporter = process.stdout.isTTY ? 'spec' : 'tap';
const times = join(root, 'scripts/lib/package-times.js');
// No tsx: compiling on the fly cost every test process about a second of CPU. Source maps lead stacks back to the .ts.
// Three files at a time: compiled, a file spends most of its time waiting on sockets, processes and timers, so two
// leave the 2-core machine the suites are measured on partly idle. KESGATE_TEST_CONCURRENCY changes it.
const concurrency = Number(process.env.KESGATE_TEST_CONCURRENCY) || 3;
// Light test files share a process, several to one (scripts/lib/test-groups.js): each process's load is paid once.
const grouped = bundled && process.env.KESGATE_TEST_GROUPS !== '0';
const plan = grouped ? planGroups(files, readTestTimes()) : undefined;
// Every file through an entry of its group (one file alone is a group of one), the longest first.
const testPaths = plan ? groupEntries(plan, BUNDLES, bundledPath) : files.map(bundled ? bundledPath : compiledPath);
/** The test files each process runs, by the path it was started with. */
const filesOf = new Map(plan ? testPaths.map((path, i) => [path, plan[i]]) : []);
const groups = plan?.filter((g) => g.length > 1) ?? [];
if (groups.length > 0) {
  const together = groups.reduce((n, g) => n + g.length, 0);
  console.log(
    `# ${files.length} test files in ${testPaths.length} processes: ${together} light files in ${groups.length} groups (KESGATE_TEST_GROUPS=0: one process each)`,
  );
}
const profileDir = profile ? mkdtempSync(join(tmpdir(), 'kesgate-profile-')) : undefined;
const cpuLog = profileDir && join(profileDir, 'cpu.jsonl');
const sourceMaps = process.env.KESGATE_TEST_SOURCE_MAPS === '1';
const args = [
  ...(cpuLog ? ['--import', join(root, 'scripts/lib/cpu-probe.js')] : []),
  // Source maps cost each process 0.3-1 s of CPU; the failure list maps what it prints (scripts/lib/bundle-locations.js).
  ...(sourceMaps ? ['--enable-source-maps'] : []),
  '--test',
  `--test-concurrency=${concurrency}`,
  '--test-timeout=300000',
  `--test-reporter=${reporter}`,
  '--test-reporter-destination=stdout',
  `--test-reporter=${times}`,
  '--test-reporter-destination=stdout',
  ...testPaths,
];
let status;
try {
  const env = {
    ...runEnv,
    ...services.env,
    ...(cpuLog ? { KESGATE_TEST_CPU_LOG: cpuLog } : {}),
    ...(bundled ? { KESGATE_TEST_BUNDLES: BUNDLES } : {}),
  };
  // Not spawnSync: the checks beside the suites are timed by their exit events, which a blocked loop would see only
  // at the end of the run.
  const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: root, env });
  status = await new Promise((resolve) => {
    child.once('error', () => resolve(1));
    child.once('exit', (code) => resolve(code ?? 1));
  });
} finally {
  await services.stop();
  tmp.remove();
}
const servicesFailed = await services.ready.then(
  () => false,
  (err) => (console.error(`# ${err.message}`), true),
);
if (cpuLog) printProfile(cpuLog);
const checked = (await checks?.finish()) ?? true;
process.exit(status || (checked && !servicesFailed ? 0 : 1));

/** The 15 test files that took longest, by wall time and by CPU, from scripts/lib/cpu-probe.js's lines. */
function printProfile(log) {
  const rows = existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    : [];
  // Kept for the next run's look (and for tables like the one in a commit message).
  if (rows.length) writeFileSync(join(root, '.cache', 'test-profile.jsonl'), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  rmSync(dirname(log), { recursive: true, force: true });
  const name = (f) => {
    // A group's entry, by the test files it runs.
    const sources = (filesOf.get(f) ?? []).map((file) => relative(root, file));
    if (sources.length > 0) return sources.length === 1 ? sources[0] : `${sources[0]} and ${sources.length - 1} more`;
    return relative(bundled ? BUNDLES : join(root, '.cache/test-js'), f).replace(/\.js$/, '.ts');
  };
  const total = rows.reduce((sum, r) => sum + r.own + r.children, 0);
  console.log(`\nCPU of the test files: ${total.toFixed(0)} s (${rows.length} files; their own and their child processes')`);
  for (const [title, key] of [
    ['wall', (r) => r.wall],
    ['CPU', (r) => r.own + r.children],
  ]) {
    console.log(`slowest 15 by ${title} (wall s, CPU s own + children):`);
    for (const r of [...rows].sort((a, b) => key(b) - key(a)).slice(0, 15)) {
      console.log(
        `  ${r.wall.toFixed(1).padStart(6)} ${r.own.toFixed(1).padStart(6)} + ${r.children.toFixed(1).padStart(5)}  ${name(r.file)}`,
      );
    }
  }
}
