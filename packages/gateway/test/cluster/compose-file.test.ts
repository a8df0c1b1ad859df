// docker/compose.cluster.yaml: PostgreSQL, MinIO with a bucket-creating mc job, two kes nodes on one
// PostgreSQL keystore, two gateways on that database and bucket, HAProxy in front. No container engine runs
// here, so what can be checked without one is: the file's shape (the yaml package), the gateways' config
// through the gateway's own config loader and the kes nodes' (as `npm run docker:init` writes it) through
// kes's, the load balancer's config naming every gateway, and — where the tools are installed — `docker
// compose config` (or Debian's docker-compose) and `haproxy -c`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig as loadKesConfig } from '@kesgate/kes';
import { loadConfig } from '../../src/config/load.js';
import { dockerInit } from '../../../../scripts/docker-init.js';

const root = resolve(import.meta.dirname, '../../../..');
const docker = join(root, 'docker');
const read = (f: string): string => readFileSync(join(docker, f), 'utf8');

interface Service {
  image?: string;
  build?: { dockerfile: string; target?: string };
  user?: string;
  read_only?: boolean;
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string>;
  env_file?: string;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
const compose = parse(read('compose.cluster.yaml'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const built = (target: string): string[] => Object.keys(services).filter((s) => services[s]!.build?.target === target);
const gateways = built('gateway');
const kesNodes = built('kes');

/** The first of `docker compose` (v2) and `docker-compose` that runs here, or why none does. */
function composeCommand(): { cmd: string; args: string[] } | string {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return { cmd: 'docker', args: ['compose'] };
  if (spawnSync('docker-compose', ['version']).status === 0) return { cmd: 'docker-compose', args: [] };
  return 'neither `docker compose` nor docker-compose is installed (Debian: apt-get install --no-install-recommends docker-compose)';
}
const composeTool = composeCommand();
const haproxyMissing = spawnSync('haproxy', ['-v']).status === 0 ? false : 'haproxy is not installed (Debian: apt-get install haproxy)';

describe('docker/compose.cluster.yaml', () => {
  // The state its containers mount, as `npm run docker:init` makes it.
  const home = mkdtempSync(join(tmpdir(), 'kesgate-docker-home-'));
  before(() => dockerInit(home));
  after(() => rmSync(home, { recursive: true, force: true }));

  test('has PostgreSQL, MinIO and a job that makes the bucket with mc, two kes nodes, two gateways and a load balancer, with healthchecks', () => {
    assert.match(services.postgres!.image!, /^postgres:/);
    assert.match(services.minio!.image!, /^minio\/minio/);
    const init = services['minio-init']!;
    assert.match(init.image!, /^minio\/mc/);
    assert.match(String(init.command), /mc mb --ignore-existing upstream\/kesgate-data/);
    assert.deepEqual(init.depends_on, { minio: { condition: 'service_healthy' } });
    assert.deepEqual(kesNodes, ['kes', 'kes-2']);
    assert.deepEqual(gateways, ['gateway-1', 'gateway-2']);
    for (const s of ['postgres', 'minio', ...kesNodes, ...gateways])
      assert.ok(services[s]!.healthcheck?.test.length, `${s} has a healthcheck`);
    for (const k of kesNodes) {
      assert.deepEqual(services[k]!.command, ['server', '--config', '/kes/kes-cluster.yaml']);
      assert.deepEqual(services[k]!.depends_on, { postgres: { condition: 'service_healthy' } });
      // Its config and certificate, read-only; nothing to write (the keystore is PostgreSQL, audit goes to stdout).
      assert.deepEqual(services[k]!.volumes, ['../.kesgate-docker/kes:/kes:ro'], `${k}'s mounts`);
      // The health check asks /v1/ready (skip_auth) with the CA only: no admin certificate.
      const check = services[k]!.healthcheck!.test.join(' ');
      assert.match(check, /path:'\/v1\/ready'/);
      assert.doesNotMatch(check, /admin|cert:|key:/);
    }
    assert.deepEqual(
      kesNodes.map((k) => services[k]!.environment!.KES_NODE),
      ['kes-1', 'kes-2'],
    );
    assert.deepEqual(
      kesNodes.map((k) => services[k]!.ports),
      [['${KESGATE_BIND:-127.0.0.1}:7373:7373'], ['${KESGATE_BIND:-127.0.0.1}:7374:7373']],
    );
    for (const g of gateways) {
      // The kes nodes start sealed and are unsealed from the host: the gateways wait for them to start only.
      assert.deepEqual(services[g]!.depends_on, {
        kes: { condition: 'service_started' },
        'kes-2': { condition: 'service_started' },
        postgres: { condition: 'service_healthy' },
        'minio-init': { condition: 'service_completed_successfully' },
      });
      assert.deepEqual(
        services[g]!.volumes,
        ['./cluster-gateway.yaml:/etc/kesgate/gateway.yaml:ro', '../.kesgate-docker/gateway/certs:/kesgate/certs:ro'],
        `${g}'s mounts: its config and its certificates, read-only`,
      );
      assert.equal(services[g]!.ports, undefined, `${g} is reached through the load balancer only`);
    }
    for (const s of [...kesNodes, ...gateways]) {
      assert.match(services[s]!.user!, /^\$\{KESGATE_UID:\?[^}]+\}:\$\{KESGATE_GID:\?[^}]+\}$/, `${s} runs as the host user`);
      assert.equal(services[s]!.read_only, true, `${s} has a read-only root filesystem`);
    }
    assert.deepEqual(services.lb!.ports, ['${KESGATE_BIND:-127.0.0.1}:9000:9000', '${KESGATE_BIND:-127.0.0.1}:9443:9443']);
    assert.ok(services.lb!.volumes!.includes('./haproxy.cluster.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro'));
    // Secrets come from the environment, never from the file.
    assert.match(services.postgres!.environment!.POSTGRES_PASSWORD!, /^\$\{KESGATE_PG_PASSWORD:\?/);
    assert.match(services.minio!.environment!.MINIO_ROOT_PASSWORD!, /^\$\{MINIO_ROOT_PASSWORD:\?/);
  });

  test("the gateways' config is valid for the gateway: PostgreSQL metadata, blobs in MinIO's bucket, kes", () => {
    const env = {
      KESGATE_ROOT_USER: 'root-user',
      KESGATE_ROOT_PASSWORD: 'root-password',
      KESGATE_PG_PASSWORD: 'pg-password',
      KESGATE_S3_ACCESS_KEY: 'minio-user',
      KESGATE_S3_SECRET_KEY: 'minio-password',
    };
    // Every variable the config uses is one the compose file gives the gateways.
    const used = [...read('cluster-gateway.yaml').matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]!);
    const given = [...Object.keys(services['gateway-1']!.environment!), 'KESGATE_ROOT_USER', 'KESGATE_ROOT_PASSWORD'];
    for (const v of used) assert.ok(given.includes(v), `${v} is set for the gateways`);
    const config = loadConfig(join(docker, 'cluster-gateway.yaml'), env);
    assert.deepEqual(config.backend, {
      metadata: { postgres: { url: 'postgres://kesgate:pg-password@postgres:5432/kesgate' } },
      blobs: {
        s3: {
          endpoint: 'http://minio:9000',
          bucket: 'kesgate-data',
          region: 'us-east-1',
          accessKey: 'minio-user',
          secretKey: 'minio-password',
          prefix: '',
          pathStyle: true,
        },
      },
    });
    assert.equal(config.address, '0.0.0.0:9000');
    assert.equal(config.tls?.address, '0.0.0.0:9443');
  });

  test("the kes nodes' config is valid for kes: the PostgreSQL keystore on the compose database, named per node, starting sealed", () => {
    const file = join(home, 'kes', 'kes-cluster.yaml');
    const text = readFileSync(file, 'utf8');
    for (const k of kesNodes) {
      const env = services[k]!.environment!;
      for (const v of [...text.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]!)) assert.ok(v in env, `${v} is set for ${k}`);
      const config = loadKesConfig(file, { ...env, KESGATE_PG_PASSWORD: 'pg-password' });
      assert.equal(config.keystore.postgres?.url, 'postgres://kesgate:pg-password@postgres:5432/kesgate');
      assert.equal(config.node, env.KES_NODE);
      assert.equal(config.unseal, undefined, 'no unseal share in a container');
      assert.equal(config.log.audit, 'stdout');
      assert.equal(config.api['/v1/ready']?.skip_auth, true);
    }
    // Every node's host is named by kes's certificate, which the gateways check.
    const names = new X509Certificate(readFileSync(join(home, 'kes', 'certs', 'kes.crt'))).subjectAltName!;
    for (const k of kesNodes) assert.match(names, new RegExp(`DNS:${k}(,|$)`));
  });

  test("the gateways' config lists both kes nodes", () => {
    const env = {
      KESGATE_ROOT_USER: 'root-user',
      KESGATE_ROOT_PASSWORD: 'root-password',
      KESGATE_PG_PASSWORD: 'pg-password',
      KESGATE_S3_ACCESS_KEY: 'minio-user',
      KESGATE_S3_SECRET_KEY: 'minio-password',
    };
    assert.deepEqual(
      loadConfig(join(docker, 'cluster-gateway.yaml'), env).kms.endpoints,
      kesNodes.map((k) => `https://${k}:7373`),
    );
  });

  test('the load balancer sends HTTP and HTTPS to every gateway, health-checked', () => {
    const cfg = read('haproxy.cluster.cfg');
    for (const g of gateways) {
      assert.match(cfg, new RegExp(`^\\s*server ${g} ${g}:9000$`, 'm'), `${g} behind the HTTP frontend`);
      assert.match(
        cfg,
        new RegExp(`^\\s*server ${g} ${g}:9443 port 9000$`, 'm'),
        `${g} behind the HTTPS frontend, checked on its HTTP port`,
      );
    }
    assert.equal(cfg.match(/option httpchk GET \/kesgate\/health/g)?.length, 2);
    assert.doesNotMatch(cfg, /^\s*(option http-buffer-request|stick|cookie)/m, 'no buffered bodies, no stickiness');
  });

  test(
    '`docker compose config` accepts it, and refuses it without the passwords',
    { skip: typeof composeTool === 'string' ? composeTool : false },
    () => {
      const tool = composeTool as { cmd: string; args: string[] };
      // A copy beside the state `npm run docker:init` makes (the env_file must exist).
      const dir = mkdtempSync(join(tmpdir(), 'kesgate-compose-'));
      try {
        cpSync(docker, join(dir, 'docker'), { recursive: true });
        cpSync(home, join(dir, '.kesgate-docker'), { recursive: true });
        const creds = Object.fromEntries(
          readFileSync(join(home, 'credentials'), 'utf8')
            .trim()
            .split('\n')
            .map((l) => l.split('=') as [string, string]),
        );
        const run = (env: Record<string, string>, envFile = true) =>
          spawnSync(
            tool.cmd,
            [
              ...tool.args,
              '-p',
              'kesgate-cluster',
              ...(envFile ? ['--env-file', '.kesgate-docker/compose.env'] : []),
              '-f',
              'docker/compose.cluster.yaml',
              'config',
            ],
            {
              cwd: dir,
              encoding: 'utf8',
              env: { PATH: process.env.PATH, HOME: dir, ...env },
            },
          );
        const ok = run({});
        assert.equal(ok.status, 0, ok.stderr);
        const resolved = parse(ok.stdout) as { services: Record<string, Service> };
        assert.deepEqual(Object.keys(resolved.services).sort(), [
          'gateway-1',
          'gateway-2',
          'kes',
          'kes-2',
          'lb',
          'minio',
          'minio-init',
          'postgres',
        ]);
        const pg = /^KESGATE_PG_PASSWORD=(.*)$/m.exec(readFileSync(join(home, 'compose.env'), 'utf8'))![1];
        assert.equal(resolved.services['gateway-2']!.environment!.KESGATE_PG_PASSWORD, pg);
        assert.equal(resolved.services['kes-2']!.environment!.KESGATE_PG_PASSWORD, pg);
        assert.equal(resolved.services['kes-2']!.environment!.KES_NODE, 'kes-2');
        assert.equal(resolved.services['gateway-2']!.environment!.KESGATE_ROOT_USER, creds.KESGATE_ROOT_USER);
        assert.equal(resolved.services['kes-2']!.user, `${process.getuid!()}:${process.getgid!()}`);
        const refused = run({}, false);
        assert.notEqual(refused.status, 0);
        assert.match(refused.stderr, /set KESGATE_PG_PASSWORD|set MINIO_ROOT_USER|set MINIO_ROOT_PASSWORD|run npm run docker:init/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test('haproxy -c accepts the load balancer config', { skip: haproxyMissing }, () => {
    const r = spawnSync('haproxy', ['-c', '-f', join(docker, 'haproxy.cluster.cfg')], { encoding: 'utf8' });
    // The gateways' names resolve only inside the compose network: HAProxy warns and starts without them.
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout + r.stderr, /Configuration file is valid/);
  });
});
