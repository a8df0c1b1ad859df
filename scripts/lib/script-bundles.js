// `npm start` and `npm run cluster` as bundled JavaScript in dist/scripts/ (esbuild), as the commands in packages/*/bin
// have theirs (scripts/build.js): tsx compiling scripts/start.ts and everything it imports cost about 1.8 s of CPU on
// every start. scripts/run-script.js runs the bundle while it is newer than every file it was built from, else the
// TypeScript source through tsx; the scripts build their bundle when it is not current, so the start after an edit
// (or a fresh clone's first `npm start`) is the last one through tsx.
// The plain JavaScript modules of scripts/ they import (scripts/build.js…) stay outside the bundle, loaded from
// where they are: they locate the repository from their own path and import esbuild, which is not bundled.
import { build } from 'esbuild';
import { existsSync, mkdirSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isFresh } from '../run-cli.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the bundles go: two levels below the root, as scripts/lib/ is, so a path computed from a module's own location (dev-state's REPO_ROOT) is the same. */
export const SCRIPTS_DIST = join(root, 'dist', 'scripts');

/** The scripts that are bundled: `node scripts/run-script.js <name>` runs one. */
export const SCRIPTS = ['start', 'cluster'];

/**
 * Files whose change may change the bundles although no source they were built from did: this file (the esbuild
 * settings) and the installed dependencies (npm rewrites both lock files on install). Listed with the sources in
 * inputs.json, so the freshness check (run-cli.js's isFresh) covers them.
 */
const BUILD_INPUTS = ['scripts/lib/script-bundles.js', 'package-lock.json', 'node_modules/.package-lock.json'];

/** The bundle of script `name` in `outDir`. */
export const scriptBundle = (name, outDir = SCRIPTS_DIST) => join(outDir, `${name}.mjs`);

/** The inputs file of the bundles in `outDir`. */
export const scriptInputs = (outDir = SCRIPTS_DIST) => join(outDir, 'inputs.json');

/** Keeps an import of a plain JavaScript module under scripts/ out of the bundle, imported by its path relative to `outDir`. */
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

/**
 * Builds every script into `outDir` (dist/scripts/ by default), each file written beside its target and renamed into
 * place, the bundles timed when the build began (a source saved during the build counts as newer), inputs.json last.
 */
export async function buildScripts(outDir = SCRIPTS_DIST) {
  const began = new Date();
  const entryPoints = Object.fromEntries(SCRIPTS.map((name) => [name, join(root, 'scripts', `${name}.ts`)]));
  const result = await build({
    absWorkingDir: root,
    entryPoints,
    outdir: outDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outExtension: { '.js': '.mjs' },
    sourcemap: true,
    logLevel: 'warning',
    write: false,
    metafile: true,
    // Native code and packages that locate their own files at run time stay in node_modules, as in scripts/build.js.
    external: ['better-sqlite3', 'pino', 'thread-stream', 'esbuild', 'vite', 'pg-native'],
    plugins: [scriptsJsExternal(outDir)],
    banner: { js: "import { createRequire as __kesgateRequire } from 'node:module'; const require = __kesgateRequire(import.meta.url);" },
  });
  const inputs = Object.fromEntries(
    SCRIPTS.map((name) => {
      const output = result.metafile.outputs[relative(root, scriptBundle(name, outDir))];
      const sources = Object.keys(output?.inputs ?? {}).filter((f) => !f.includes('node_modules/'));
      return [name, [...sources, ...BUILD_INPUTS].sort()];
    }),
  );
  mkdirSync(outDir, { recursive: true });
  const bundles = new Set(SCRIPTS.map((name) => scriptBundle(name, outDir)));
  for (const [path, contents] of [
    ...result.outputFiles.map((f) => [f.path, f.contents]),
    [scriptInputs(outDir), `${JSON.stringify(inputs, null, 1)}\n`],
  ]) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, contents);
    if (bundles.has(path)) utimesSync(tmp, began, began);
    renameSync(tmp, path);
  }
}

/** Builds the bundles in `outDir` only when one is missing or older than a file it was built from. */
export async function currentScripts(outDir = SCRIPTS_DIST) {
  const current = SCRIPTS.every((name) => isFresh(name, scriptBundle(name, outDir), scriptInputs(outDir)));
  if (!current) await buildScripts(outDir);
}
