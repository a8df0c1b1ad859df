// The test suites run from JavaScript that esbuild compiled ahead of time, not through tsx: loading tsx and
// compiling on the fly cost every test file's process and every process a test spawns about a second of CPU.
// compileTests() mirrors the repository into .cache/test-js/: each .ts under packages/*/{src,test,bin} and
// scripts/ becomes a .js beside a symlink to its source (tests that read sources still find them), with a source
// map back to the .ts (run with --enable-source-maps: a stack names the .ts line); every other file and
// directory is a symlink to the original, so what a test reads relative to its own file or to the repository
// root (fixtures, certs, docs, dist/, .git) is there. Each packages/*/package.json is copied with its exports
// pointing at the compiled .js, and .cache/test-js/node_modules/@kesgate/* links to those packages, so a
// self-import (`@kesgate/dare`) loads compiled code too; every other entry of node_modules links the repository's.
// Only sources changed since they were last compiled (size or mtime; .cache/test-js-stamps.json) go through esbuild,
// and only files whose output changed are rewritten (each atomically), so a run started meanwhile keeps working;
// outputs of removed sources are deleted.
import { build, version as esbuildVersion } from 'esbuild';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const MIRROR = join(root, '.cache', 'test-js');

/** Not linked: the mirror's own cache, and node_modules (mirrorNodeModules). */
const SKIP_TOP = new Set(['.cache', 'node_modules']);

/** Whether `rel` (a path relative to the root, `/`-separated) is a TypeScript module the mirror compiles. */
const compiles = (rel) =>
  rel.endsWith('.ts') && !rel.endsWith('.d.ts') && (/^packages\/[^/]+\/(src|test|bin)\//.test(rel) || rel.startsWith('scripts/'));

/** Whether the tree at `rel` holds a file the mirror compiles (then it is mirrored as a directory, else linked). */
const holdsCompiled = (rel) =>
  rel === 'packages' || rel === 'scripts' || rel.startsWith('scripts/') || /^packages\/[^/]+(\/(src|test|bin)(\/.*)?)?$/.test(rel);

function link(target, path) {
  try {
    if (readlinkSync(path) === target) return;
    rmSync(path, { recursive: true, force: true });
  } catch (err) {
    if (err.code === 'EINVAL') rmSync(path, { recursive: true, force: true }); // a file or directory where a link belongs
  }
  symlinkSync(target, path);
}

/** Writes `contents` to `path` unless it is already there: beside it first, then renamed into place. */
export function writeIfChanged(path, contents) {
  try {
    if (readFileSync(path).equals(Buffer.from(contents))) return false;
  } catch {
    // not there yet
  }
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
  return true;
}

/** Mirrors directory `rel` (links and directories; returns the .ts files to compile) and removes what no longer belongs. */
function mirrorDir(rel, sources) {
  const src = join(root, rel);
  const out = join(MIRROR, rel);
  mkdirSync(out, { recursive: true });
  const expected = new Set();
  for (const entry of readdirSync(src, { withFileTypes: true })) {
    const name = entry.name;
    const childRel = rel ? `${rel}/${name}` : name;
    if (!rel && SKIP_TOP.has(name)) continue;
    const target = join(out, name);
    expected.add(name);
    if (entry.isDirectory() && name !== 'node_modules' && holdsCompiled(childRel)) {
      if (lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(target);
      mirrorDir(childRel, sources);
      continue;
    }
    if (entry.isFile() && /^packages\/[^/]+\/package\.json$/.test(childRel)) {
      if (lstatSync(target, { throwIfNoEntry: false })?.isSymbolicLink()) rmSync(target);
      writeIfChanged(target, compiledPackageJson(readFileSync(join(src, name), 'utf8')));
      continue;
    }
    link(relative(out, join(src, name)), target);
    if (entry.isFile() && compiles(childRel)) {
      sources.push(childRel);
      expected.add(name.replace(/\.ts$/, '.js'));
      expected.add(name.replace(/\.ts$/, '.js.map'));
    }
  }
  for (const name of readdirSync(out)) {
    if (!rel && SKIP_TOP.has(name)) continue;
    if (!expected.has(name) && !name.endsWith('.tmp')) rmSync(join(out, name), { recursive: true, force: true });
  }
}

/** A package.json whose exports name the compiled .js instead of the .ts sources. */
function compiledPackageJson(text) {
  const pkg = JSON.parse(text);
  const rewrite = (v) =>
    typeof v === 'string' ? v.replace(/\.ts$/, '.js') : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x)]));
  if (pkg.exports) pkg.exports = rewrite(pkg.exports);
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/**
 * The mirror's node_modules: each entry of the repository's node_modules linked (a test that uses the root's
 * node_modules finds them all), but @kesgate/* linking the mirror's packages: `@kesgate/dare` loads compiled code.
 */
function mirrorNodeModules() {
  const modules = join(MIRROR, 'node_modules');
  const scope = join(modules, '@kesgate');
  mkdirSync(scope, { recursive: true });
  const expected = new Set(['@kesgate']);
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name === '@kesgate') continue;
    expected.add(name);
    link(relative(modules, join(root, 'node_modules', name)), join(modules, name));
  }
  for (const name of readdirSync(modules)) if (!expected.has(name)) rmSync(join(modules, name), { recursive: true, force: true });
  for (const dir of readdirSync(join(root, 'packages'))) {
    const file = join(root, 'packages', dir, 'package.json');
    if (!existsSync(file)) continue;
    const { name } = JSON.parse(readFileSync(file, 'utf8'));
    if (!name?.startsWith('@kesgate/')) continue;
    link(relative(scope, join(MIRROR, 'packages', dir)), join(scope, name.slice('@kesgate/'.length)));
  }
}

/** Brings .cache/test-js/ up to date with the sources; resolves to the mirror's root and how many files were rewritten. */
export async function compileTests() {
  const sources = [];
  mirrorDir('', sources);
  mirrorNodeModules();
  // Each .ts compiles alone (no bundling), so only sources changed since they were last compiled need esbuild.
  const stamps = readStamps();
  const changed = sources.filter((s) => stamps.files[s] !== stampOf(s) || !existsSync(compiledPath(join(root, s))));
  if (changed.length === 0) return { dir: MIRROR, sources: sources.length, compiled: 0, written: 0 };
  const result = await build({
    entryPoints: changed.map((s) => join(root, s)),
    outbase: root,
    outdir: MIRROR,
    bundle: false,
    platform: 'node',
    target: 'node20.10', // import attributes (`with { type: 'json' }`) are kept from 20.10 on
    format: 'esm',
    sourcemap: 'linked',
    sourcesContent: false,
    write: false,
    logLevel: 'warning',
  });
  let written = 0;
  for (const file of result.outputFiles) if (writeIfChanged(file.path, file.contents)) written += 1;
  // Stamped after the outputs are in place: a run stopped in between compiles those sources again next time.
  const files = {};
  const recompiled = new Set(changed);
  for (const s of sources) files[s] = recompiled.has(s) ? stampOf(s) : stamps.files[s];
  writeIfChanged(STAMPS, `${JSON.stringify({ compiler: stamps.compiler, files })}\n`);
  return { dir: MIRROR, sources: sources.length, compiled: changed.length, written };
}

/**
 * What each source was when it was last compiled (size and mtime), and with what (this file, esbuild, the tsconfig
 * files esbuild reads). Beside the mirror, not in it: mirrorDir() removes what does not belong there.
 */
const STAMPS = join(root, '.cache', 'test-js-stamps.json');

/** A file's size and mtime, `-` when it is missing: what says it changed (compile-tests and bundle-tests). */
export function fileStamp(file) {
  const st = statSync(file, { throwIfNoEntry: false });
  return st ? `${st.size}:${st.mtimeMs}` : '-';
}

const stampOf = (rel) => fileStamp(join(root, rel));

function readStamps() {
  // A change to this file, to esbuild or to a tsconfig may change every output: then nothing counts as compiled.
  const tsconfigs = ['tsconfig.json', ...readdirSync(join(root, 'packages')).map((p) => join('packages', p, 'tsconfig.json'))];
  const compiler = [fileStamp(fileURLToPath(import.meta.url)), esbuildVersion, ...tsconfigs.map((f) => fileStamp(join(root, f)))].join(' ');
  try {
    const saved = JSON.parse(readFileSync(STAMPS, 'utf8'));
    if (saved.compiler === compiler && saved.files && typeof saved.files === 'object') return { compiler, files: saved.files };
  } catch {
    // never compiled, or an unreadable stamp file: compile everything
  }
  return { compiler, files: {} };
}

/** The compiled file of a source path (absolute, under the root). */
export function compiledPath(file) {
  return join(MIRROR, relative(root, file)).replace(/\.ts$/, '.js');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = process.cpuUsage();
  const { dir, sources, compiled, written } = await compileTests();
  const cpu = process.cpuUsage(started);
  console.log(
    `${sources} sources in ${relative(root, dir)}: ${compiled} compiled, ${written} rewritten; ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU`,
  );
}
