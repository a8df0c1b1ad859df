// Several light test files in one process. A test process that loads the gateway, kes and the AWS SDK spends
// ~0.7-0.9 s of CPU before its first test (compiling and evaluating the bundle's chunks), more than all the tests of
// a light file take. Node 20's runner has no way to run files in one process (no --test-isolation=none), so
// groupEntries() writes, for each group, an entry module that imports the group's bundled test files one after the
// other, each inside a suite of its own named for it (`describe(source, async () => import(...))`), in order. Node
// registers what a module calls while a suite's function runs (its tests, suites and module-level before/after
// hooks) on that suite: a file's hooks run around its own tests only, and a failing hook, or a file that throws
// while loading, fails that file's suite, named for it (scripts/lib/package-times.js lists it under that name).
// Every test reports the file it was written in (the runner names a test by where test() was called), so failures
// keep their file.
//
// Only files that are safe beside others are grouped: none that watch their own process (descriptors, memory),
// none marked `// kesgate-test: own-process`; and only files whose tests took less than LIGHT_MS in an earlier run
// (scripts/lib/test-times.js): a heavy file gains little and would hold its group's other files behind it.
// Files that run alone go through an entry too (a group of one), so that the run starts everything longest first.
// KESGATE_TEST_GROUPS=0 runs every file in its own process.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeIfChanged } from './compile-tests.js';
import { GROUPS_DIR } from './package-times.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A file with this comment always runs in a process of its own. */
export const OWN_PROCESS_MARKER = 'kesgate-test: own-process';

/** Files that must not share their process, and why (the marker does the same from inside a file). */
const OWN_PROCESS = new Map([
  ['packages/gateway/test/edges/get-abort.test.ts', 'counts the descriptors its process holds open'],
  ['packages/gateway/test/edges/fd-leaks.test.ts', 'counts the descriptors its process holds open'],
]);

/** Files whose tests took less than this (ms) are grouped. */
const LIGHT_MS = 15000;
/** About how long (ms) a group's tests take together: long enough to share a load, short enough to spread the run. */
const GROUP_MS = 30000;
/** What loading a file costs a group (ms, estimated), counted when filling a group. */
const LOAD_MS = 500;

const STALE_ENTRY_MS = 24 * 3600 * 1000;

/** Why `file` (absolute .ts path) runs in its own process, or undefined when it may share one. */
export function ownProcessReason(file) {
  const rel = relative(root, file).split('\\').join('/');
  if (OWN_PROCESS.has(rel)) return OWN_PROCESS.get(rel);
  const text = readFileSync(file, 'utf8');
  if (text.includes(OWN_PROCESS_MARKER)) return 'marked';
  return undefined;
}

/**
 * The processes of a run: `files` (absolute .ts paths) in groups (arrays of files; a file that runs alone is a
 * group of one), the longest first, which is the order the runner starts them in. From `times` (source path
 * relative to `base`, the repository → ms); a file with no recorded time runs alone.
 */
export function planGroups(files, times, base = root) {
  const bins = []; // { files, ms }
  const light = new Map(); // package → [{ file, ms }]
  for (const file of files) {
    const rel = relative(base, file).split('\\').join('/');
    const ms = times[rel];
    if (typeof ms !== 'number' || ms >= LIGHT_MS || ownProcessReason(file)) {
      // Unmeasured: assumed long, so that it starts early.
      bins.push({ files: [file], ms: typeof ms === 'number' ? ms : GROUP_MS });
      continue;
    }
    // Files of one package load the same chunks: grouped together, they share the most.
    const pkg = rel.split('/')[1];
    if (!light.has(pkg)) light.set(pkg, []);
    light.get(pkg).push({ file, ms: ms + LOAD_MS });
  }
  for (const entries of light.values()) {
    // First fit, heaviest first.
    const packageBins = [];
    for (const entry of entries.sort((a, b) => b.ms - a.ms)) {
      const bin = packageBins.find((b) => b.ms + entry.ms <= GROUP_MS);
      if (bin) {
        bin.files.push(entry.file);
        bin.ms += entry.ms;
      } else packageBins.push({ files: [entry.file], ms: entry.ms });
    }
    bins.push(...packageBins);
  }
  // Longest first: the machine stays busy to the end instead of waiting on a long file started last.
  return bins.sort((a, b) => b.ms - a.ms).map((b) => b.files.sort());
}

/**
 * Writes an entry module for each group into `bundles`/zz-groups/ (named by its place in `groups` and its
 * contents, so a run started meanwhile keeps its own) and returns their paths. Node's runner starts files in the
 * order of their paths: the entries start in the order of `groups`.
 */
export function groupEntries(groups, bundles, bundledPath) {
  const dir = join(bundles, GROUPS_DIR);
  const written = groups.map((files, i) => {
    const pairs = files.map((file) => [
      relative(root, file).split('\\').join('/'),
      `./${relative(dir, bundledPath(file)).split('\\').join('/')}`,
    ]);
    const text = [
      '// Generated by scripts/lib/test-groups.js: these test files run in this process, one after the other, each in',
      '// a suite named for it that holds its tests and its module-level hooks; each test reports the file it is written',
      '// in. A file that throws while loading, or whose module-level hook fails, fails its own suite.',
      "import { describe } from 'node:test';",
      '',
      `for (const [source, bundle] of ${JSON.stringify(pairs, null, 2)}) {`,
      '  describe(source, async () => {',
      '    await import(bundle);',
      '  });',
      '}',
      '',
    ].join('\n');
    const hash = createHash('sha256').update(text).digest('hex').slice(0, 10);
    const path = join(dir, `${String(i + 1).padStart(3, '0')}-${hash}.js`);
    writeIfChanged(path, text);
    return path;
  });
  const now = Date.now();
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const p = join(dir, name);
    if (!written.includes(p) && now - statSync(p).mtimeMs > STALE_ENTRY_MS) rmSync(p, { force: true });
  }
  return written;
}
