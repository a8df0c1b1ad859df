// The `kesgate` command as an operator runs it: `kesgate server --config` as a child process (YAML config
// with ${ENV}, SIGTERM ends it cleanly), and `kesgate status` / `kesgate rotate` finding it by flags,
// by environment variables, or by the files `npm start` keeps in $KESGATE_HOME. The client commands run in this
// process (runKesgate, what the binary runs); --version, the usage errors' exit statuses and `server` run the
// binary (bin/kesgate.js).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { cleanEnv, KESGATE_BIN, runCli, type CliRun } from '../helpers/cli.js';
import { runKesgateInProcess } from '../helpers/kesgate-in-process.js';
import { AdminClient } from '../../src/admin/client.js';
import type { GatewayStatus } from '../../src/admin/status.js';
import type { RotationJob } from '../../src/rotation/index.js';
import { content, customerKey, gatewayFiles, REGION, startKes, tempDir, type GatewayFiles, type TestKes } from '../admin/helpers.js';

const USER = 'cli-root-user';
const PASSWORD = 'cli-root-password-0123456789';

/** `kesgate args…` in this process, in an empty directory unless told. */
function kesgate(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliRun> {
  return runKesgateInProcess(args, { env: options.env ?? cleanEnv(), cwd: options.cwd ?? tempDir('kesgate-cli-cwd-') });
}

/** `kesgate args…` as a child process of the real binary, in an empty directory. */
function kesgateBinary(args: string[]): Promise<CliRun> {
  return runCli(KESGATE_BIN, args, { env: cleanEnv(), cwd: tempDir('kesgate-cli-cwd-') });
}

function writeConfig(files: GatewayFiles, kes: TestKes, address = '127.0.0.1:0'): string {
  const file = join(files.dir, 'gateway.yaml');
  writeFileSync(
    file,
    [
      `address: ${address}`,
      `region: ${REGION}`,
      'credentials: { accessKey: ${KESGATE_ROOT_USER}, secretKey: ${KESGATE_ROOT_PASSWORD} }',
      'backend: { fs: { path: gateway } }',
      'kms:',
      `  endpoints: [${kes.url}]`,
      '  cert: gateway.crt',
      '  key: gateway.key',
      '  ca: ca.crt',
      '  defaultKey: kesgate-default',
      'sse: { allowInsecureSSEC: true }',
      'rotation: { concurrency: 2 }',
      '',
    ].join('\n'),
  );
  return file;
}

interface Server {
  child: ChildProcess;
  url: string;
  port: number;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Spawns `kesgate server` and waits for its ready line (a pino JSON line on stdout). */
function startServerProcess(config: string): Promise<Server> {
  const child = spawn(process.execPath, [KESGATE_BIN, 'server', '--config', config], {
    env: cleanEnv({ KESGATE_ROOT_USER: USER, KESGATE_ROOT_PASSWORD: PASSWORD }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let entry: { msg?: string; url?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (entry.msg === 'kesgate server ready' && entry.url) {
        resolve({ child, url: entry.url, port: Number(new URL(entry.url).port), exited, stderr: () => stderr });
      }
    });
    void exited.then((code) => reject(new Error(`kesgate server exited (${code}) before it was ready: ${stderr}`)));
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('kesgate CLI', () => {
  let kes: TestKes;
  let server: Server;
  let s3: S3Client;
  const credFlags = () => ['--endpoint', server.url, '--access-key', USER, '--secret-key', PASSWORD];

  before(async () => {
    kes = await startKes(['kesgate-default', 'key-a', 'key-b', 'key-c']);
    server = await startServerProcess(writeConfig(gatewayFiles(), kes));
    s3 = new S3Client({
      endpoint: server.url,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: USER, secretAccessKey: PASSWORD },
      maxAttempts: 1,
    });
  });
  after(async () => {
    s3?.destroy();
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    await kes?.close();
  });

  test('status --json with --endpoint/--access-key/--secret-key', async () => {
    const r = await kesgate(['status', '--json', ...credFlags()]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as GatewayStatus;
    assert.equal(s.backend.type, 'fs');
    assert.deepEqual(
      s.kes.endpoints.map((e) => [e.endpoint, e.online, e.sealed]),
      [[kes.url, true, false]],
    );
    assert.equal(s.kes.defaultKey.name, 'kesgate-default');
  });

  test('rotate --json finds the gateway through KESGATE_ADDRESS and KESGATE_ROOT_USER/PASSWORD', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'cli' }));
    for (let i = 0; i < 3; i++) {
      await s3.send(
        new PutObjectCommand({
          Bucket: 'cli',
          Key: `k${i}`,
          Body: content(`cli${i}`, 300),
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: 'key-a',
        }),
      );
    }
    const ssec = customerKey('cli');
    await s3.send(
      new PutObjectCommand({
        Bucket: 'cli',
        Key: 'ssec',
        Body: content('c', 10),
        SSECustomerAlgorithm: 'AES256',
        SSECustomerKey: ssec.key.toString('base64'),
        SSECustomerKeyMD5: ssec.md5,
      }),
    );
    const env = cleanEnv({ KESGATE_ADDRESS: `127.0.0.1:${server.port}`, KESGATE_ROOT_USER: USER, KESGATE_ROOT_PASSWORD: PASSWORD });
    const r = await kesgate(['rotate', '--bucket', 'cli', '--to-key', 'key-b', '--json', '--poll', '50'], { env });
    assert.equal(r.code, 0, r.stderr);
    const job = JSON.parse(r.stdout) as RotationJob;
    assert.equal(job.state, 'done');
    assert.equal(job.toKey, 'key-b');
    assert.deepEqual([job.counters.scanned, job.counters.rotated, job.counters.skippedBy['sse-c'], job.counters.failed], [4, 3, 1, 0]);
  });

  test('status and a dry-run rotate find the gateway through $KESGATE_HOME (credentials, gateway.yaml); plain text output', async () => {
    const home = tempDir('kesgate-cli-home-');
    writeFileSync(join(home, 'credentials'), `# written by npm start\nKESGATE_ROOT_USER=${USER}\nKESGATE_ROOT_PASSWORD="${PASSWORD}"\n`);
    writeFileSync(
      join(home, 'gateway.yaml'),
      `address: 0.0.0.0:${server.port}\ncredentials: { accessKey: \${KESGATE_ROOT_USER}, secretKey: \${KESGATE_ROOT_PASSWORD} }\n`,
    );
    const env = cleanEnv({ KESGATE_HOME: home });
    const status = await kesgate(['status'], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^backend\s+fs at /m);
    assert.match(status.stdout, new RegExp(`^kes\\s+${kes.url.replace(/[.]/g, '\\.')}\\s+online, unsealed`, 'm'));

    const dry = await kesgate(['rotate', '--bucket', 'cli', '--to-key', 'key-a', '--dry-run', '--poll', '50'], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stderr, /^started rotation job \S+ on bucket cli to key-a v1$/m);
    assert.match(dry.stdout, /^rotation job \S+ done \(dry run: nothing changed\)$/m);
    assert.match(dry.stdout, /scanned 4\/4, would rotate 3, skipped 1, failed 0/);
    // stderr is not a terminal: no bar (no escape codes), a plain progress line at the end.
    assert.match(dry.stderr, /^progress: scanned 4\/4 \(100%\), would rotate 3, skipped 1, failed 0; [\d.]+ objects\/s, done after \d+s$/m);
    assert.ok(!dry.stderr.includes('\u001b['), 'no terminal escape codes');
  });

  test('rotate exits 1 when an object fails, and names it; a missing gateway is a clear error', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'cli-fail' }));
    await s3.send(
      new PutObjectCommand({
        Bucket: 'cli-fail',
        Key: 'under-c',
        Body: content('f', 5),
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'key-c',
      }),
    );
    await kes.admin.sealKey('key-c');
    try {
      const r = await kesgate(['rotate', '--bucket', 'cli-fail', '--to-key', 'key-b', '--json', '--poll', '50', ...credFlags()]);
      assert.equal(r.code, 1);
      const job = JSON.parse(r.stdout) as RotationJob;
      assert.deepEqual([job.state, job.counters.failed], ['incomplete', 1]);
      assert.equal(job.failures[0]!.key, 'under-c');
      assert.match(job.failures[0]!.error, /KMS\.DisabledException/);
    } finally {
      await kes.admin.unsealKey('key-c');
    }

    const lost = await kesgate(['status']);
    assert.equal(lost.code, 1);
    assert.match(lost.stderr, /cannot find the gateway: pass --endpoint/);
    const refused = await kesgate(['rotate', '--bucket', 'no-such-bucket', ...credFlags()]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the gateway refused: NoSuchBucket \(HTTP 404\)/);
  });

  test('key dependents: exit 3 and a per-bucket count when objects depend on the key, exit 0 when none do', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'cli-deps' }));
    for (const k of ['a', 'b']) {
      await s3.send(
        new PutObjectCommand({ Bucket: 'cli-deps', Key: k, Body: content(k, 50), ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-c' }),
      );
    }
    const some = await kesgate(['key', 'dependents', 'key-c', ...credFlags()]);
    assert.equal(some.code, 3, some.stderr);
    assert.match(some.stdout, /^ {2}cli-deps: 2 objects \(2 versions\), 0 uploads$/m);
    assert.match(some.stdout, /rotate them first: kesgate rotate --bucket B --from-key key-c/);
    const json = await kesgate(['key', 'dependents', 'key-c', '--json', ...credFlags()]);
    assert.equal(json.code, 3, json.stderr);
    const report = JSON.parse(json.stdout) as { key: string; buckets: { bucket: string; objects: number }[] };
    assert.deepEqual(
      report.buckets.find((b) => b.bucket === 'cli-deps'),
      { bucket: 'cli-deps', objects: 2, versions: 2, uploads: 0 },
    );

    const none = await kesgate(['key', 'dependents', 'unused-key', ...credFlags()]);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, "nothing in this gateway's buckets depends on key unused-key\n");
    const bad = await kesgate(['key', 'dependents', ...credFlags(), '--', 'bad-']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /the gateway refused: InvalidRequest \(HTTP 400\): That is not a kes key name/);
  });

  test('--version; usage errors exit 64 and refused credentials 77, and start no job', async () => {
    const version = await kesgateBinary(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const jobsBefore = (await new AdminClient({ endpoint: server.url, accessKey: USER, secretKey: PASSWORD, region: REGION }).rotations())
      .length;

    const [noBucket, unknown, badFlag] = await Promise.all([
      kesgateBinary(['rotate', '--to-key', 'key-b', ...credFlags()]),
      kesgateBinary(['frobnicate']),
      kesgateBinary(['rotate', 'list', '--colour', ...credFlags()]),
    ]);
    assert.equal(noBucket.code, 64);
    assert.match(noBucket.stderr, /required option '--bucket <name>' not specified/);
    assert.equal(unknown.code, 64);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    assert.equal(badFlag.code, 64);
    assert.match(badFlag.stderr, /unknown option '--colour'/);

    const wrongSecret = await kesgate([
      'rotate',
      '--bucket',
      'cli',
      '--endpoint',
      server.url,
      '--access-key',
      USER,
      '--secret-key',
      'not-the-secret-0123456789',
    ]);
    assert.equal(wrongSecret.code, 77, wrongSecret.stderr);
    assert.match(wrongSecret.stderr, /the gateway refused: SignatureDoesNotMatch \(HTTP 403\)/);
    const unknownKey = await kesgate(['rotate', 'list', '--endpoint', server.url, '--access-key', 'nobody', '--secret-key', PASSWORD]);
    assert.equal(unknownKey.code, 77, unknownKey.stderr);
    assert.match(unknownKey.stderr, /InvalidAccessKeyId/);
    assert.equal(
      (await new AdminClient({ endpoint: server.url, accessKey: USER, secretKey: PASSWORD, region: REGION }).rotations()).length,
      jobsBefore,
    );
  });

  test('rotate list shows the jobs newest first (a table, or JSON as the admin API has them)', async () => {
    const admin = new AdminClient({ endpoint: server.url, accessKey: USER, secretKey: PASSWORD, region: REGION });
    const jobs = await admin.rotations();
    assert.ok(jobs.length >= 3, 'the tests above ran rotations');
    const [table, json] = await Promise.all([
      kesgate(['rotate', 'list', ...credFlags()]),
      kesgate(['rotate', 'list', '--json', ...credFlags()]),
    ]);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+STATE\s+BUCKET\s+KEY\s+SCANNED\s+ROTATED\s+FAILED\s+CREATED$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/)[0]),
      jobs.map((j) => j.id),
    );
    assert.match(table.stdout, /^\S+\s+incomplete\s+cli-fail\s+key-b v1\s+1\/1\s+0\s+1\s/m);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(
      (JSON.parse(json.stdout) as { jobs: RotationJob[] }).jobs.map((j) => [j.id, j.state]),
      jobs.map((j) => [j.id, j.state]),
    );
  });

  test('rotate cancel ends a running job as cancelled, the objects it did not reach keep their key; a job that ended is refused (exit 1)', async () => {
    const admin = new AdminClient({ endpoint: server.url, accessKey: USER, secretKey: PASSWORD, region: REGION });
    const OBJECTS = 60;
    await s3.send(new CreateBucketCommand({ Bucket: 'cli-cancel' }));
    for (let i = 0; i < OBJECTS; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          s3.send(
            new PutObjectCommand({
              Bucket: 'cli-cancel',
              Key: `o${i + j}`,
              Body: content(`c${i + j}`, 20),
              ServerSideEncryption: 'aws:kms',
              SSEKMSKeyId: 'key-a',
            }),
          ),
        ),
      );
    }
    // Sealed right after the start, kes makes the job wait on its first objects (a job waits through a kes
    // outage): it is still running when the cancel comes, whatever the machine's speed.
    const job = await admin.startRotation({ bucket: 'cli-cancel', toKey: 'key-b' });
    await kes.admin.seal();
    let cancelled: RotationJob;
    try {
      const r = await kesgate(['rotate', 'cancel', job.id, '--json', ...credFlags()]);
      assert.equal(r.code, 0, r.stderr);
      cancelled = JSON.parse(r.stdout) as RotationJob;
      assert.equal(cancelled.state, 'cancelled');
    } finally {
      for (const share of kes.shares) if ((await kes.admin.sealStatus()).sealed) await kes.admin.unseal(share);
    }
    assert.equal((await admin.rotation(job.id)).state, 'cancelled');
    assert.ok(cancelled.counters.rotated < OBJECTS, 'the job stopped before the end');
    const left = await admin.keyDependents('key-a');
    assert.ok(
      (left.buckets.find((b) => b.bucket === 'cli-cancel')?.objects ?? 0) >= OBJECTS - cancelled.counters.rotated,
      'what it did not rotate is still under key-a',
    );

    const again = await kesgate(['rotate', 'cancel', job.id, ...credFlags()]);
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      new RegExp(`the gateway refused: \\w+ \\(HTTP 409\\): Rotation job ${job.id} is not running \\(it is cancelled\\)`),
    );
  });

  test('server: a bad config is a clear error and exit 1', async () => {
    const dir = tempDir('kesgate-cli-bad-');
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, 'address: nowhere\ncredentials: { accessKey: ab, secretKey: short }\nkms: { endpoints: [], cert: c, key: k }\n');
    const r = await kesgateBinary(['server', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid gateway config/);
    assert.match(r.stderr, /address: expected HOST:PORT/);
    assert.match(r.stderr, /kms\.endpoints: expected at least one kes endpoint/);
    const missing = await kesgateBinary(['server', '--config', join(dir, 'absent.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read config file .*absent\.yaml/);
  });

  test('server: SIGTERM stops it cleanly (exit 0) and the port closes', async () => {
    assert.equal(await portOpen(server.port), true);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.stderr());
    assert.equal(await portOpen(server.port), false);
  });
});
