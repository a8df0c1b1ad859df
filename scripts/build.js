#!/usr/bin/env node
// Bundles the two servers into dist/ (esbuild, which tsx already brings): production runs plain JavaScript
// without a TypeScript loader in memory (about 30 MiB less per process). Tests and the CLIs in bin/ run the
// sources through tsx; `npm start`, the Docker images and the benchmarks run these bundles.
// Also builds the operator console (Vite) into packages/console/dist, which the gateway serves at /console/.
// `--console-only` builds just the console, `--servers-only` just the two bundles.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const BUNDLES = {
  kes: join(root, 'dist/kes.mjs'),
  kesgate: join(root, 'dist/kesgate.mjs'),
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  logLevel: 'warning',
  // Native code and packages that locate their own files at run time stay in node_modules.
  external: ['better-sqlite3', 'pino', 'thread-stream'],
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __kesgateRequire } from 'node:module'; const require = __kesgateRequire(import.meta.url);" },
};

export const CONSOLE_DIST = join(root, 'packages/console/dist');

/** The console's static files (packages/console/vite.config.ts says how). */
export async function buildConsole() {
  const { build: viteBuild } = await import('vite');
  await viteBuild({ root: join(root, 'packages/console'), logLevel: 'warn' });
  return CONSOLE_DIST;
}

/** `outDir`: elsewhere than dist/ (a test's copy, built while another process runs those in dist/). */
export async function buildBundles(outDir) {
  const out = outDir ? { kes: join(outDir, 'kes.mjs'), kesgate: join(outDir, 'kesgate.mjs') } : BUNDLES;
  await Promise.all([
    build({ ...common, entryPoints: [join(root, 'packages/kes/src/cli/main.ts')], outfile: out.kes }),
    build({
      ...common,
      entryPoints: [join(root, 'packages/gateway/src/cli/main.ts')],
      outfile: out.kesgate,
      // Object writes run open/write/fsync/close/rename/fsync on libuv's pool; 4 threads serialise concurrent PUTs.
      banner: { js: `${common.banner.js}\nprocess.env.UV_THREADPOOL_SIZE ??= '16';` },
    }),
  ]);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const consoleOnly = process.argv.includes('--console-only');
  const out = consoleOnly ? [] : Object.values(await buildBundles());
  if (!process.argv.includes('--servers-only')) out.push(await buildConsole());
  console.log(`built ${out.join(', ')}`);
}
