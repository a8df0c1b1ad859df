// restic (Debian's 0.14, whose S3 backend is minio-go: the client library of MinIO's mc) keeping a backup
// repository in the gateway over HTTPS: init, backup, check --read-data (every pack downloaded and verified),
// restore byte for byte, a second backup of changed files, forget --prune (which deletes and rewrites packs).
// Not part of `npm test` (it needs /usr/bin/restic): `npm run test:awscli`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { runTool } from './run-tool.js';

const RESTIC = '/usr/bin/restic';
const B = 'restic-repo';

let st: Stack;
let dir: string;

function restic(args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    RESTIC_PASSWORD: 'kesgate restic suite',
    RESTIC_REPOSITORY: `s3:${st.gw.httpsUrl!}/${B}`,
    RESTIC_CACHE_DIR: join(dir, 'cache'),
  };
  return runTool(RESTIC, ['--cacert', join(dir, 'ca.pem'), ...args], { env, cwd: dir, timeoutMs: 180_000 });
}

/** Every file under `root`, by relative path. */
function tree(root: string, prefix = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(join(root, prefix), { withFileTypes: true })) {
    const rel = join(prefix, e.name);
    if (e.isDirectory()) for (const [k, v] of tree(root, rel)) out.set(k, v);
    else out.set(rel, readFileSync(join(root, rel)));
  }
  return out;
}

before(async () => {
  assert.ok(existsSync(RESTIC), "this suite needs Debian's restic at /usr/bin/restic (apt-get install -y restic)");
  st = await startStack();
  dir = mkdtempSync(join(tmpdir(), 'kesgate-restic-'));
  writeFileSync(join(dir, 'ca.pem'), st.caPem);
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await st?.close();
});

test('restic (minio-go) over HTTPS: init, backup, check --read-data, restore identical, forget --prune', async () => {
  const data = join(dir, 'data');
  mkdirSync(join(data, 'docs'), { recursive: true });
  writeFileSync(join(data, 'big.bin'), randomBytes(24 * 1024 * 1024));
  for (let i = 0; i < 40; i++) writeFileSync(join(data, 'docs', `f${i}.txt`), randomBytes(1000 + i * 997));
  await restic(['init']);
  await restic(['backup', '--host', 'kesgate-test', 'data']);
  assert.match(await restic(['check', '--read-data']), /no errors were found/);
  const packs = await st.s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'data/' }));
  assert.ok((packs.KeyCount ?? 0) >= 1, 'the repository keeps its packs in the bucket');

  await restic(['restore', 'latest', '--target', join(dir, 'restored')]);
  const before = tree(data);
  const restored = tree(join(dir, 'restored', 'data'));
  assert.deepEqual([...restored.keys()].sort(), [...before.keys()].sort());
  for (const [name, bytes] of before) assert.ok(restored.get(name)!.equals(bytes), name);

  // Change some files, back up again, keep only the last snapshot: prune deletes and repacks.
  for (let i = 0; i < 20; i++) writeFileSync(join(data, 'docs', `f${i}.txt`), randomBytes(500));
  await restic(['backup', '--host', 'kesgate-test', 'data']);
  await restic(['forget', '--keep-last', '1', '--prune']);
  const snapshots = JSON.parse(await restic(['snapshots', '--json'])) as unknown[];
  assert.equal(snapshots.length, 1);
  assert.match(await restic(['check', '--read-data']), /no errors were found/);
});
