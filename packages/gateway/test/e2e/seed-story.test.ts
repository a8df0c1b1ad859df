// The README's promises end to end, as an operator lives them: `npm start` (kes and the gateway as two real
// processes), objects under two master keys and SSE-C, then seal, per-key seal, rotate + delete, delete.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { get as httpGet } from 'node:http';
import { Agent, get as httpsGet } from 'node:https';
import { KesClient } from '@kesgate/kes-client';
import { AdminClient } from '../../src/admin/index.js';
import { exists, getBytes, s3Error, ssec } from '../helpers/s3.js';
import { nodeArgsFor } from '../../../../scripts/lib/node-entry.js';
import { freePort } from '../../../../scripts/lib/free-port.js';

const root = resolve(import.meta.dirname, '../../../..');
const home = mkdtempSync(join(tmpdir(), 'kesgate-home-'));
let ports: { kes: number; s3: number; tls: number };
let start: ChildProcess;
let output = '';

async function npmStart(): Promise<ChildProcess> {
  output = '';
  const child = spawn(process.execPath, nodeArgsFor(join(root, 'scripts/start.ts')), {
    cwd: root,
    env: {
      ...process.env,
      KESGATE_HOME: home,
      KES_ADDRESS: `127.0.0.1:${ports.kes}`,
      KESGATE_ADDRESS: `127.0.0.1:${ports.s3}`,
      KESGATE_TLS_ADDRESS: `127.0.0.1:${ports.tls}`,
      // Credentials are generated and saved on the first start, then read back from $KESGATE_HOME.
      KESGATE_ROOT_USER: undefined,
      KESGATE_ROOT_PASSWORD: undefined,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 90_000;
  while (!output.includes('kesgate is running')) {
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${output}`);
    await sleep(200);
  }
  return child;
}

/** [status, code] of the first refusal of `attempt`, polled for at most 5 s (the 1 s key cache bound plus a margin). */
async function refusedWithin5s(attempt: () => Promise<unknown>): Promise<[number, string]> {
  const until = Date.now() + 5000;
  for (;;) {
    try {
      await attempt();
    } catch (e) {
      const err = e as { name: string; Code?: string; $metadata?: { httpStatusCode?: number } };
      return [err.$metadata?.httpStatusCode ?? 0, err.Code ?? err.name];
    }
    if (Date.now() > until) assert.fail('still served 5 s after kes refused the key');
    await sleep(100);
  }
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGINT');
  return exited;
}

function clients() {
  const creds = Object.fromEntries(
    readFileSync(join(home, 'credentials'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('=') as [string, string]),
  );
  const ca = readFileSync(join(home, 'certs/ca.crt'));
  const credentials = { accessKeyId: creds.KESGATE_ROOT_USER!, secretAccessKey: creds.KESGATE_ROOT_PASSWORD! };
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${ports.s3}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
  });
  const s3tls = new S3Client({
    endpoint: `https://127.0.0.1:${ports.tls}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
    requestHandler: { httpsAgent: new Agent({ ca }) },
  });
  const kes = new KesClient({
    endpoints: [`https://127.0.0.1:${ports.kes}`],
    cert: readFileSync(join(home, 'certs/admin.crt')),
    key: readFileSync(join(home, 'certs/admin.key')),
    ca,
    retries: 0,
  });
  const admin = new AdminClient({
    endpoint: `http://127.0.0.1:${ports.s3}`,
    accessKey: credentials.accessKeyId,
    secretKey: credentials.secretAccessKey,
    region: 'us-east-1',
  });
  return { s3, s3tls, kes, admin };
}

before(async () => {
  ports = { kes: await freePort(), s3: await freePort(), tls: await freePort() };
  start = await npmStart();
});
after(async () => {
  if (start) await stop(start);
  rmSync(home, { recursive: true, force: true });
});

test('npm start made the development state and says where it is', () => {
  for (const f of [
    'certs/ca.crt',
    'certs/kes.crt',
    'certs/admin.crt',
    'certs/gateway.crt',
    'kes.yaml',
    'gateway.yaml',
    'unseal.key',
    'credentials',
  ]) {
    assert.ok(readFileSync(join(home, f)).length > 0, f);
  }
  assert.match(output, /development only/);
  assert.match(output, new RegExp(`--endpoint-url http://127.0.0.1:${ports.s3}`));
});

test('npm start wires up the console: its URL, its page, and its own identity at kes', async () => {
  assert.match(output, new RegExp(`console +http://127.0.0.1:${ports.s3}/console/`));
  const page = await fetch(`http://127.0.0.1:${ports.s3}/console/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script type="module"[^>]* src="\/console\/assets\//);
  const creds = Object.fromEntries(
    readFileSync(join(home, 'credentials'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split('=') as [string, string]),
  );
  const signIn = await fetch(`http://127.0.0.1:${ports.s3}/console/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accessKey: creds.KESGATE_ROOT_USER, secretKey: creds.KESGATE_ROOT_PASSWORD }),
  });
  assert.equal(signIn.status, 200);
  const session = (await signIn.json()) as { csrf: string; kesWritable: boolean };
  assert.equal(session.kesWritable, true, 'gateway.yaml gives the console its kes identity');
  const cookie = signIn.headers.getSetCookie()[0]!.split(';')[0]!;
  const made = await fetch(`http://127.0.0.1:${ports.s3}/console/api/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': session.csrf },
    body: JSON.stringify({ name: 'made-in-console' }),
  });
  assert.equal(made.status, 201, await made.clone().text());
  const { kes } = clients();
  assert.equal((await kes.describeKey('made-in-console')).name, 'made-in-console');
  await kes.deleteKey('made-in-console');
  kes.close();
});

test('the banner prints the kes CLI exports, HTTPS with SSE-C, mc, health, readiness and metrics URLs and kesgate status; they answer', async () => {
  const at = (p: string) => join(home, p).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const line = (re: string) => assert.match(output, new RegExp(`^  ${re}$`, 'm'));
  line(`export KESGATE_HOME=${at('')}`);
  line(
    `export KES_SERVER=https://127\\.0\\.0\\.1:${ports.kes} KES_CLIENT_CERT=${at('certs/admin.crt')} KES_CLIENT_KEY=${at('certs/admin.key')} KES_CA=${at('certs/ca.crt')}`,
  );
  line(
    `/usr/bin/aws --endpoint-url https://127\\.0\\.0\\.1:${ports.tls} --ca-bundle ${at('certs/ca.crt')} s3 cp README\\.md s3://demo/private\\.md --sse-c AES256 --sse-c-key fileb://${at('ssec.key')}`,
  );
  assert.match(output, new RegExp(`^  head -c 32 /dev/urandom > ${at('ssec.key')} `, 'm'), 'the SSE-C key goes under the state directory');
  assert.match(output, new RegExp(`^  mc alias set kesgate http://127\\.0\\.0\\.1:${ports.s3} \\S+ \\S+$`, 'm'));
  assert.match(output, /^  npx kesgate status +# exits 0 ready, 2 kes sealed, 1 error$/m);
  const urls = /^  health +(\S+) \(live\) +(\S+) \(ready: [^)]*\) +(\S+)$/m.exec(output);
  assert.ok(urls, 'a health line');
  const metrics = /^  metrics +(\S+)$/m.exec(output);
  assert.ok(metrics, 'a metrics line');
  const ca = readFileSync(join(home, 'certs/ca.crt'));
  // Each URL answers as printed; kes's /v1/ready without a client certificate (skip_auth in kes.yaml).
  const answer = (url: string) =>
    new Promise<number>((resolve, reject) => {
      const u = new URL(url);
      const req = (u.protocol === 'https:' ? httpsGet : httpGet)(u, u.protocol === 'https:' ? { ca } : {}, (r) => {
        r.resume();
        resolve(r.statusCode!);
      });
      req.on('error', reject);
    });
  for (const url of [urls[1]!, urls[2]!, urls[3]!, metrics[1]!]) assert.equal(await answer(url), 200, url);
});

test('seal, per-key seal, rotate then delete, delete: what the README promises, with real processes and clients', async () => {
  const { s3, s3tls, kes, admin } = clients();
  const B = 'seed-story';
  const data = (name: string) => Buffer.concat([Buffer.from(`${name}:`), randomBytes(70_000)]);
  const objects: Record<string, Buffer> = { a1: data('a1'), a2: data('a2'), b1: data('b1'), s3: data('s3'), c: data('c') };
  const k = ssec();
  await kes.createKey('key-a');
  await kes.createKey('key-b');
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  for (const key of ['a1', 'a2'])
    await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: objects[key], ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'b1', Body: objects.b1, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-b' }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 's3', Body: objects.s3, ServerSideEncryption: 'AES256' }));
  await s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'c', Body: objects.c, ...k.put }));
  const read = (key: string) => (key === 'c' ? getBytes(s3tls, { Bucket: B, Key: key, ...k.put }) : getBytes(s3, { Bucket: B, Key: key }));
  const readsBack = async (keys: string[]) => {
    for (const key of keys) assert.ok((await read(key)).equals(objects[key]!), `${key} reads back`);
  };

  // 1. Seal kes: SSE-S3/KMS GET and PUT → 503; SSE-C still works. Unseal with the share through the API.
  await kes.seal();
  for (const key of ['a1', 'b1', 's3']) assert.equal((await s3Error(read(key))).status, 503, key);
  assert.equal((await s3Error(s3.send(new PutObjectCommand({ Bucket: B, Key: 'sealed-put', Body: 'x' })))).status, 503);
  assert.equal(await exists(s3, B, 'sealed-put'), false);
  await readsBack(['c']);
  const status = await kes.unseal(readFileSync(join(home, 'unseal.key'), 'utf8').trim().split('\n')[0]!);
  assert.equal(status.sealed, false);
  await readsBack(['a1', 'a2', 'b1', 's3', 'c']);

  // 2. Seal key A → only A's objects fail with 403 KMS.DisabledException, once the keys the gateway holds
  //    (just read) expire: kms.cache.ttlSeconds, 1 s by default; unseal A → they read.
  await kes.sealKey('key-a');
  for (const key of ['a1', 'a2']) assert.deepEqual(await refusedWithin5s(() => read(key)), [403, 'KMS.DisabledException']);
  await readsBack(['b1', 's3', 'c']);
  await kes.unsealKey('key-a');
  await readsBack(['a1', 'a2']);

  // 3. Rotate A's objects to key B, then delete key A → every object still reads.
  let job = await admin.startRotation({ bucket: B, fromKey: 'key-a', toKey: 'key-b' });
  while (job.state === 'running') {
    await sleep(100);
    job = await admin.rotation(job.id);
  }
  assert.equal(job.state, 'done');
  assert.equal(job.counters.rotated, 2);
  assert.equal(job.counters.failed, 0);
  await kes.deleteKey('key-a');
  await readsBack(['a1', 'a2', 'b1', 's3', 'c']);

  // 4. Delete key B → B's objects (now a1, a2, b1) fail forever (within the cache's bound: they were just read),
  //    even after re-creating a key named B.
  await kes.deleteKey('key-b');
  for (const key of ['a1', 'a2', 'b1']) assert.deepEqual(await refusedWithin5s(() => read(key)), [400, 'KMS.NotFoundException']);
  await kes.createKey('key-b');
  for (const key of ['a1', 'a2', 'b1'])
    assert.deepEqual(await s3Error(read(key)).then((e) => [e.status, e.code]), [400, 'KMS.NotFoundException']);
  await readsBack(['s3', 'c']);
  s3.destroy();
  s3tls.destroy();
  kes.close();
});

test('Ctrl-C stops both processes; a second npm start reuses the state', async () => {
  assert.equal(await stop(start), 0);
  start = await npmStart();
  const { s3, kes } = clients();
  const listed = await kes.allKeys();
  assert.ok(listed.includes('kesgate-default') && listed.includes('key-b'), 'the same keystore');
  assert.equal((await getBytes(s3, { Bucket: 'seed-story', Key: 's3' })).subarray(0, 3).toString(), 's3:');
  s3.destroy();
  kes.close();
});
