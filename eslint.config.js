// Lint rules that catch real bugs in an async server: a promise nobody awaits loses its error (and, in a
// request handler, the response); a promise passed where a callback returning void is expected runs
// unobserved. Style is Prettier's job (.prettierrc.json), not ESLint's.
import js from '@eslint/js';
import { includeIgnoreFile } from 'eslint/config';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // What git ignores is scratch work, benchmark output and caches, not code of the project's.
  includeIgnoreFile(fileURLToPath(new URL('.gitignore', import.meta.url))),
  {
    ignores: ['**/node_modules/**', '**/dist/**', '.cache/**', 'packages/console/src/**', 'packages/console/vite.config.ts', '**/*.d.ts'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      // One program for the whole repository (the root tsconfig includes every package's src and test, and
      // scripts/), not one per package as projectService opens: those type-check what packages import from
      // each other again and again. A cold lint took 66-70 s of CPU and 2.6 GB that way; 37-50 s and 1.8 GB now.
      // `npm run lint` (scripts/check.js) passes the program it has built and type-checked instead: the same files.
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Tests declare `let gateway` before starting it because callbacks passed to the start refer to it.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // YAML and banner text have meaningful runs of spaces; a{2} is harder to read there, not easier.
      'no-regex-spaces': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
  },
);
