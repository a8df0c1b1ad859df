#!/usr/bin/env node
// Bundles the commands into dist/ (esbuild, a development dependency that tsx brings): `kes`, `kesgate` (each
// CLI and its server) and `kesgate-sse`; and the scripts behind `npm start` and `npm run cluster` into
// dist/scripts/. Production runs plain JavaScript without a TypeScript loader in memory (about 30 MiB less per
// process), and a CLI command starts in a fraction of the time tsx takes to compile its sources. `npm start`, the
// Dockerfiles and the benchmarks run these bundles; the commands in packages/*/bin run them while they are newer
// than every source they were built from (scripts/run-cli.js), else the sources through tsx. dist/inputs.json
// lists those sources.
// Also builds the operator console (Vite) into packages/console/dist, which the gateway serves at /console/.
// `--console-only` builds just the console, `--servers-only` just the bundles (the Docker images, the tests).
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isFresh, SCRIPTS } from './run-cli.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const DIST = join(root, 'dist');

/** The entry points' files in `dir`. */
const bundlesIn = (dir) => ({
  kes: join(dir, 'kes.mjs'),
  kesgate: join(dir, 'kesgate.mjs'),
  'kesgate-sse': join(dir, 'kesgate-sse.mjs'),
});

export const BUNDLES = bundlesIn(DIST);

const ENTRY_POINTS = {
  kes: join(root, 'packages/kes/src/cli/main.ts'),
  kesgate: join(root, 'packages/gateway/src/cli/main.ts'),
  'kesgate-sse': join(root, 'packages/dare/src/cli.ts'),
};

/** Per command, the repository files its bundle was built from (paths relative to the root), for scripts/run-cli.js. */
export const INPUTS = join(DIST, 'inputs.json');

/**
 * The environment to start `kesgate server` with. Every object write is open + write + fsync + close + rename
 * + fsync(dir) on libuv's thread pool; its default of 4 threads serialises concurrent PUTs behind each other's
 * fsyncs. libuv sizes the pool when the process loads its first module, so setting the variable from
 * JavaScript has no effect (measured on Node 20): it must come from the parent (scripts, docker/Dockerfile).
 */
export const GATEWAY_ENV = { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '16' };

/** What every bundle here is built with. */
const base = {
  // Paths in the output (the comments naming each source) are relative to this, not to the caller's working
  // directory: a build started from elsewhere (a test's `npm start` runs from its own directory) makes the same
  // files, so it never removes chunks that a command started from the other build still has to load.
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outExtension: { '.js': '.mjs' },
  sourcemap: true,
  logLevel: 'warning',
  write: false,
  metafile: true,
  // Native code and packages that locate their own files at run time stay in node_modules.
  external: ['better-sqlite3', 'pino', 'thread-stream', 'esbuild', 'vite', 'pg-native'],
  // Some dependencies are CommonJS and call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __kesgateRequire } from 'node:module'; const require = __kesgateRequire(import.meta.url);" },
};

/** The commands' build. */
const commands = {
  ...base,
  // Code a command loads only for some subcommands (the servers, SQLite, PostgreSQL…) goes into shared
  // chunks, loaded when first imported: a client command parses tens of kilobytes, not megabytes.
  splitting: true,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
};

export const CONSOLE_DIST = join(root, 'packages/console/dist');

/** The console's static files (packages/console/vite.config.ts says how). */
export async function buildConsole() {
  const began = new Date();
  const files = consoleSources();
  const { build: viteBuild } = await import('vite');
  await viteBuild({ root: join(root, 'packages/console'), logLevel: 'warn' });
  // What this build was made from, timed when it began (as the bundles' entry points are): see currentConsole().
  const tmp = `${CONSOLE_INPUTS}.${process.pid}.tmp`;
  mkdirSync(DIST, { recursive: true });
  writeFileSync(tmp, `${JSON.stringify(files, null, 1)}\n`);
  utimesSync(tmp, began, began);
  renameSync(tmp, CONSOLE_INPUTS);
  return CONSOLE_DIST;
}

/** The console's sources as of its last build (outside packages/console/dist, which Vite empties and the gateway serves). */
const CONSOLE_INPUTS = join(DIST, 'console-inputs.json');

/** Every file the console is built from (paths relative to the root, sorted): packages/console but its build, tests and modules. */
function consoleSources() {
  const walk = (dir) =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
      const path = `${dir}/${e.name}`;
      if (!e.isDirectory()) return [path];
      return ['dist', 'node_modules', 'test'].includes(e.name) && dir === 'packages/console' ? [] : walk(path);
    });
  return walk('packages/console').sort();
}

/**
 * Files whose change may change any build's output although no source listed by the build did: this script
 * (the esbuild and Vite settings) and the installed dependencies (npm rewrites both lock files on install).
 */
const BUILD_INPUTS = ['scripts/build.js', 'package-lock.json', 'node_modules/.package-lock.json'];

/** Whether each of `files` (relative to the root) exists and was last changed before `builtMs`. */
function allOlder(files, builtMs) {
  return files.every((file) => {
    try {
      return statSync(join(root, file)).mtimeMs <= builtMs;
    } catch {
      return false; // removed or renamed since the build
    }
  });
}

/**
 * The bundles in dist/, built first only when one is missing or older than a file it was built from (the
 * sources dist/inputs.json lists, as the commands in packages/*\/bin check, and BUILD_INPUTS). What `npm start`,
 * `npm run cluster` and the test runner use: each used to rebuild all three (~3.5 s of CPU) on every start, the
 * tests' starts included, although nothing had changed; `npm run build` still always builds. `outDir` as for buildBundles.
 */
export async function currentBundles(outDir = DIST) {
  const bundles = bundlesIn(outDir);
  return allCurrent(bundles, join(outDir, 'inputs.json')) ? bundles : buildBundles(outDir);
}

/** Whether every bundle of `bundles` (name → file) is newer than the sources `inputsFile` lists for it and than BUILD_INPUTS. */
function allCurrent(bundles, inputsFile) {
  return Object.entries(bundles).every(([name, file]) => isFresh(name, file, inputsFile) && allOlder(BUILD_INPUTS, statSync(file).mtimeMs));
}

/** The console in packages/console/dist, built first only when a file it is built from (or BUILD_INPUTS) changed, was added or removed since. */
export async function currentConsole() {
  let built;
  let listed;
  try {
    built = statSync(CONSOLE_INPUTS).mtimeMs;
    listed = readFileSync(CONSOLE_INPUTS, 'utf8');
  } catch {
    return buildConsole(); // never built here
  }
  const files = consoleSources();
  const current =
    existsSync(join(CONSOLE_DIST, 'index.html')) &&
    listed === `${JSON.stringify(files, null, 1)}\n` &&
    allOlder([...files, ...BUILD_INPUTS], built);
  return current ? CONSOLE_DIST : buildConsole();
}

/** The repository files (not node_modules) in an entry point's output and every chunk it may load, sorted. */
function sourcesOf(metafile, entry) {
  const seen = new Set();
  const sources = new Set();
  const visit = (output) => {
    if (seen.has(output) || !metafile.outputs[output]) return;
    seen.add(output);
    for (const input of Object.keys(metafile.outputs[output].inputs)) {
      if (!input.includes('node_modules/')) sources.add(input);
    }
    for (const { path } of metafile.outputs[output].imports) visit(path);
  };
  visit(entry);
  return [...sources].sort();
}

/**
 * Builds in memory, then writes each file beside its target and renames it into place, chunks (named by
 * their content) first and the entry points last: a command started meanwhile runs the old build or the new
 * one, never half of one. Chunks no entry point of this build uses are removed.
 * `outDir`: elsewhere than dist/ (a test's copy, built while other processes run those in dist/).
 */
export async function buildBundles(outDir = DIST) {
  const began = new Date();
  const bundles = bundlesIn(outDir);
  const chunks = join(outDir, 'chunks');
  const result = await build({ ...commands, outdir: outDir, entryPoints: ENTRY_POINTS });
  mkdirSync(chunks, { recursive: true });
  writeBuild(result, bundles, join(outDir, 'inputs.json'), began);
  const written = new Set(result.outputFiles.map((f) => basename(f.path)));
  for (const name of readdirSync(chunks)) if (!written.has(name)) rmSync(join(chunks, name), { force: true });
  return bundles;
}

/**
 * Writes a build made in memory: every output file, then `inputsFile` (per entry point of `bundles`, name → file,
 * the repository files it was built from, for isFresh), each beside its target and renamed into place, the entry
 * points last. Their time is set to when the build `began`, so a source saved during the build counts as newer.
 */
function writeBuild(result, bundles, inputsFile, began) {
  const inputs = Object.fromEntries(
    Object.entries(bundles).map(([name, file]) => [name, sourcesOf(result.metafile, relative(root, file))]),
  );
  const entries = new Set(Object.values(bundles));
  const isEntry = (path) => entries.has(path.replace(/\.map$/, ''));
  const files = [...result.outputFiles.map((f) => [f.path, f.contents]), [inputsFile, `${JSON.stringify(inputs, null, 1)}\n`]];
  files.sort(([a], [b]) => Number(isEntry(a)) - Number(isEntry(b)));
  for (const [path, contents] of files) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, contents);
    if (entries.has(path)) utimesSync(tmp, began, began);
    renameSync(tmp, path);
  }
}

/**
 * `npm start` and `npm run cluster` as bundles in dist/scripts/: tsx compiling scripts/start.ts and everything it
 * imports cost about 1.8 s of CPU on every start. scripts/run-script.js runs a bundle while it is current (run-cli.js's
 * scriptToRun), else the TypeScript source through tsx; the scripts make their bundles current when they start, so
 * the start after an edit (or a fresh clone's first `npm start`) is the last one through tsx.
 */
export const SCRIPTS_DIST = join(DIST, 'scripts');

/** The script bundles in `dir`, name → file. */
const scriptsIn = (dir) => Object.fromEntries(SCRIPTS.map((name) => [name, join(dir, `${name}.mjs`)]));

/**
 * Keeps an import of a plain JavaScript module under scripts/ (this file, run-cli.js…) out of the script bundles,
 * imported by its path relative to `outDir`: those modules locate the repository from their own path and import
 * esbuild, which is not bundled.
 */
const scriptsJsExternal = (outDir) => ({
  name: 'scripts-js-external',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const file = resolve(args.resolveDir, args.path);
      if (!file.startsWith(join(root, 'scripts') + '/') || !existsSync(file)) return undefined; // a .ts imported as .js
      const path = relative(outDir, file);
      return { path: path.startsWith('.') ? path : `./${path}`, external: true };
    });
  },
});

/** Builds every script into `outDir` (dist/scripts/ by default; two levels below the root, as scripts/lib/ is, so a path computed from a module's own location is the same). */
export async function buildScripts(outDir = SCRIPTS_DIST) {
  const began = new Date();
  const entryPoints = Object.fromEntries(SCRIPTS.map((name) => [name, join(root, 'scripts', `${name}.ts`)]));
  const result = await build({ ...base, outdir: outDir, entryPoints, plugins: [scriptsJsExternal(outDir)] });
  mkdirSync(outDir, { recursive: true });
  writeBuild(result, scriptsIn(outDir), join(outDir, 'inputs.json'), began);
}

/** The script bundles in `outDir`, built first only when one is missing or older than a file it was built from (or BUILD_INPUTS). */
export async function currentScripts(outDir = SCRIPTS_DIST) {
  if (!allCurrent(scriptsIn(outDir), join(outDir, 'inputs.json'))) await buildScripts(outDir);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const consoleOnly = process.argv.includes('--console-only');
  const out = consoleOnly ? [] : Object.values(await buildBundles());
  if (!process.argv.includes('--servers-only')) out.push(await buildConsole());
  console.log(`built ${out.join(', ')}`);
}
