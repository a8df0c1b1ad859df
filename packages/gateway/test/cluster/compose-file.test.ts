// docker/compose.cluster.yaml: PostgreSQL, MinIO with a bucket-creating mc job, one kes, two gateways on
// that database and bucket, HAProxy in front. No container engine runs here, so what can be checked without
// one is: the file's shape (the yaml package), the gateways' config through the gateway's own config loader,
// the load balancer's config naming every gateway, and — where the tools are installed — `docker compose
// config` (or Debian's docker-compose) and `haproxy -c`.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.js';

const root = resolve(import.meta.dirname, '../../../..');
const docker = join(root, 'docker');
const read = (f: string): string => readFileSync(join(docker, f), 'utf8');

interface Service {
  image?: string;
  build?: { dockerfile: string };
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string>;
  env_file?: string;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
const compose = parse(read('compose.cluster.yaml'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const gateways = Object.keys(services).filter((s) => services[s]!.build?.dockerfile === 'docker/gateway.Dockerfile');

/** The first of `docker compose` (v2) and `docker-compose` that runs here, or why none does. */
function composeCommand(): { cmd: string; args: string[] } | string {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return { cmd: 'docker', args: ['compose'] };
  if (spawnSync('docker-compose', ['version']).status === 0) return { cmd: 'docker-compose', args: [] };
  return 'neither `docker compose` nor docker-compose is installed (Debian: apt-get install --no-install-recommends docker-compose)';
}
const composeTool = composeCommand();
const haproxyMissing = spawnSync('haproxy', ['-v']).status === 0 ? false : 'haproxy is not installed (Debian: apt-get install haproxy)';

describe('docker/compose.cluster.yaml', () => {
  test('has PostgreSQL, MinIO and a job that makes the bucket with mc, one kes, two gateways and a load balancer, with healthchecks', () => {
    assert.match(services.postgres!.image!, /^postgres:/);
    assert.match(services.minio!.image!, /^minio\/minio/);
    const init = services['minio-init']!;
    assert.match(init.image!, /^minio\/mc/);
    assert.match(String(init.command), /mc mb --ignore-existing upstream\/kesgate-data/);
    assert.deepEqual(init.depends_on, { minio: { condition: 'service_healthy' } });
    assert.equal(Object.keys(services).filter((s) => services[s]!.build?.dockerfile === 'docker/kes.Dockerfile').length, 1, 'one kes node (kes on PostgreSQL comes later)');
    assert.deepEqual(gateways, ['gateway-1', 'gateway-2']);
    for (const s of ['postgres', 'minio', 'kes', ...gateways]) assert.ok(services[s]!.healthcheck?.test.length, `${s} has a healthcheck`);
    for (const g of gateways) {
      assert.deepEqual(services[g]!.depends_on, {
        kes: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
        'minio-init': { condition: 'service_completed_successfully' },
      });
      assert.ok(services[g]!.volumes!.includes('./cluster-gateway.yaml:/etc/kesgate/gateway.yaml:ro'), `${g} runs docker/cluster-gateway.yaml`);
      assert.equal(services[g]!.ports, undefined, `${g} is reached through the load balancer only`);
    }
    assert.deepEqual(services.lb!.ports, ['9000:9000', '9443:9443']);
    assert.ok(services.lb!.volumes!.includes('./haproxy.cluster.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro'));
    // Secrets come from the environment, never from the file.
    assert.match(services.postgres!.environment!.POSTGRES_PASSWORD!, /^\$\{KESGATE_PG_PASSWORD:\?/);
    assert.match(services.minio!.environment!.MINIO_ROOT_PASSWORD!, /^\$\{MINIO_ROOT_PASSWORD:\?/);
  });

  test("the gateways' config is valid for the gateway: PostgreSQL metadata, blobs in MinIO's bucket, kes", () => {
    const env = { KESGATE_ROOT_USER: 'root-user', KESGATE_ROOT_PASSWORD: 'root-password', KESGATE_PG_PASSWORD: 'pg-password', KESGATE_S3_ACCESS_KEY: 'minio-user', KESGATE_S3_SECRET_KEY: 'minio-password' };
    // Every variable the config uses is one the compose file gives the gateways.
    const used = [...read('cluster-gateway.yaml').matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]!);
    const given = [...Object.keys(services['gateway-1']!.environment!), 'KESGATE_ROOT_USER', 'KESGATE_ROOT_PASSWORD'];
    for (const v of used) assert.ok(given.includes(v), `${v} is set for the gateways`);
    const config = loadConfig(join(docker, 'cluster-gateway.yaml'), env);
    assert.deepEqual(config.backend, {
      metadata: { postgres: { url: 'postgres://kesgate:pg-password@postgres:5432/kesgate' } },
      blobs: { s3: { endpoint: 'http://minio:9000', bucket: 'kesgate-data', region: 'us-east-1', accessKey: 'minio-user', secretKey: 'minio-password', prefix: '', pathStyle: true } },
    });
    assert.deepEqual(config.kms.endpoints, ['https://kes:7373']);
    assert.equal(config.address, '0.0.0.0:9000');
    assert.equal(config.tls?.address, '0.0.0.0:9443');
  });

  test("the gateways' config has a commented kms.endpoints line for two kes nodes that is valid once enabled", () => {
    const env = { KESGATE_ROOT_USER: 'root-user', KESGATE_ROOT_PASSWORD: 'root-password', KESGATE_PG_PASSWORD: 'pg-password', KESGATE_S3_ACCESS_KEY: 'minio-user', KESGATE_S3_SECRET_KEY: 'minio-password' };
    const text = read('cluster-gateway.yaml');
    const enabled = text.replace(/^  endpoints: \[https:\/\/kes:7373\]\n/m, '').replace(/^  # (endpoints: \[.*\])$/m, '  $1');
    assert.notEqual(enabled, text);
    const dir = mkdtempSync(join(tmpdir(), 'kesgate-kes-nodes-'));
    try {
      writeFileSync(join(dir, 'gateway.yaml'), enabled);
      assert.deepEqual(loadConfig(join(dir, 'gateway.yaml'), env).kms.endpoints, ['https://kes:7373', 'https://kes-2:7373']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the load balancer sends HTTP and HTTPS to every gateway, health-checked', () => {
    const cfg = read('haproxy.cluster.cfg');
    for (const g of gateways) {
      assert.match(cfg, new RegExp(`^\\s*server ${g} ${g}:9000$`, 'm'), `${g} behind the HTTP frontend`);
      assert.match(cfg, new RegExp(`^\\s*server ${g} ${g}:9443 port 9000$`, 'm'), `${g} behind the HTTPS frontend, checked on its HTTP port`);
    }
    assert.equal(cfg.match(/option httpchk GET \/kesgate\/health/g)?.length, 2);
    assert.doesNotMatch(cfg, /^\s*(option http-buffer-request|stick|cookie)/m, 'no buffered bodies, no stickiness');
  });

  test('`docker compose config` accepts it, and refuses it without the passwords', { skip: typeof composeTool === 'string' ? composeTool : false }, () => {
    const tool = composeTool as { cmd: string; args: string[] };
    // A copy beside a state directory as `npm start -- --init-only` leaves it (the env_file must exist).
    const dir = mkdtempSync(join(tmpdir(), 'kesgate-compose-'));
    try {
      cpSync(docker, join(dir, 'docker'), { recursive: true });
      mkdirSync(join(dir, '.kesgate', 'certs'), { recursive: true });
      writeFileSync(join(dir, '.kesgate', 'credentials'), 'KESGATE_ROOT_USER=root-user\nKESGATE_ROOT_PASSWORD=root-password\n');
      const run = (env: Record<string, string>) =>
        spawnSync(tool.cmd, [...tool.args, '-p', 'kesgate-cluster', '-f', 'docker/compose.cluster.yaml', 'config'], {
          cwd: dir,
          encoding: 'utf8',
          env: { PATH: process.env.PATH, HOME: dir, ...env },
        });
      const ok = run({ KESGATE_PG_PASSWORD: 'pg-password', MINIO_ROOT_USER: 'kesgate', MINIO_ROOT_PASSWORD: 'minio-password' });
      assert.equal(ok.status, 0, ok.stderr);
      const resolved = parse(ok.stdout) as { services: Record<string, Service> };
      assert.deepEqual(Object.keys(resolved.services).sort(), ['gateway-1', 'gateway-2', 'kes', 'lb', 'minio', 'minio-init', 'postgres']);
      assert.equal(resolved.services['gateway-2']!.environment!.KESGATE_PG_PASSWORD, 'pg-password');
      assert.equal(resolved.services['gateway-2']!.environment!.KESGATE_ROOT_USER, 'root-user');
      const refused = run({});
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /set KESGATE_PG_PASSWORD|set MINIO_ROOT_USER|set MINIO_ROOT_PASSWORD/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('haproxy -c accepts the load balancer config', { skip: haproxyMissing }, () => {
    const r = spawnSync('haproxy', ['-c', '-f', join(docker, 'haproxy.cluster.cfg')], { encoding: 'utf8' });
    // The gateways' names resolve only inside the compose network: HAProxy warns and starts without them.
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout + r.stderr, /Configuration file is valid/);
  });
});
