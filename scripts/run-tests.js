#!/usr/bin/env node
// Runs every package's test suites with Node's own test runner, from JavaScript compiled ahead of time
// (scripts/lib/compile-tests.js: no TypeScript loader in any test process), after building the bundles.
// Usage: node scripts/run-tests.js [--checks] [package | test file ...]   (default: all packages)
// --checks runs `npm run lint` and `npm run typecheck` alongside the suites (scripts/lib/checks.js): `npm test`.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startChecks } from './lib/checks.js';
import { startTestServices } from './lib/run-services.js';
import { compileTests, compiledPath } from './lib/compile-tests.js';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const withChecks = process.argv.includes('--checks');
const wanted = process.argv.slice(2).filter((a) => a !== '--checks');
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
// One PostgreSQL cluster and one moto_server for the whole run instead of one per file (scripts/lib/test-services.ts),
// started while the bundles build.
const servicesStarting = startTestServices(root, process.env);
// The CLI suites spawn the commands in packages/*/bin, which run the built bundles while those are current
// (scripts/run-cli.js): build them first, so each spawn skips compiling the TypeScript sources.
const { buildBundles } = await import('./build.js');
await buildBundles();
// The usual reporter (spec on a terminal, TAP otherwise), plus per-package times at the end.
const reporter = process.stdout.isTTY ? 'spec' : 'tap';
const times = join(root, 'scripts/lib/package-times.js');
// No tsx: compiling on the fly cost every test process about a second of CPU. Source maps lead stacks back to the .ts.
const args = [
  '--enable-source-maps',
  '--test',
  '--test-concurrency=2',
  '--test-timeout=300000',
  `--test-reporter=${reporter}`,
  '--test-reporter-destination=stdout',
  `--test-reporter=${times}`,
  '--test-reporter-destination=stdout',
  ...files.map(compiledPath),
];
const services = await servicesStarting;
let status;
try {
  const res = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root, env: { ...process.env, ...services.env } });
  status = res.status ?? 1;
} finally {
  await services.stop();
}
const checked = (await checks?.finish()) ?? true;
process.exit(status || (checked ? 0 : 1));
