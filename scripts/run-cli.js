// What the commands in packages/*/bin run: the bundle `npm run build` made in dist/ (scripts/build.js) when
// it is newer than every repository file it was built from, else the TypeScript sources through tsx (a
// development dependency). A command started from the bundle skips compiling its sources on every start
// (about a second on a small machine); an edit to a source is still seen at once, through tsx, until the
// next build. Plain JavaScript without dependencies: it decides before any loader exists.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Whether command `name`'s bundle is newer than each of its sources (`inputsFile`, dist/inputs.json by default,
 * written by scripts/build.js beside the bundles).
 */
export function isFresh(name, bundle, inputsFile = join(root, 'dist', 'inputs.json')) {
  let built;
  let inputs;
  try {
    built = statSync(bundle).mtimeMs;
    inputs = JSON.parse(readFileSync(inputsFile, 'utf8'))[name];
  } catch {
    return false; // not built
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return false;
  for (const input of inputs) {
    try {
      if (statSync(join(root, input)).mtimeMs > built) return false;
    } catch {
      return false; // a source was removed or renamed since the build
    }
  }
  return true;
}

/**
 * Runs command `name` (dist/NAME.mjs) or, when that is missing or stale, `source` (a file URL of its
 * TypeScript entry point) through tsx.
 */
export async function runCli(name, source) {
  const bundle = join(root, 'dist', `${name}.mjs`);
  if (isFresh(name, bundle)) {
    await import(pathToFileURL(bundle).href);
    return;
  }
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      `${name}: ${bundle} is missing or older than the sources, and tsx (a development dependency) is not installed to run them: build it with \`npm run build\` in ${root}\n`,
    );
    process.exit(1);
  }
  register();
  await import(source.href);
}

/** The scripts that are bundled (scripts/build.js buildScripts): `node scripts/run-script.js <name>` runs one. */
export const SCRIPTS = ['start', 'cluster'];

/**
 * What `node scripts/run-script.js <name>` runs (scripts/build.js builds the bundles): the bundle of
 * script `name` in `dist` (dist/scripts/ by default) while it is current, else the TypeScript source, scripts/NAME.ts.
 */
export function scriptToRun(name, dist = join(root, 'dist', 'scripts')) {
  const bundle = join(dist, `${name}.mjs`);
  return isFresh(name, bundle, join(dist, 'inputs.json'))
    ? { bundle: true, file: bundle }
    : { bundle: false, file: join(root, 'scripts', `${name}.ts`) };
}
