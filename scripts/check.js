#!/usr/bin/env node
// Usage: node scripts/check.js [--lint] [--typecheck]   (both when neither is given; `npm run lint`, `npm run
// typecheck`, `npm run check`, and `npm test` beside the suites)
//
// Type-checks and lints in one process on one TypeScript program, built incrementally (.cache/tsc/*.tsbuildinfo,
// as `tsc --incremental` does): ESLint's type-aware rules ask the checker that the type check has already run, instead
// of building and checking a second program of the same 1,500 files (cold, tsc and ESLint apart cost ~75 s of CPU).
//
// The same build keeps ESLint's cache (.cache/eslint) correct. That cache knows a file's contents, not its types: a
// function in a.ts that starts returning a promise changes no-floating-promises' result in b.ts, which calls it, yet
// b.ts is unchanged and would be served from the cache. TypeScript's builder lists the files whose types may have
// changed (the changed files and, when a file's declarations change, the files that depend on it: what tsc
// re-checks); their cache entries are dropped before ESLint runs, so ESLint lints them again.
import { ESLint } from 'eslint';
import fileEntryCache from 'file-entry-cache';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ESLINT_CACHE = join(root, '.cache/eslint');
const TSC_CACHE = join(root, '.cache/tsc');

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--lint' && a !== '--typecheck');
if (unknown.length > 0) {
  console.error(`check.js: unknown argument ${unknown.join(' ')}; usage: node scripts/check.js [--lint] [--typecheck]`);
  process.exit(2);
}
const lint = args.length === 0 || args.includes('--lint');
const typecheck = args.length === 0 || args.includes('--typecheck');

/**
 * Builds `tsconfig` incrementally (its build info in .cache/tsc/`name`.tsbuildinfo) and type-checks the files whose
 * diagnostics are not in the build info. Returns the program, its diagnostics (tsc's) and the files it checked.
 */
function build(tsconfig, name) {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, tsconfig),
    { incremental: true, noEmit: true, tsBuildInfoFile: join(TSC_CACHE, `${name}.tsbuildinfo`) },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  const builder = ts.createIncrementalProgram({
    rootNames: parsed.fileNames,
    options: parsed.options,
    configFileParsingDiagnostics: parsed.errors,
    projectReferences: parsed.projectReferences,
  });
  // The files TypeScript checks again: those without diagnostics in the build info (changed, or depending on a file
  // whose declarations changed). The builder asks the program for each one's diagnostics (typescript.js,
  // getBinderAndCheckerDiagnosticsOfFile); the program is a plain object, so that call can be watched. The public
  // getSemanticDiagnosticsOfNextAffectedFile() is not enough: it hands out the changed files, while the files that
  // depend on a changed declaration are only re-checked later, inside getSemanticDiagnostics() (tried on TS 5.9).
  const program = builder.getProgram();
  const checked = new Set();
  const check = program.getBindAndCheckDiagnostics;
  if (typeof check !== 'function')
    throw new Error(
      `check.js: TypeScript ${ts.version}'s program has no getBindAndCheckDiagnostics; see how its builder checks a file and update scripts/check.js.`,
    );
  program.getBindAndCheckDiagnostics = (sourceFile, token) => {
    checked.add(resolve(sourceFile.fileName));
    return check(sourceFile, token);
  };
  const diagnostics = [
    ...builder.getConfigFileParsingDiagnostics(),
    ...builder.getOptionsDiagnostics(),
    ...builder.getGlobalDiagnostics(),
    ...builder.getSyntacticDiagnostics(),
    ...builder.getSemanticDiagnostics(),
  ];
  return {
    program,
    diagnostics,
    checked,
    // With noEmit, emit() writes only the build info.
    save: () => {
      mkdirSync(TSC_CACHE, { recursive: true });
      builder.emit();
    },
  };
}

/** Drops ESLint's cached results for `files`, so that ESLint lints them again. */
function forgetLintResults(files) {
  if (files.size === 0) return;
  // The cache as ESLint opens it (lib/cli-engine/lint-result-cache.js: the default "metadata" strategy).
  const cache = fileEntryCache.create(ESLINT_CACHE.slice(dirname(ESLINT_CACHE).length + 1), dirname(ESLINT_CACHE), {
    useModifiedTime: true,
    useCheckSum: false,
  });
  for (const file of files) cache.removeEntry(file);
  cache.reconcile();
}

const main = build('tsconfig.json', 'root');
if (main.checked.size === 0 && !existsSync(join(TSC_CACHE, 'root.tsbuildinfo'))) {
  throw new Error(
    `check.js: TypeScript ${ts.version} checked no file on a first build; see how its builder checks a file and update scripts/check.js.`,
  );
}
forgetLintResults(main.checked);
let failed = false;

if (typecheck) {
  // The console is a Vite + Preact app with its own compiler options; ESLint does not lint it.
  const console_ = build('packages/console/tsconfig.json', 'console');
  const diagnostics = ts.sortAndDeduplicateDiagnostics([...main.diagnostics, ...console_.diagnostics]);
  if (diagnostics.length > 0) {
    failed = true;
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
    const format = process.stdout.isTTY ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics;
    process.stdout.write(format(diagnostics, host));
    console.log(`\nFound ${diagnostics.length} type error${diagnostics.length === 1 ? '' : 's'}.`);
  }
  console_.save();
}

if (lint) {
  // ESLint hashes each file's configuration into its cache entry, and a program (functions) cannot be serialized:
  // the array names what it holds instead. What the program contains is the build's business (see above).
  const programs = Object.assign([main.program], { toJSON: () => 'the program of tsconfig.json (scripts/check.js)' });
  const eslint = new ESLint({
    cwd: root,
    cache: true,
    cacheLocation: ESLINT_CACHE,
    // The program built above, instead of the one eslint.config.js names (./tsconfig.json, the same files).
    overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { programs } } },
  });
  const results = await eslint.lintFiles(['.']);
  const formatter = await eslint.loadFormatter('stylish');
  const text = await formatter.format(results);
  if (text) process.stdout.write(text);
  if (results.some((r) => r.errorCount > 0 || r.fatalErrorCount > 0)) failed = true;
}

main.save();
process.exitCode = failed ? 1 : 0;
