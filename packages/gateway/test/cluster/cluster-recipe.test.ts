// The README's scale-out recipe, run as a user runs it: `npm run cluster -- --check` starts PostgreSQL,
// moto_server, two kes nodes on one PostgreSQL keystore and two gateways on one database and one bucket, writes through one gateway and reads
// through the other, prints OK and stops everything; docker/compose.cluster.yaml's HAProxy config balances a
// running cluster's gateways; and when one process of a running cluster dies, the others are stopped and the
// reason shown.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { motoMissing } from '../../../../scripts/lib/moto.js';
import { postgresMissing } from '../../../../scripts/lib/postgres.js';
import { freePort } from '../../../../scripts/lib/free-port.js';

const root = resolve(import.meta.dirname, '../../../..');
const skip = postgresMissing() ?? motoMissing() ?? false;
const haproxyMissing = spawnSync('haproxy', ['-v']).status === 0 ? false : 'haproxy is not installed (Debian: apt-get install haproxy)';

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  ports: { kes: number[]; http: number[]; https: number[] };
}

async function cluster(home: string, args: string[]): Promise<Run> {
  const ports = {
    kes: [await freePort(), await freePort()],
    http: [await freePort(), await freePort()],
    https: [await freePort(), await freePort()],
  };
  let output = '';
  // `npm run cluster`, exactly as the README says (npm passes what follows `--` to the script).
  const child = spawn('npm', ['run', '--silent', 'cluster', '--', ...args], {
    cwd: root,
    env: {
      ...process.env,
      KESGATE_HOME: home,
      KES_CLUSTER_ADDRESSES: ports.kes.map((p) => `127.0.0.1:${p}`).join(','),
      KESGATE_CLUSTER_ADDRESSES: ports.http.map((p) => `127.0.0.1:${p}`).join(','),
      KESGATE_CLUSTER_TLS_ADDRESSES: ports.https.map((p) => `127.0.0.1:${p}`).join(','),
      KESGATE_ROOT_USER: undefined,
      KESGATE_ROOT_PASSWORD: undefined,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => output, exited, ports };
}

/** The ports of PostgreSQL and moto_server, from the endpoints the cluster printed. */
function backendPorts(output: string): { postgres: number; moto: number; pgDir: string } {
  const pg = /PostgreSQL\s+postgres:\/\/kesgate:[^@\s]+@127\.0\.0\.1:(\d+)\/kesgate\s+\(the shared metadata; data dir (\S+)\)/.exec(output);
  const moto = /upstream S3\s+http:\/\/127\.0\.0\.1:(\d+)\s+bucket kesgate-data\s+\(moto_server: a stand-in for MinIO/.exec(output);
  assert.ok(pg && moto, `the cluster printed its PostgreSQL and upstream S3 endpoints:\n${output}`);
  return { postgres: Number(pg[1]), moto: Number(moto[1]), pgDir: pg[2]! };
}

/**
 * The processes listening on TCP `port` (Linux: the LISTEN sockets of /proc/net/tcp and tcp6, matched to the
 * socket descriptors under /proc/<pid>/fd), with their command lines.
 */
function listeners(port: number): { pid: number; cmdline: string }[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; field 9 is the socket's inode.
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(`socket:[${f[9]}]`);
    }
  }
  if (inodes.size === 0) return [];
  const found: { pid: number; cmdline: string }[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const link = (fd: string): string => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return ''; // closed meanwhile
      }
    };
    try {
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => inodes.has(link(fd)))) {
        found.push({ pid: Number(pid), cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() });
      }
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/**
 * What of this cluster still listens on its ports. The ports are free once it stopped, but another process
 * on the machine (a test file running beside this one) may be given one of them by the OS right after: only a
 * listener that is one of the cluster's processes counts (its command line names the cluster's home, its
 * PostgreSQL data directory, or moto_server on its port).
 */
function clusterListeners(run: Run, home: string, output: string): string[] {
  const { postgres, moto, pgDir } = backendPorts(output);
  const ours = (cmdline: string): boolean =>
    cmdline.includes(home) || cmdline.includes(pgDir) || (cmdline.includes('moto_server') && cmdline.includes(`-p ${moto}`));
  return [...run.ports.kes, ...run.ports.http, ...run.ports.https, postgres, moto].flatMap((port) =>
    listeners(port)
      .filter((l) => ours(l.cmdline))
      .map((l) => `${port}: pid ${l.pid} ${l.cmdline}`),
  );
}

async function assertAllStopped(run: Run, home: string, output: string): Promise<void> {
  assert.deepEqual(clusterListeners(run, home, output), [], "none of the cluster's processes listens on its ports once it stopped");
  assert.equal(existsSync(backendPorts(output).pgDir), false, 'the throwaway PostgreSQL cluster was removed');
}

describe('npm run cluster', { skip }, () => {
  const home = mkdtempSync(join(tmpdir(), 'kesgate-cluster-home-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  test('--check: a PUT through gateway 1 reads through gateway 2, a multipart upload moves between them, then everything stops', async () => {
    const run = await cluster(home, ['--check']);
    const code = await run.exited;
    const output = run.output();
    assert.equal(code, 0, output);
    assert.match(output, /cluster check: OK/);
    assert.match(
      output,
      new RegExp(
        `PUT through http://127.0.0.1:${run.ports.http[0]}, HEAD and GET through http://127.0.0.1:${run.ports.http[1]}: same 102400 bytes`,
      ),
    );
    assert.match(output, /multipart upload begun on gateway 1, a part through each gateway, completed on gateway 2/);
    assert.match(output, /the upstream bucket holds \d+ blobs under opaque names, no plaintext in any of them/);
    // The output says where the credentials are, and both gateways' configs name the same database and bucket.
    assert.match(output, new RegExp(`credentials\\s+${join(home, 'credentials').replace(/[.]/g, '\\.')}`));
    const configs = ['gateway-1', 'gateway-2'].map((g) => readFileSync(join(home, 'cluster', `${g}.yaml`), 'utf8'));
    const backendOf = (c: string) => c.slice(c.indexOf('backend:'), c.indexOf('kms:'));
    assert.match(backendOf(configs[0]!), /postgres:\n\s+url: postgres:\/\/kesgate:/);
    assert.match(backendOf(configs[0]!), /s3:\n\s+endpoint: http:\/\/127\.0\.0\.1:\d+\n\s+bucket: kesgate-data/);
    assert.equal(backendOf(configs[0]!), backendOf(configs[1]!));
    // Two kes nodes on one PostgreSQL keystore (the gateways' database), both unsealed, both in every gateway's kms.endpoints.
    const kesEndpoints = run.ports.kes.map((p) => `https://127.0.0.1:${p}`);
    for (const [i, e] of kesEndpoints.entries())
      assert.match(output, new RegExp(`kes-${i + 1}\\s+${e.replace(/[.]/g, '\\.')}\\s+\\(unsealed; the PostgreSQL keystore`));
    for (const c of configs) assert.match(c, new RegExp(`endpoints: \\[${kesEndpoints.join(', ').replace(/[.]/g, '\\.')}\\]`));
    for (const n of ['kes-1', 'kes-2']) {
      const kes = readFileSync(join(home, 'cluster', `${n}.yaml`), 'utf8');
      assert.match(kes, /keystore:\n  postgres:\n    url: postgres:\/\/kesgate:/);
      assert.match(kes, new RegExp(`^node: ${n}$`, 'm'));
    }
    await assertAllStopped(run, home, output);
  });

  describe('a running cluster', () => {
    let run: Run;
    before(async () => {
      run = await cluster(home, []);
      const deadline = Date.now() + 180_000;
      while (!run.output().includes('Ctrl-C stops everything.')) {
        if (run.child.exitCode !== null) throw new Error(`npm run cluster exited (${run.child.exitCode}):\n${run.output()}`);
        if (Date.now() > deadline) throw new Error(`npm run cluster did not come up:\n${run.output()}`);
        await sleep(200);
      }
    });
    after(async () => {
      if (run?.child.exitCode === null) {
        run.child.kill('SIGINT');
        await run.exited;
      }
    });

    test(
      'docker/haproxy.cluster.cfg in front of the two gateways: SigV4 requests over HTTP and HTTPS reach both, a multipart upload crosses them',
      { skip: haproxyMissing },
      async () => {
        // The compose file's load balancer config, with the gateways' names replaced by this cluster's ports.
        const [lbHttp, lbHttps] = [await freePort(), await freePort()];
        const [g1, g2] = run.ports.http as [number, number];
        const [t1, t2] = run.ports.https as [number, number];
        const cfg = readFileSync(join(root, 'docker/haproxy.cluster.cfg'), 'utf8')
          .replace('bind :9000', `bind 127.0.0.1:${lbHttp}`)
          .replace('bind :9443', `bind 127.0.0.1:${lbHttps}`)
          .replace('gateway-1:9443 port 9000', `127.0.0.1:${t1} port ${g1}`)
          .replace('gateway-2:9443 port 9000', `127.0.0.1:${t2} port ${g2}`)
          .replace('gateway-1:9000', `127.0.0.1:${g1}`)
          .replace('gateway-2:9000', `127.0.0.1:${g2}`);
        assert.doesNotMatch(cfg, /gateway-\d:\d/, 'every gateway address was replaced');
        const dir = mkdtempSync(join(tmpdir(), 'kesgate-haproxy-'));
        writeFileSync(join(dir, 'haproxy.cfg'), cfg);
        const lb = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
        let lbLog = '';
        lb.stdout!.on('data', (d: Buffer) => (lbLog += d.toString()));
        lb.stderr!.on('data', (d: Buffer) => (lbLog += d.toString()));
        const creds = Object.fromEntries(
          readFileSync(join(home, 'credentials'), 'utf8')
            .trim()
            .split('\n')
            .map((l) => l.split('=') as [string, string]),
        );
        const credentials = { accessKeyId: creds.KESGATE_ROOT_USER!, secretAccessKey: creds.KESGATE_ROOT_PASSWORD! };
        const common = { region: 'us-east-1', forcePathStyle: true, credentials, maxAttempts: 1 };
        const http = new S3Client({ ...common, endpoint: `http://127.0.0.1:${lbHttp}` });
        const https = new S3Client({
          ...common,
          endpoint: `https://localhost:${lbHttps}`,
          requestHandler: { httpsAgent: new Agent({ ca: readFileSync(join(home, 'certs/ca.crt')) }) },
        });
        try {
          // Until HAProxy has seen both gateways healthy (it checks every 5 s, up after 2 checks).
          const deadline = Date.now() + 60_000;
          for (;;) {
            const up = await http.send(new ListBucketsCommand({})).then(
              () => true,
              () => false,
            );
            if (
              up &&
              (await https.send(new ListBucketsCommand({})).then(
                () => true,
                () => false,
              ))
            )
              break;
            assert.equal(lb.exitCode, null, `haproxy exited: ${lbLog}`);
            assert.ok(Date.now() < deadline, `the load balancer did not pass requests within 60 s: ${lbLog}`);
            await sleep(500);
          }
          const before = run.output().length;
          await http.send(new CreateBucketCommand({ Bucket: 'through-lb' }));
          const body = randomBytes(300_000);
          for (let i = 0; i < 6; i++) {
            const client = i % 2 ? https : http;
            await client.send(new PutObjectCommand({ Bucket: 'through-lb', Key: `k${i}`, Body: body }));
            const got = await (i % 2 ? http : https).send(new GetObjectCommand({ Bucket: 'through-lb', Key: `k${i}` }));
            assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body), `k${i} reads back through the other listener`);
          }
          // Three parts, one listener after the other; all but the last at S3's 5 MiB minimum, the last small.
          const parts = [randomBytes(5 * 1024 * 1024), randomBytes(5 * 1024 * 1024), randomBytes(100_000)];
          const { UploadId } = await http.send(new CreateMultipartUploadCommand({ Bucket: 'through-lb', Key: 'mp' }));
          const etags: string[] = [];
          for (const [i, part] of parts.entries()) {
            const n = i + 1;
            const r = await (n % 2 ? https : http).send(
              new UploadPartCommand({ Bucket: 'through-lb', Key: 'mp', UploadId, PartNumber: n, Body: part }),
            );
            etags.push(r.ETag!);
          }
          await https.send(
            new CompleteMultipartUploadCommand({
              Bucket: 'through-lb',
              Key: 'mp',
              UploadId,
              MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
            }),
          );
          const head = await http.send(new HeadObjectCommand({ Bucket: 'through-lb', Key: 'mp' }));
          assert.equal(
            head.ContentLength,
            parts.reduce((sum, p) => sum + p.length, 0),
          );
          // Round robin: both gateways served the S3 requests the load balancer passed on.
          const served = run.output().slice(before);
          for (const g of ['gateway-1', 'gateway-2']) {
            assert.match(
              served,
              new RegExp(`${g}\\| .*"op":"(PutObject|GetObject|UploadPart)"`),
              `${g} served requests through the load balancer`,
            );
          }
        } finally {
          http.destroy();
          https.destroy();
          const exited = new Promise((r) => lb.once('exit', r));
          lb.kill('SIGTERM');
          await exited;
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );

    test('prints a copy-pasteable aws s3 cp against each gateway, and stops everything when one gateway dies', async () => {
      const output = run.output();
      for (const port of run.ports.http) {
        assert.match(output, new RegExp(`/usr/bin/aws --endpoint-url http://127.0.0.1:${port} s3 cp README.md s3://demo/`));
      }
      assert.match(output, /moto_server: a stand-in for MinIO, Ceph RGW or AWS S3/);
      // While it runs, every port is seen held by one of the cluster's processes: the check after the stop can see them.
      assert.equal(
        new Set(clusterListeners(run, home, output).map((l) => l.split(':')[0])).size,
        run.ports.kes.length + run.ports.http.length + run.ports.https.length + 2,
        `the cluster's processes listen on all its ports:\n${clusterListeners(run, home, output).join('\n')}`,
      );
      // Kill gateway 2 as a crash would.
      const pid = descendant(run.child.pid!, 'gateway-2.yaml');
      assert.ok(pid, 'found the process of gateway 2');
      process.kill(pid, 'SIGKILL');
      const code = await run.exited;
      assert.equal(code, 1, 'a dead member makes the whole cluster exit with an error');
      assert.match(run.output(), /gateway-2 stopped \(SIGKILL\); stopping postgres, moto, kes-1, kes-2, gateway-1 too/);
      await assertAllStopped(run, home, run.output());
    });
  });
});

/** The descendant of `pid` whose command line contains `needle` (Linux: /proc/<pid>/task/<tid>/children). */
function descendant(pid: number, needle: string): number | undefined {
  const children = (p: number): number[] => {
    try {
      return readdirSync(`/proc/${p}/task`).flatMap((tid) =>
        readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
      );
    } catch {
      return []; // exited meanwhile
    }
  };
  for (const child of children(pid)) {
    try {
      if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes(needle)) return child;
    } catch {
      // exited meanwhile
    }
    const found = descendant(child, needle);
    if (found) return found;
  }
  return undefined;
}
