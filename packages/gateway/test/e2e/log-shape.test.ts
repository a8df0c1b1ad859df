// `kes server` and `kesgate server` as an operator runs them, each its own process: every line either writes
// on stdout is a JSON object of one shape (label level, ISO time, service, pid, msg), nothing reaches stderr,
// probes stay out of the info log, no secret appears, and KESGATE_LOG_FORMAT=pretty renders it for a terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { KesClient } from '@kesgate/kes-client';
import { identityOf, initStore, parseConfig as parseKesConfig } from '@kesgate/kes';
import { pki } from '../helpers/pki.js';
import { ACCESS_KEY, SECRET_KEY, s3Client } from '../helpers/stack.js';
import { getBytes, s3Error } from '../helpers/s3.js';

const here = dirname(fileURLToPath(import.meta.url));
const KES_BIN = join(here, '../../../kes/bin/kes.js');
const KESGATE_BIN = join(here, '../../bin/kesgate.js');

interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout line `match` accepts. */
  line(match: (l: string) => boolean): Promise<string>;
  stop(): Promise<void>;
}

function run(bin: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Proc {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KESGATE_') && k !== 'FORCE_COLOR'));
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { ...clean, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiting: { match: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const w of [...waiting]) {
      const hit = out.split('\n').find(w.match);
      if (hit !== undefined) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  });
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    line: (match) =>
      new Promise((resolve, reject) => {
        const hit = out.split('\n').find(match);
        if (hit !== undefined) return resolve(hit);
        waiting.push({ match, resolve });
        void exited.then(() => reject(new Error(`${bin} exited before the line: ${out}\n${err}`)));
      }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
const json = (l: string) => l.startsWith('{') && (JSON.parse(l) as { msg?: string });

test('kes and kesgate write only JSON lines of one shape on stdout, probes at debug, no secrets; pretty on request', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-logshape-'));
  const p = pki();
  const file = (name: string, text: string) => writeFileSync(join(dir, name), text, { mode: 0o600 });
  file('ca.crt', p.ca.cert);
  file('server.crt', p.server.cert);
  file('server.key', p.server.key);
  file('gateway.crt', p.gateway.cert);
  file('gateway.key', p.gateway.key);
  const kesYaml = {
    address: '127.0.0.1:0',
    admin: { identity: identityOf(p.admin.cert) },
    tls: { key: 'server.key', cert: 'server.crt', ca: 'ca.crt' },
    policy: {
      gateway: {
        allow: ['/v1/key/generate/*', '/v1/key/decrypt/*', '/v1/status', '/v1/sys/seal-status'],
        identities: [identityOf(p.gateway.cert)],
      },
    },
    keystore: { sqlite: { path: 'kes.db' } },
    unseal: { file: 'unseal.key' },
    log: { error: 'on', level: 'info', audit: 'audit.log' },
    keys: [{ name: 'kesgate-default' }],
  };
  file('kes.yaml', JSON.stringify(kesYaml));
  const { shares } = await initStore(parseKesConfig(kesYaml, { baseDir: dir }), { shares: 1, threshold: 1 });
  file('unseal.key', `${shares[0]}\n`);

  const kes = run(KES_BIN, ['server', '--config', join(dir, 'kes.yaml')], dir);
  let gw: Proc | undefined;
  let pretty: Proc | undefined;
  const admin = { cert: p.admin.cert, key: p.admin.key, ca: p.ca.cert, retries: 0 };
  try {
    const listening = JSON.parse(await kes.line((l) => (json(l) || {}).msg === 'kes server listening')) as { address: string };
    const kesUrl = `https://${listening.address}`;
    const gatewayYaml = (level: string) =>
      JSON.stringify({
        address: '127.0.0.1:0',
        credentials: { accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
        backend: { fs: { path: 'data' } },
        // No key cache: the read right after the seal must reach kes (the cache's own bound is tested in bucket-keys).
        kms: {
          endpoints: [kesUrl],
          cert: 'gateway.crt',
          key: 'gateway.key',
          ca: 'ca.crt',
          defaultKey: 'kesgate-default',
          cache: { ttlSeconds: 0 },
        },
        log: { level },
      });
    file('gateway.yaml', gatewayYaml('info'));
    gw = run(KESGATE_BIN, ['server', '--config', join(dir, 'gateway.yaml')], dir);
    const ready = JSON.parse(await gw.line((l) => (json(l) || {}).msg === 'kesgate server ready')) as { url: string };

    const s3 = s3Client(ready.url);
    const kesAdmin = new KesClient({ endpoints: [kesUrl], ...admin });
    try {
      const body = randomBytes(2048);
      await s3.send(new CreateBucketCommand({ Bucket: 'shape' }));
      await s3.send(new PutObjectCommand({ Bucket: 'shape', Key: 'k', Body: body, ServerSideEncryption: 'AES256' }));
      assert.deepEqual(await getBytes(s3, { Bucket: 'shape', Key: 'k' }), body);
      for (const path of ['/kesgate/health', '/kesgate/ready', '/metrics'])
        assert.equal((await fetch(`${ready.url}${path}`)).status, 200, path);
      await kesAdmin.seal();
      for (let i = 0; i < 3; i++)
        assert.deepEqual((await s3Error(s3.send(new GetObjectCommand({ Bucket: 'shape', Key: 'k' })))).status, 503);
      await kesAdmin.unseal(shares[0]!);
      assert.deepEqual(await getBytes(s3, { Bucket: 'shape', Key: 'k' }), body);
    } finally {
      s3.destroy();
      kesAdmin.close();
    }
    await gw.stop();
    await gw.line((l) => (json(l) || {}).msg === 'stopped');

    // The same gateway for a terminal: pino-pretty's lines, not JSON.
    pretty = run(KESGATE_BIN, ['server', '--config', join(dir, 'gateway.yaml')], dir, { KESGATE_LOG_FORMAT: 'pretty' });
    const prettyReady = await pretty.line((l) => l.includes('kesgate server ready'));
    assert.match(prettyReady, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: kesgate server ready/);
    await pretty.stop();
    assert.equal(pretty.stderr(), '');
  } finally {
    await pretty?.stop();
    await gw?.stop();
    await kes.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  await kes.line((l) => (json(l) || {}).msg === 'kes stopped');

  const outputs = { kes: kes.stdout(), kesgate: gw!.stdout() };
  for (const [service, out] of Object.entries(outputs)) {
    const lines = out.split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 3, `${service} logged`);
    for (const line of lines) {
      const e = JSON.parse(line) as Record<string, unknown>; // throws on a plain-text line
      assert.ok(LEVELS.includes(e.level as string), `${service}: level is a label in ${line}`);
      assert.match(e.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${service}: ISO time in ${line}`);
      assert.equal(e.service, service);
      assert.equal(e.pid, (service === 'kes' ? kes : gw!).child.pid);
      assert.equal(typeof e.msg, 'string');
    }
    for (const secret of [SECRET_KEY, shares[0]!, p.admin.key, p.gateway.key])
      assert.ok(!out.includes(secret), `no secret in ${service}'s log`);
  }
  assert.equal(kes.stderr(), '', 'kes writes nothing to stderr');
  assert.equal(gw!.stderr(), '', 'kesgate writes nothing to stderr');

  const gwEntries = outputs.kesgate
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const requests = gwEntries.filter((e) => e.msg === 'request');
  assert.deepEqual(
    requests.filter((e) => ['/kesgate/health', '/kesgate/ready', '/metrics'].includes(e.path as string)),
    [],
    'probes are not at info',
  );
  const put = requests.find((e) => e.op === 'PutObject')!;
  assert.deepEqual([put.accessKey, put.bytesIn, put.status], [ACCESS_KEY, 2048, 200]);
  assert.equal(
    gwEntries.filter((e) => e.level === 'warn' && /kes is sealed/.test(e.msg as string)).length,
    1,
    'one warn line for the sealed kes',
  );
  assert.deepEqual(
    gwEntries.filter((e) => e.level === 'error'),
    [],
    'no error lines for an expected 503',
  );

  const kesRequests = outputs.kes
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.msg === 'request');
  const generate = kesRequests.find((e) => e.op === '/v1/key/generate/')!;
  assert.deepEqual([generate.identity, generate.status], [identityOf(p.gateway.cert), 200]);
  assert.deepEqual(
    kesRequests.filter((e) => e.op === '/v1/status' || e.op === '/v1/ready'),
    [],
    'kes probes are not at info',
  );
});
