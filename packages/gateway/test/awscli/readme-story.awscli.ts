// The README's story, run as a reader runs it: the fenced shell block under "Seal, rotate and delete, by hand",
// taken from README.md as it is, run with bash from the repository root against `npm start`'s two
// processes under a non-default KESGATE_HOME and non-default ports, with Debian's AWS CLI. It completes and
// prints what its comments promise, leaving nothing in the repository root. A variant whose `kesgate rotate`
// fails (a bucket that does not exist) stops right there: no key is deleted and the object still reads.
// Not part of `npm test` (it needs /usr/bin/aws): `npm run test:awscli`.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { freePort } from '../helpers/upstreams.js';
import { awsCliInstalled } from './aws.js';

const root = resolve(import.meta.dirname, '../../../..');
const scratch: string[] = [];
after(() => {
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

/** The first ```sh block of the story's section of README.md. */
function storyBlock(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Seal, rotate and delete, by hand'));
  const block = /```sh\n([\s\S]*?)\n```/.exec(section)?.[1];
  assert.ok(block, 'README.md has a ```sh block under "Seal, rotate and delete, by hand"');
  return block;
}

/** The environment of a fresh shell: nothing of the test runner's kes, kesgate or AWS settings. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(KES_|KESGATE_|AWS_)/.test(k)));
  return { ...env, AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', ...extra };
}

interface Started {
  home: string;
  child: ChildProcess;
  output: () => string;
}

/** `npm start` (scripts/start.ts) on fresh ports and a fresh KESGATE_HOME; resolves once it prints its banner. */
async function npmStart(): Promise<Started> {
  const home = mkdtempSync(join(tmpdir(), 'kesgate-story-home-'));
  scratch.push(home);
  const env = cleanEnv({
    KESGATE_HOME: home,
    KES_ADDRESS: `127.0.0.1:${await freePort()}`,
    KESGATE_ADDRESS: `127.0.0.1:${await freePort()}`,
    KESGATE_TLS_ADDRESS: `127.0.0.1:${await freePort()}`,
  });
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/start.ts')], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 120_000;
  while (!output.includes('kesgate is running')) {
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
    await sleep(200);
  }
  return { home, child, output: () => output };
}

async function stop(s: Started): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGINT');
  await exited;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `bash FILE` from the repository root, with only KESGATE_HOME set, as a reader who pasted the block. */
function bash(script: string, home: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-story-script-'));
  scratch.push(dir);
  const file = join(dir, 'story.sh');
  writeFileSync(file, script);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [file], { cwd: root, env: cleanEnv({ KESGATE_HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the README story', { skip: awsCliInstalled() ? false : 'needs /usr/bin/aws (Debian awscli)' }, () => {
  test('runs to the end under another KESGATE_HOME and other ports, printing what it promises, leaving nothing in the repository root', async () => {
    const rootBefore = readdirSync(root).sort();
    const s = await npmStart();
    try {
      assert.doesNotMatch(readFileSync(join(s.home, 'gateway.yaml'), 'utf8'), /:9000|:9443/, 'not the default ports');
      const r = await bash(storyBlock(), s.home);
      const all = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.code, 0, all);
      assert.equal(r.stdout.split('\n').filter((l) => l === 'hello').length, 5, `five reads print hello:\n${r.stdout}`);
      for (const line of [
        'refused: ServiceUnavailable',
        'refused: KMS.DisabledException',
        'refused: depend on key tenant-b',
        'refused: KMS.NotFoundException',
        'kes is unsealed',
      ]) {
        assert.ok(r.stdout.split('\n').includes(line), `${line}:\n${r.stdout}`);
      }
      assert.match(r.stdout, /^ready +yes$/m);
      assert.match(r.stdout, /^rotation job \S+ done$/m);
      assert.match(r.stdout, /^deleted key tenant-a: /m);
      assert.match(r.stdout, /^deleted key tenant-b: /m);
      assert.match(all, /the gateway at http:\/\/127\.0\.0\.1:\d+ has no object under key tenant-a/, 'the delete asked the gateway');
      assert.deepEqual(readdirSync(root).sort(), rootBefore, 'no file (no ssec.key) left in the repository root');
    } finally {
      await stop(s);
    }
  });

  test('a rotation that fails (a bucket that does not exist) stops the story before any delete; the object still reads', async () => {
    const story = storyBlock();
    const broken = story.replace('npx kesgate rotate --bucket demo ', 'npx kesgate rotate --bucket no-such-bucket ');
    assert.notEqual(broken, story, 'the story rotates bucket demo');
    const s = await npmStart();
    try {
      const r = await bash(broken, s.home);
      const all = `${r.stdout}\n${r.stderr}`;
      assert.notEqual(r.code, 0, all);
      assert.match(r.stderr, /the gateway refused: NoSuchBucket \(HTTP 404\)/);
      assert.doesNotMatch(all, /deleted key/);
      // Nothing after the rotation ran: both keys are there and a.txt reads, as the reader's shell would see.
      const check = await bash(
        [
          'set -euo pipefail',
          'npx kes key ls',
          `. <(sed 's/^/export /' "$KESGATE_HOME/credentials")`,
          'export AWS_ACCESS_KEY_ID=$KESGATE_ROOT_USER AWS_SECRET_ACCESS_KEY=$KESGATE_ROOT_PASSWORD AWS_DEFAULT_REGION=us-east-1',
          `/usr/bin/aws --endpoint-url http://$(awk '/^address:/ { print $2; exit }' "$KESGATE_HOME/gateway.yaml") s3 cp s3://demo/a.txt -`,
        ].join('\n'),
        s.home,
      );
      assert.equal(check.code, 0, check.stderr);
      assert.match(check.stdout, /^tenant-a$/m);
      assert.match(check.stdout, /^tenant-b$/m);
      assert.match(check.stdout, /^hello$/m);
    } finally {
      await stop(s);
    }
  });
});
