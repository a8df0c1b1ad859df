// What `npm start` and `npm run cluster` run: `node scripts/run-script.js <start|cluster> [args…]`. The script's
// bundle (dist/scripts/NAME.mjs, built by scripts/build.js) while it is newer than every file it was built from,
// else scripts/NAME.ts through tsx, as the commands in packages/*/bin do (scripts/run-cli.js). Plain JavaScript that
// loads nothing else first: the choice costs a few stat calls, not esbuild or a TypeScript loader.
import { pathToFileURL } from 'node:url';
import { SCRIPTS, scriptToRun } from './run-cli.js';

const name = process.argv[2];
if (!SCRIPTS.includes(name)) {
  process.stderr.write(`usage: node scripts/run-script.js <${SCRIPTS.join('|')}> [arguments…]\n`);
  process.exit(2);
}
// The script sees its own arguments where it would when run directly.
process.argv.splice(2, 1);
const { bundle, file } = scriptToRun(name);
if (!bundle) {
  // A fresh clone or an edited source: tsx, a development dependency; the script then builds its bundle for the next start.
  const { register } = await import('tsx/esm/api');
  register();
}
await import(pathToFileURL(file).href);
