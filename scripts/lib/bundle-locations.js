// Where a line of the compiled or bundled test code (.cache/test-js/, .cache/test-bundles/) came from in the
// TypeScript sources, for the failure list at the end of a run (scripts/lib/package-times.js). The test processes run
// without --enable-source-maps: with it, each one read and parsed the source maps of the chunks it loaded, and Node's
// runner decoded a chunk's whole map to name the line of the first test or hook defined in it (0.3-1 s of CPU per
// process). The reporter maps only what it prints or attributes, once per file, in one process.
// KESGATE_TEST_SOURCE_MAPS=1 turns source maps on in the test processes again (scripts/run-tests.js).
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const COMPILED = [`${sep}.cache${sep}test-js${sep}`, `${sep}.cache${sep}test-bundles${sep}`];

/** Source maps by generated file (null: none), loaded on first use. */
const maps = new Map();

function mapOf(file) {
  if (!maps.has(file)) {
    let map = null;
    try {
      if (COMPILED.some((c) => file.includes(c)) && existsSync(`${file}.map`)) {
        map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      }
    } catch {
      // an unreadable map: the location stays as it is
    }
    maps.set(file, map);
  }
  return maps.get(file);
}

/**
 * The source location of line `line`, column `column` (both 1-based) of `file` (a path or file URL), or the input
 * itself when it is not compiled test code or has no mapping there.
 */
export function sourceLocation(file, line, column = 1) {
  const path = file.startsWith('file:') ? fileURLToPath(file) : file;
  const map = typeof line === 'number' ? mapOf(path) : null;
  const entry = map?.findEntry(line - 1, Math.max(0, column - 1));
  if (!entry?.originalSource) return { file, line, column };
  const source = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : entry.originalSource;
  return {
    file: isAbsolute(source) ? source : resolve(dirname(path), source),
    line: entry.originalLine + 1,
    column: entry.originalColumn + 1,
  };
}

/** `text` (a stack trace) with every `path:line:column` of compiled test code replaced by its source location. */
export function sourceStack(text) {
  return text.replace(/((?:file:\/\/)?\/[^\s():]+\.(?:m?js)):(\d+):(\d+)/g, (whole, file, line, column) => {
    if (!COMPILED.some((c) => file.includes(c))) return whole;
    const at = sourceLocation(file, Number(line), Number(column));
    return at.file === file ? whole : `${at.file}:${at.line}:${at.column}`;
  });
}
