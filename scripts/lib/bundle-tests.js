// Bundles the test files, and the fixtures tests start as processes of their own (scripts/lib/node-entry.ts), into
// .cache/test-bundles/ (esbuild; code shared between files goes into common chunks). A test process then loads a
// few chunks instead of resolving and parsing hundreds of small modules (the AWS SDK alone is hundreds): about
// 0.1-0.3 s less CPU per test file or fixture process, 13% of the CPU of the gateway's e2e and s3 suites.
// Each repository source keeps its own import.meta.url (and dirname, filename): that of its compiled copy in
// .cache/test-js/ (scripts/lib/compile-tests.js, run first), so paths a module computes from its own location
// (fixtures, workers, docs, the repository root) are the same as when it runs unbundled from there.
// Native addons and packages that find their own files at run time stay external (loaded from node_modules).
// Outputs are written only when they changed, each atomically; chunks no longer produced are removed after a
// day (a run started meanwhile may still load them).
// No build at all when the last one had the same entry points and no file it read has changed since
// (.cache/test-bundles-stamps.json): a run with nothing edited starts its tests a few seconds sooner.
import { createHash } from 'node:crypto';
import { build, transform, version as esbuildVersion } from 'esbuild';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fileStamp, MIRROR, writeIfChanged } from './compile-tests.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const BUNDLES = join(root, '.cache', 'test-bundles');

const CHUNKS = join(BUNDLES, 'chunks');

const STALE_CHUNK_MS = 24 * 3600 * 1000;

/**
 * import.meta.url, .dirname and .filename of a repository module as it has them unbundled: a .ts source those of
 * its compiled copy in the mirror, a .js file (the mirror links it) or a .ts the mirror does not compile its own.
 * esbuild's define replaces them as expressions (not inside strings); the inline source map keeps the lines.
 */
const importMetaOfMirror = {
  name: 'import-meta-of-mirror',
  setup(b) {
    // Only the repository's modules that use import.meta go through JavaScript (a few dozen of hundreds): a plugin
    // call per module made the build twice as long.
    const users = repositoryModules().filter((file) => readFileSync(file, 'utf8').includes('import.meta.'));
    if (users.length === 0) return;
    const escape = (p) => p.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    b.onLoad({ filter: new RegExp(`^(${users.map(escape).join('|')})$`) }, async (args) => {
      const rel = relative(root, args.path);
      const ts = rel.endsWith('.ts');
      const compiled = join(MIRROR, rel).replace(/\.ts$/, '.js');
      const file = ts && existsSync(compiled) ? compiled : args.path;
      const out = await transform(readFileSync(args.path, 'utf8'), {
        loader: ts ? 'ts' : 'js',
        format: 'esm',
        target: 'node20.10',
        sourcefile: args.path,
        sourcemap: 'inline',
        tsconfigRaw: { compilerOptions: { useDefineForClassFields: true, verbatimModuleSyntax: false } },
        define: {
          'import.meta.url': JSON.stringify(pathToFileURL(file).href),
          'import.meta.dirname': JSON.stringify(dirname(file)),
          'import.meta.filename': JSON.stringify(file),
        },
      });
      return { contents: out.code, loader: 'js' };
    });
  },
};

/**
 * A dependency's JSON file that it require()s (mime-db's 233 KB db.json, in four copies; iconv-lite's code pages) is
 * loaded from node_modules by the bundle's require() when that call runs, not inlined: inlined, every process that
 * loads the chunk parses it as a JavaScript object literal, required or not (~1.5 MB of a gateway test's ~8.5 MB).
 * Node's JSON loader parses it with JSON.parse, only when it is required.
 */
const dependencyJsonRequired = {
  name: 'dependency-json-required',
  setup(b) {
    b.onResolve({ filter: /\.json$/ }, async (args) => {
      if (args.pluginData === SKIP || args.kind !== 'require-call' || !args.resolveDir.includes(`${sep}node_modules${sep}`))
        return undefined;
      // Resolved as esbuild would (its own resolver, without this plugin), then named by its absolute path: the
      // bundle's require() is relative to the chunk, not to the module that called it.
      const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: SKIP });
      return found.errors.length > 0 ? undefined : { path: found.path, external: true };
    });
  },
};

/** Marks the resolve call dependencyJsonRequired makes itself. */
const SKIP = Symbol('dependency-json-required');

/** The repository's modules a bundle may hold: .ts, .js and .mjs files under packages/ and scripts/, not in node_modules or dist. */
function repositoryModules() {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist' && !entry.name.startsWith('.')) walk(p);
      } else if (/\.(ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) found.push(p);
    }
  };
  walk(join(root, 'packages'));
  walk(join(root, 'scripts'));
  return found;
}

/** The .ts files under packages/<name>/test/**\/fixtures/: entry points of processes the tests start. */
function fixtures() {
  const found = [];
  const walk = (dir, inFixtures) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) walk(p, inFixtures || entry.name === 'fixtures');
      else if (inFixtures && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) found.push(p);
    }
  };
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const test = join(root, 'packages', pkg, 'test');
    if (statSync(test, { throwIfNoEntry: false })?.isDirectory()) walk(test, false);
  }
  return found;
}

/**
 * Bundles `files` (absolute paths of test files) and every fixture; resolves to how many outputs were rewritten.
 * Skipped when the last build had the same entry points and none of the files it read has changed since.
 */
export async function bundleTests(files) {
  const entryPoints = [...new Set([...files, ...fixtures()])].sort();
  const key = buildKey(entryPoints);
  if (isCurrent(key)) return { dir: BUNDLES, written: 0, skipped: true };
  const result = await build({
    entryPoints,
    absWorkingDir: root,
    metafile: true,
    outbase: root,
    outdir: BUNDLES,
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node20.10',
    format: 'esm',
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    sourcesContent: false,
    minifyWhitespace: true,
    legalComments: 'none',
    external: [
      'better-sqlite3',
      'pino',
      'thread-stream',
      'pg-native',
      'cpu-features',
      'playwright-core',
      'esbuild',
      'typescript',
      'tsx',
      'vite',
    ],
    // Some dependencies are CommonJS and call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __testRequire } from 'node:module'; const require = __testRequire(import.meta.url);" },
    plugins: [importMetaOfMirror, dependencyJsonRequired],
    write: false,
    logLevel: 'warning',
  });
  let written = 0;
  const chunks = new Set();
  for (const file of result.outputFiles) {
    if (dirname(file.path) === CHUNKS) chunks.add(file.path);
    if (writeIfChanged(file.path, file.contents)) written += 1;
  }
  const now = Date.now();
  // No chunks directory when no code is shared between the entry points (one entry point alone, say).
  for (const name of existsSync(CHUNKS) ? readdirSync(CHUNKS) : []) {
    const p = join(CHUNKS, name);
    if (!chunks.has(p) && now - statSync(p).mtimeMs > STALE_CHUNK_MS) rmSync(p, { force: true });
  }
  const inputs = Object.fromEntries(Object.keys(result.metafile.inputs).map((f) => [f, fileStamp(join(root, f))]));
  writeIfChanged(STAMPS, `${JSON.stringify({ key, inputs, outputs: Object.keys(result.metafile.outputs) })}\n`);
  return { dir: BUNDLES, written, skipped: false };
}

/** The last build's key, the files it read (with their size and mtime) and what it wrote (paths relative to the root). */
const STAMPS = join(root, '.cache', 'test-bundles-stamps.json');

/**
 * What decides the output besides the files the build reads (stamped one by one): the entry points, this file and
 * compile-tests.js (the build's options, the mirror's layout) and esbuild's version.
 */
function buildKey(entryPoints) {
  const self = fileURLToPath(import.meta.url);
  return createHash('sha256')
    .update(JSON.stringify([entryPoints, esbuildVersion, fileStamp(self), fileStamp(join(dirname(self), 'compile-tests.js'))]))
    .digest('hex');
}

function isCurrent(key) {
  let saved;
  try {
    saved = JSON.parse(readFileSync(STAMPS, 'utf8'));
  } catch {
    return false;
  }
  if (saved?.key !== key || !saved.inputs || !Array.isArray(saved.outputs)) return false;
  for (const [file, stamp] of Object.entries(saved.inputs)) if (fileStamp(join(root, file)) !== stamp) return false;
  return saved.outputs.every((f) => existsSync(join(root, f)));
}

/** The bundle of a test file (an absolute source path under the root). */
export function bundledPath(file) {
  return join(BUNDLES, relative(root, file)).replace(/\.ts$/, '.js');
}
