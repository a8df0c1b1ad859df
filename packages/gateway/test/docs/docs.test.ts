// The repository documents itself: no tracked file points to a file outside the repository, every
// relative Markdown link in docs/, README.md and packages/dare/FORMAT.md resolves (file and heading), and
// every key the gateway's and kes's config schemas accept has its row in docs/configuration.md.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { kesConfigSchema } from '@kesgate/kes';
import { schema as gatewayConfigSchema } from '../../src/config/load.js';
import { configKeys } from './config-keys.js';

const root = resolve(import.meta.dirname, '../../../..');

/** The repository's files: git's list, or (in a copy without .git) the tree without what builds and runs make. */
function repositoryFiles(): string[] {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\0');
  } catch {
    const skip = new Set(['node_modules', '.git', 'dist', '.kesgate']);
    const walk = (dir: string): string[] =>
      readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
        skip.has(e.name) ? [] : e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
      );
    return walk('');
  }
}

const tracked = repositoryFiles().filter((f) => f !== '' && existsSync(join(root, f)) && statSync(join(root, f)).isFile());

function text(file: string): string | undefined {
  const bytes = readFileSync(join(root, file));
  return bytes.includes(0) ? undefined : bytes.toString('utf8');
}

// Written in pieces so that this file does not match itself.
const OUTSIDE = ['shared' + '/spec', 'shared' + '/seed', '..' + '/shared', '/work' + '/'];

test('no tracked file refers to a path outside the repository', () => {
  const found: string[] = [];
  for (const file of tracked) {
    const body = text(file);
    if (body === undefined) continue;
    body.split('\n').forEach((line, i) => {
      if (OUTSIDE.some((s) => line.includes(s))) found.push(`${file}:${i + 1}: ${line.trim().slice(0, 160)}`);
    });
  }
  assert.deepEqual(found, [], `these lines point outside the repository; point to docs/ instead:\n${found.join('\n')}`);
});

test('every Markdown file a tracked file names exists in the repository', () => {
  const mdNames = new Set(tracked.filter((f) => f.endsWith('.md')).map((f) => basename(f)));
  const missing: string[] = [];
  for (const file of tracked) {
    if (file.endsWith('package-lock.json')) continue;
    const body = text(file);
    if (body === undefined) continue;
    body.split('\n').forEach((line, i) => {
      for (const m of line.matchAll(/(?<![\w/.-])((?:\.{1,2}\/)*[\w-]+(?:\/[\w.-]+)*\.md)\b/g)) {
        const name = m[1]!;
        // An object or URL path (s3://demo/README.md, https://…/x.md) is not a file reference.
        if (line.slice(Math.max(0, m.index - 3), m.index).includes('/')) continue;
        const ok = name.includes('/')
          ? existsSync(resolve(root, dirname(file), name)) || existsSync(resolve(root, name))
          : mdNames.has(name);
        if (!ok) missing.push(`${file}:${i + 1}: ${name}`);
      }
    });
  }
  assert.deepEqual(missing, [], `these Markdown files are not in the repository:\n${missing.join('\n')}`);
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Link targets outside fenced code blocks and inline code. */
function links(markdown: string): Array<{ target: string; line: number }> {
  const out: Array<{ target: string; line: number }> = [];
  let fenced = false;
  markdown.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) return;
    const prose = line.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push({ target: m[1]!, line: i + 1 });
  });
  return out;
}

test('relative links in docs/, README.md and packages/dare/FORMAT.md resolve to a file and heading', () => {
  const pages = tracked.filter((f) => (f.startsWith('docs/') && f.endsWith('.md')) || f === 'README.md' || f === 'packages/dare/FORMAT.md');
  assert.ok(pages.includes('docs/README.md'), 'docs/README.md (the index) is tracked');
  const broken: string[] = [];
  for (const page of pages) {
    const body = readFileSync(join(root, page), 'utf8');
    for (const { target, line } of links(body)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [path, anchor] = target.split('#', 2) as [string, string | undefined];
      const file = path === '' ? join(root, page) : resolve(root, dirname(page), decodeURIComponent(path));
      const where = `${page}:${line}: ${target}`;
      if (relative(root, file).startsWith('..')) {
        broken.push(`${where} (outside the repository)`);
        continue;
      }
      if (!existsSync(file)) {
        broken.push(`${where} (no such file)`);
        continue;
      }
      if (anchor !== undefined && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(anchor)) {
        broken.push(`${where} (no such heading)`);
      }
    }
  }
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});

/** The part of docs/configuration.md under the `## ` heading that starts with `title`. */
function section(doc: string, title: string): string {
  const parts = doc.split(/^(?=## )/m);
  const found = parts.find((p) => p.startsWith(`## ${title}`));
  assert.ok(found, `docs/configuration.md has a section "## ${title}…"`);
  return found;
}

/** Every key that has no keys under it: each must be a row of its section's tables. */
function leaves(keys: string[]): string[] {
  return keys.filter((k) => !keys.some((other) => other.startsWith(`${k}.`) || other.startsWith(`${k}[]`)));
}

for (const [title, schema] of [
  ['Gateway', gatewayConfigSchema],
  ['kes', kesConfigSchema],
] as const) {
  test(`docs/configuration.md has a row for every key of the ${title} config schema`, () => {
    const doc = section(readFileSync(join(root, 'docs/configuration.md'), 'utf8'), title);
    const keys = leaves(configKeys(schema));
    assert.ok(keys.length > 10, `the ${title} schema was walked (${keys.length} keys)`);
    const missing = keys.filter((k) => !doc.includes(`| \`${k}\` |`));
    assert.deepEqual(
      missing,
      [],
      `docs/configuration.md, section "${title}", needs a table row "| \`key\` | …" for:\n${missing.join('\n')}`,
    );
  });
}
