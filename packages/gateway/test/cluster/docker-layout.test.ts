// docker/Dockerfile, docker/compose.yaml and the state `npm run docker:init` makes for them. No container
// engine runs here, so: the Dockerfile's stages are read; the compose file is checked by its shape and by
// `docker compose config` (or Debian's docker-compose); and each container is stood in for by a directory
// holding exactly what the compose file mounts into it, beside an /app laid out as the image's runtime stage,
// from which the real kes and the real gateway bundles are started as the images' entrypoints start them,
// the kes health check of the compose file is run as written, kes is unsealed
// from the host's side as the compose file's header says, and an object is written and read with the SDK.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { currentBundles } from '../../../../scripts/build.js';
import { dockerInit, GATEWAY_CERTS, KES_CERTS } from '../../../../scripts/docker-init.js';
import { nodeArgsFor } from '../../../../scripts/lib/node-entry.js';
import { freePort } from '../../../../scripts/lib/free-port.js';

const root = resolve(import.meta.dirname, '../../../..');
const docker = join(root, 'docker');
const read = (f: string): string => readFileSync(join(docker, f), 'utf8');

interface Service {
  build?: { context: string; dockerfile: string; target?: string };
  command?: string[];
  user?: string;
  read_only?: boolean;
  env_file?: string;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
const compose = parse(read('compose.yaml')) as { services: Record<string, Service> };
const services = compose.services;

/** The first of `docker compose` (v2) and `docker-compose` that runs here, or why none does. */
function composeCommand(): { cmd: string; args: string[] } | string {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return { cmd: 'docker', args: ['compose'] };
  if (spawnSync('docker-compose', ['version']).status === 0) return { cmd: 'docker-compose', args: [] };
  return 'neither `docker compose` nor docker-compose is installed (Debian: apt-get install --no-install-recommends docker-compose)';
}
const composeTool = composeCommand();

/** Every file under `dir`, relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

/** A bind mount of the compose file: host path (resolved from docker/), container path, read-only or not. */
function mounts(s: Service, home: string): { source: string; target: string; ro: boolean }[] {
  return (s.volumes ?? []).map((v) => {
    const [src, target, mode] = v.split(':') as [string, string, string | undefined];
    const source = resolve(docker, src).replace(join(root, '.kesgate-docker'), home);
    return { source, target, ro: mode === 'ro' };
  });
}

/** True once kes answers its public GET /version over TLS. */
function kesVersionAnswers(port: number, ca: Buffer): Promise<boolean> {
  return new Promise((res) => {
    httpsGet({ host: '127.0.0.1', port, path: '/version', ca }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    }).on('error', () => res(false));
  });
}

/** The runtime stage's COPY lines: /app holds the production node_modules, the bundles and package.json. */
const RUNTIME_COPIES = ['--from=deps /app/node_modules ./node_modules', '--from=build /app/dist ./dist', 'package.json ./'];

/** The runtime stage's COPY lines as the Dockerfile has them. */
function runtimeCopies(): string[] {
  const text = read('Dockerfile');
  const start = text.indexOf('AS runtime\n');
  return [...text.slice(start, text.indexOf('\nFROM ', start)).matchAll(/^COPY (.*)$/gm)].map((m) => m[1]!);
}

describe('docker/Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = [...text.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((m) => ({ from: m[1]!, name: m[2]! }));
  const body = (name: string): string => {
    const start = text.indexOf(`AS ${name}\n`);
    const next = text.indexOf('\nFROM ', start);
    // Its instructions, without comments (the next stage's heading comment comes before its FROM).
    return text
      .slice(start, next === -1 ? undefined : next)
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n');
  };

  test('builds on Node 24.18.1 (with the reason said) and runs on Node 24, with a kes and a gateway target', () => {
    assert.deepEqual(
      stages.map((s) => s.name),
      ['toolchain', 'deps', 'build', 'runtime', 'kes', 'gateway'],
    );
    assert.equal(stages.find((s) => s.name === 'toolchain')!.from, 'node:24.18.1-bookworm-slim');
    assert.match(text, /better-sqlite3 12 compiled against the headers of 24\.19 or later aborts at\n# exit \(nodejs\/node#65446\)/);
    assert.equal(stages.find((s) => s.name === 'runtime')!.from, 'node:24-bookworm-slim');
    assert.equal(stages.find((s) => s.name === 'kes')!.from, 'runtime');
    assert.equal(stages.find((s) => s.name === 'gateway')!.from, 'runtime');
    assert.match(body('kes'), /ENTRYPOINT \["node", "\/app\/dist\/kes\.mjs"\]/);
    assert.match(body('gateway'), /ENTRYPOINT \["node", "\/app\/dist\/kesgate\.mjs"\]/);
  });

  test("npm ci in the toolchain stage sees every workspace's package.json (npm ci fails on a missing one)", () => {
    const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    const copies = [...body('toolchain').matchAll(/^COPY (.*)$/gm)].map((m) => m[1]!);
    for (const w of workspaces) assert.ok(copies.includes(`${w}/package.json ${w}/`), `the toolchain stage copies ${w}/package.json`);
  });

  test('the final stages get production dependencies only, the bundles and (the gateway) the built console', () => {
    assert.match(body('deps'), /npm ci --omit=dev /);
    assert.match(body('deps'), /npm rebuild better-sqlite3 --build-from-source --nodedir=\/usr\/local/);
    // Dev dependencies (esbuild, Vite) are installed in the build stage, which builds bundles and console.
    assert.match(body('build'), /npm ci --no-audit/);
    assert.match(body('build'), /RUN node scripts\/build\.js\n/);
    const runtime = body('runtime');
    // What the runtime stage holds (the test below runs the servers from exactly this layout).
    assert.deepEqual(
      [...runtime.matchAll(/^COPY (.*)$/gm)].map((m) => m[1]),
      RUNTIME_COPIES,
    );
    assert.doesNotMatch(runtime + body('kes') + body('gateway'), /npm (ci|install)|tsx/);
    assert.match(body('gateway'), /COPY --from=build \/app\/packages\/console\/dist \.\/packages\/console\/dist/);
    assert.doesNotMatch(body('kes'), /console/);
  });

  test('the build context leaves out local state and build output', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['.kesgate', '.kesgate-docker', '**/node_modules', 'dist', 'packages/console/dist'])
      assert.ok(ignored.includes(p), `.dockerignore lists ${p}`);
  });
});

describe('docker/compose.yaml and npm run docker:init', () => {
  const home = mkdtempSync(join(tmpdir(), 'kesgate-docker-home-'));
  before(() => dockerInit(home));
  after(() => rmSync(home, { recursive: true, force: true }));

  test('each service is built from its target, runs as the uid/gid docker:init wrote, on a read-only root, published on loopback', () => {
    assert.deepEqual(Object.keys(services).sort(), ['gateway', 'kes']);
    assert.deepEqual(services.kes!.build, { context: '..', dockerfile: 'docker/Dockerfile', target: 'kes' });
    assert.deepEqual(services.gateway!.build, { context: '..', dockerfile: 'docker/Dockerfile', target: 'gateway' });
    for (const s of Object.values(services)) {
      assert.match(s.user!, /^\$\{KESGATE_UID:\?[^}]+\}:\$\{KESGATE_GID:\?[^}]+\}$/);
      assert.equal(s.read_only, true);
      for (const p of s.ports!) assert.match(p, /^\$\{KESGATE_BIND:-127\.0\.0\.1\}:\d+:\d+$/);
    }
    const env = Object.fromEntries(
      readFileSync(join(home, 'compose.env'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split('=') as [string, string]),
    );
    assert.equal(env.KESGATE_UID, String(process.getuid!()));
    assert.equal(env.KESGATE_GID, String(process.getgid!()));
    assert.match(env.KESGATE_PG_PASSWORD!, /^[0-9a-f]{32}$/);
    // Kept on the next run.
    const first = readFileSync(join(home, 'compose.env'), 'utf8');
    return dockerInit(home).then(() => assert.equal(readFileSync(join(home, 'compose.env'), 'utf8'), first));
  });

  test('kes gets its config and certificate read-only and its keystore directory read-write; the gateway never gets the share, the CA key or the keystore', () => {
    const kes = mounts(services.kes!, home);
    assert.deepEqual(
      kes.map((m) => [relative(home, m.source), m.target, m.ro]),
      [
        ['kes', '/kes', true],
        ['data', '/kes/data', false],
      ],
    );
    const gw = mounts(services.gateway!, home);
    assert.deepEqual(
      gw.map((m) => [relative(home, m.source), m.target, m.ro]),
      [
        ['gateway', '/kesgate', true],
        ['gateway/data', '/kesgate/data', false],
      ],
    );
    // What those directories hold, after docker:init.
    assert.deepEqual(files(join(home, 'kes')), ['certs/ca.crt', 'certs/kes.crt', 'certs/kes.key', 'kes-cluster.yaml', 'kes.yaml']);
    assert.deepEqual(files(join(home, 'data')), ['kes.db']);
    assert.deepEqual(files(join(home, 'gateway')), [...GATEWAY_CERTS.map((c) => `certs/${c}`).sort(), 'gateway.yaml']);
    assert.deepEqual(KES_CERTS.sort(), ['ca.crt', 'kes.crt', 'kes.key']);
    for (const secret of ['unseal.key', 'ca.key', 'admin.key', 'kes.db', 'credentials']) {
      assert.ok(
        existsSync(join(home, secret)) || existsSync(join(home, 'certs', secret)) || existsSync(join(home, 'data', secret)),
        `${secret} exists on the host`,
      );
      assert.ok(!files(join(home, 'gateway')).some((f) => f.endsWith(secret)), `the gateway's mounts hold no ${secret}`);
    }
    for (const secret of ['unseal.key', 'ca.key', 'admin.key', 'gateway.key', 'console.key', 's3.key']) {
      assert.ok(
        !files(join(home, 'kes')).some((f) => f.endsWith(secret)) && !files(join(home, 'data')).some((f) => f.endsWith(secret)),
        `kes's mounts hold no ${secret}`,
      );
    }
    // kes starts sealed in its container: its config names no unseal file.
    assert.doesNotMatch(readFileSync(join(home, 'kes', 'kes.yaml'), 'utf8'), /^unseal:/m);
    assert.match(readFileSync(join(home, 'kes.yaml'), 'utf8'), /^unseal:/m, 'the host-side config (not mounted) keeps it, for the CLIs');
  });

  test('npm start does not touch it: the compose state has a directory of its own', () => {
    for (const v of Object.values(services).flatMap((s) => s.volumes ?? [])) assert.match(v, /^\.\.\/\.kesgate-docker\//);
    assert.equal(services.gateway!.env_file, '../.kesgate-docker/credentials');
  });

  test(
    '`docker compose config` accepts it with the env file, and refuses it without',
    { skip: typeof composeTool === 'string' ? composeTool : false },
    () => {
      const tool = composeTool as { cmd: string; args: string[] };
      const dir = mkdtempSync(join(tmpdir(), 'kesgate-compose-'));
      try {
        cpSync(docker, join(dir, 'docker'), { recursive: true });
        cpSync(home, join(dir, '.kesgate-docker'), { recursive: true });
        const run = (extra: string[]) =>
          spawnSync(tool.cmd, [...tool.args, '-p', 'kesgate', ...extra, '-f', 'docker/compose.yaml', 'config'], {
            cwd: dir,
            encoding: 'utf8',
            env: { PATH: process.env.PATH, HOME: dir },
          });
        const ok = run(['--env-file', '.kesgate-docker/compose.env']);
        assert.equal(ok.status, 0, ok.stderr);
        type Resolved = Omit<Service, 'volumes'> & { volumes: (string | { source: string; target: string; read_only?: boolean })[] };
        const resolved = parse(ok.stdout) as { services: Record<string, Resolved> };
        const uid = `${process.getuid!()}:${process.getgid!()}`;
        for (const s of ['kes', 'gateway']) {
          assert.equal(resolved.services[s]!.user, uid);
          assert.equal(resolved.services[s]!.read_only, true);
        }
        const published = (s: string) => JSON.stringify(resolved.services[s]!.ports);
        assert.match(published('kes'), /127\.0\.0\.1/);
        assert.doesNotMatch(published('gateway'), /0\.0\.0\.0/);
        // The volumes as the tool resolved them (short strings from docker-compose 1.x, mappings from v2).
        const vols = (s: string) =>
          resolved.services[s]!.volumes.map((v) =>
            typeof v === 'string' ? v : `${v.source}:${v.target}${v.read_only ? ':ro' : ':rw'}`,
          ).sort();
        const at = (p: string) => join(dir, '.kesgate-docker', p);
        assert.deepEqual(vols('kes'), [`${at('data')}:/kes/data:rw`, `${at('kes')}:/kes:ro`]);
        assert.deepEqual(vols('gateway'), [`${at('gateway/data')}:/kesgate/data:rw`, `${at('gateway')}:/kesgate:ro`]);
        const refused = run([]);
        assert.notEqual(refused.status, 0);
        assert.match(refused.stderr, /run npm run docker:init and pass --env-file \.kesgate-docker\/compose\.env/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  describe('kes and the gateway, each given only its mounts', () => {
    const roots = mkdtempSync(join(tmpdir(), 'kesgate-containers-'));
    const children: ChildProcess[] = [];
    let kesPort = 0;
    let s3Port = 0;
    let log = '';
    /** Each read-only mount's files (path, size, mtime) once laid out: they must be so when the servers ran. */
    const readOnly = new Map<string, string[]>();
    const roSnapshots = new Map<string, string[]>();
    const snapshot = (dir: string, rw: string[]): string[] =>
      files(dir)
        .filter((f) => !rw.some((w) => f.startsWith(`${w}/`)))
        .map((f) => {
          const st = statSync(join(dir, f));
          return `${f} ${st.size} ${st.mtimeMs}`;
        });
    /** Runs the compose file's kes health check as written, pointed at this kes. */
    const kesHealth = (): number | null => {
      const script = services
        .kes!.healthcheck!.test[3]!.replace("'/kes/certs/ca.crt'", JSON.stringify(join(roots, 'kes/kes/certs/ca.crt')))
        .replace('port:7373', `port:${kesPort}`);
      assert.notEqual(script, services.kes!.healthcheck!.test[3]);
      return spawnSync('node', ['-e', script], { encoding: 'utf8', timeout: 20_000 }).status;
    };
    /** Runs a bundle from /app as the image's entrypoint does: `node /app/dist/<bundle> server --config <config>`. */
    const start = (name: string, bundle: string, config: string, cwd: string, env: Record<string, string>): ChildProcess => {
      const child = spawn('node', [join(roots, 'app/dist', bundle), 'server', '--config', config], {
        cwd,
        env: { PATH: process.env.PATH, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d: Buffer) => (log += `${name}| ${d}`));
      child.stderr!.on('data', (d: Buffer) => (log += `${name}| ${d}`));
      children.push(child);
      return child;
    };
    const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, child: ChildProcess): Promise<void> => {
      const deadline = Date.now() + 60_000;
      while (!(await ok())) {
        assert.equal(child.exitCode, null, `${what} exited:\n${log}`);
        assert.ok(Date.now() < deadline, `${what} did not come up:\n${log}`);
        await sleep(200);
      }
    };

    before(async () => {
      // The image's /app as the runtime stage's COPY lines fill it: the bundles (scripts/build.js, as the build
      // stage runs it: dist/, built here only if a source changed since its last build), node_modules (here the
      // repository's, which holds the production ones), files of the build context.
      const app = join(roots, 'app');
      mkdirSync(app, { recursive: true });
      for (const line of runtimeCopies()) {
        if (line === '--from=deps /app/node_modules ./node_modules') symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
        else if (line === '--from=build /app/dist ./dist') {
          // What scripts/build.js makes; dist/scripts/ (npm start's and npm run cluster's own bundles) is no part of the image.
          const dist = dirname((await currentBundles()).kes);
          cpSync(dist, join(app, 'dist'), { recursive: true, filter: (src) => src !== join(dist, 'scripts') });
        } else {
          const m = /^([^-\s]\S*) \.\/$/.exec(line);
          assert.ok(m, `a COPY this test knows how to stand in for: ${line}`);
          cpSync(join(root, m[1]!), join(app, m[1]!));
        }
      }
      // Each container's filesystem, as its bind mounts make it (outer mounts first).
      for (const [name, s] of Object.entries(services)) {
        for (const m of mounts(s, home).sort((a, b) => a.target.split('/').length - b.target.split('/').length)) {
          const dest = join(roots, name, m.target);
          mkdirSync(dirname(dest), { recursive: true });
          cpSync(m.source, dest, { recursive: true });
        }
        for (const m of mounts(s, home).filter((x) => x.ro)) {
          const rw = mounts(s, home)
            .filter((x) => !x.ro && x.target.startsWith(`${m.target}/`))
            .map((x) => relative(m.target, x.target));
          readOnly.set(join(roots, name, m.target), rw);
        }
      }
      kesPort = await freePort();
      s3Port = await freePort();
      const tlsPort = await freePort();
      // Only the addresses change: the containers' names and published ports become this machine's loopback.
      const kesYaml = join(roots, 'kes/kes/kes.yaml');
      writeFileSync(kesYaml, readFileSync(kesYaml, 'utf8').replace('address: 0.0.0.0:7373', `address: 127.0.0.1:${kesPort}`));
      const gwYaml = join(roots, 'gateway/kesgate/gateway.yaml');
      const gwText = readFileSync(gwYaml, 'utf8');
      const moved = gwText
        .replace('address: 0.0.0.0:9000', `address: 127.0.0.1:${s3Port}`)
        .replace('address: 0.0.0.0:9443', `address: 127.0.0.1:${tlsPort}`)
        .replace('https://kes:7373', `https://127.0.0.1:${kesPort}`);
      assert.equal(moved.split('\n').filter((l, i) => l !== gwText.split('\n')[i]).length, 3, 'three lines moved');
      writeFileSync(gwYaml, moved);
      for (const [dir, rw] of readOnly) roSnapshots.set(dir, snapshot(dir, rw));
    });
    after(async () => {
      for (const c of children) {
        if (c.exitCode === null && c.signalCode === null) {
          const exited = new Promise((r) => c.once('exit', r));
          c.kill('SIGTERM');
          await exited;
        }
      }
      rmSync(roots, { recursive: true, force: true });
    });

    test('kes starts sealed (its health check fails), is unsealed from the host, then passes its health check without a client certificate', async () => {
      const kes = start('kes', 'kes.mjs', join(roots, 'kes/kes/kes.yaml'), join(roots, 'kes/kes'), {});
      await waitFor('kes', () => kesVersionAnswers(kesPort, readFileSync(join(home, 'certs/ca.crt'))), kes);
      assert.equal(kesHealth(), 1, 'sealed: not ready');
      // The compose file's header: `KESGATE_HOME=.kesgate-docker npx kes unseal < .kesgate-docker/unseal.key`.
      const unseal = spawnSync(
        'node',
        [...nodeArgsFor(join(root, 'packages/kes/src/cli/main.ts')), 'unseal', '--server', `https://127.0.0.1:${kesPort}`],
        {
          cwd: root,
          input: readFileSync(join(home, 'unseal.key')),
          encoding: 'utf8',
          env: { PATH: process.env.PATH, KESGATE_HOME: home },
        },
      );
      assert.equal(unseal.status, 0, unseal.stderr + unseal.stdout);
      assert.match(unseal.stdout, /kes is unsealed/);
      assert.equal(kesHealth(), 0, 'unsealed: ready');
      // It wrote its keystore and audit log where the read-write mount is, nothing elsewhere.
      assert.ok(files(join(roots, 'kes/kes/data')).includes('audit.log'));
    });

    test('the gateway runs from its mounts alone: an SSE-S3 object written with the SDK reads back, its data under the read-write mount', async () => {
      const creds = Object.fromEntries(
        readFileSync(join(home, 'credentials'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split('=') as [string, string]),
      );
      const gw = start('gateway', 'kesgate.mjs', join(roots, 'gateway/kesgate/gateway.yaml'), join(roots, 'gateway/kesgate'), creds);
      await waitFor(
        'the gateway',
        () =>
          fetch(`http://127.0.0.1:${s3Port}/kesgate/health`).then(
            (r) => r.ok,
            () => false,
          ),
        gw,
      );
      const s3 = new S3Client({
        endpoint: `http://127.0.0.1:${s3Port}`,
        region: 'us-east-1',
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: creds.KESGATE_ROOT_USER!, secretAccessKey: creds.KESGATE_ROOT_PASSWORD! },
      });
      try {
        await s3.send(new CreateBucketCommand({ Bucket: 'in-docker' }));
        const put = await s3.send(
          new PutObjectCommand({
            Bucket: 'in-docker',
            Key: 'hello.txt',
            Body: 'hello from the containers',
            ServerSideEncryption: 'AES256',
          }),
        );
        assert.equal(put.ServerSideEncryption, 'AES256');
        const got = await s3.send(new GetObjectCommand({ Bucket: 'in-docker', Key: 'hello.txt' }));
        assert.equal(await got.Body!.transformToString(), 'hello from the containers');
      } finally {
        s3.destroy();
      }
      assert.ok(files(join(roots, 'gateway/kesgate/data')).length > 0, 'the object went to /kesgate/data');
      // Neither server wrote into its read-only mounts (the tests run as root here, so nothing else would stop it).
      for (const [dir, rw] of readOnly) assert.deepEqual(snapshot(dir, rw), roSnapshots.get(dir), `nothing written under ${dir}`);
    });
  });
});
