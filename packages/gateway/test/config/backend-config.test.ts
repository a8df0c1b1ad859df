// The config's `backend` section: the embedded shorthand and the two stores named, paths resolved against
// the config file, ${ENV} in every field, errors that name the field and never show a secret, and what the
// factory makes of it (a description without secrets; a layout it cannot open is refused and leaves nothing
// locked).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { formatStatus } from '../../src/cli/status.js';
import { describeBackend, openFsStore, openObjectStore, type BackendDescription } from '../../src/storage/index.js';

const base = {
  credentials: { accessKey: 'root-user', secretKey: 'root-password' },
  kms: { endpoints: ['https://127.0.0.1:7373'], cert: 'gw.crt', key: 'gw.key' },
};
const PASSWORD = 'pg-Pa55word-never-shown';
const SECRET = 's3-secret-key-never-shown';
const ACCESS = 'S3ACCESSKEYNEVERSHOWN';

function backendOf(backend: unknown, baseDir = '/etc/kesgate') {
  return parseConfig({ ...base, backend }, baseDir).backend;
}

function configError(backend: unknown): string {
  try {
    parseConfig({ ...base, backend });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('the config was accepted');
}

const cluster = {
  metadata: { postgres: { url: `postgres://kesgate:${PASSWORD}@db.internal:5433/objects` } },
  blobs: {
    s3: {
      endpoint: 'https://minio.internal:9000',
      bucket: 'kesgate-data',
      accessKey: ACCESS,
      secretKey: SECRET,
      prefix: 'gw/',
      ca: 'certs/minio-ca.pem',
    },
  },
};

describe('config: backend', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-backend-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps { fs: { path } } as the embedded shorthand, the default, with the path resolved', () => {
    assert.deepEqual(parseConfig(base, '/srv').backend, { fs: { path: '/srv/data/gateway' } });
    assert.deepEqual(backendOf({ fs: { path: 'store' } }), { fs: { path: '/etc/kesgate/store' } });
    assert.deepEqual(backendOf({ fs: { path: '/abs/store' } }), { fs: { path: '/abs/store' } });
  });

  it('takes the two stores by name, with their paths resolved and the s3 defaults filled in', () => {
    assert.deepEqual(backendOf({ metadata: { sqlite: { path: 'meta/meta.db' } }, blobs: { fs: { path: 'blobs' } } }), {
      metadata: { sqlite: { path: '/etc/kesgate/meta/meta.db' } },
      blobs: { fs: { path: '/etc/kesgate/blobs' } },
    });
    assert.deepEqual(backendOf(cluster), {
      metadata: { postgres: { url: cluster.metadata.postgres.url } },
      blobs: {
        s3: {
          endpoint: 'https://minio.internal:9000',
          bucket: 'kesgate-data',
          region: 'us-east-1',
          accessKey: ACCESS,
          secretKey: SECRET,
          prefix: 'gw/',
          pathStyle: true,
          ca: '/etc/kesgate/certs/minio-ca.pem',
        },
      },
    });
    const virtualHost = backendOf({
      ...cluster,
      blobs: { s3: { ...cluster.blobs.s3, region: 'eu-central-1', pathStyle: false, prefix: undefined, ca: undefined } },
    });
    assert.ok('metadata' in virtualHost && 's3' in virtualHost.blobs);
    assert.deepEqual(
      [virtualHost.blobs.s3.region, virtualHost.blobs.s3.pathStyle, virtualHost.blobs.s3.prefix, 'ca' in virtualHost.blobs.s3],
      ['eu-central-1', false, '', false],
    );
    // A parsed config parses again to itself (the admin API and tests re-parse configs).
    const parsed = parseConfig({ ...base, backend: cluster }, '/etc/kesgate');
    assert.deepEqual(parseConfig(parsed, '/elsewhere').backend, parsed.backend);
  });

  it('substitutes ${ENV} in every backend field', () => {
    const file = join(dir, 'gateway.yaml');
    writeFileSync(
      file,
      [
        'credentials: { accessKey: root-user, secretKey: root-password }',
        'kms: { endpoints: [https://127.0.0.1:7373], cert: gw.crt, key: gw.key }',
        'backend:',
        '  metadata: { postgres: { url: "postgres://${PG_USER}:${PG_PASSWORD}@${PG_HOST}:5432/${PG_DB}" } }',
        '  blobs:',
        '    s3: { endpoint: "${S3_ENDPOINT}", bucket: "${S3_BUCKET}", region: "${S3_REGION}", accessKey: "${S3_ACCESS}",',
        '          secretKey: "${S3_SECRET}", prefix: "${S3_PREFIX}", pathStyle: ${S3_PATH_STYLE}, ca: "${S3_CA}" }',
      ].join('\n'),
    );
    const env = {
      PG_USER: 'kesgate',
      PG_PASSWORD: PASSWORD,
      PG_HOST: 'db',
      PG_DB: 'objects',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_BUCKET: 'b1',
      S3_REGION: 'eu-west-1',
      S3_ACCESS: ACCESS,
      S3_SECRET: SECRET,
      S3_PREFIX: 'p/',
      S3_PATH_STYLE: 'false',
      S3_CA: 'ca.pem',
    };
    assert.deepEqual(loadConfig(file, env).backend, {
      metadata: { postgres: { url: `postgres://kesgate:${PASSWORD}@db:5432/objects` } },
      blobs: {
        s3: {
          endpoint: 'http://127.0.0.1:9000',
          bucket: 'b1',
          region: 'eu-west-1',
          accessKey: ACCESS,
          secretKey: SECRET,
          prefix: 'p/',
          pathStyle: false,
          ca: join(dir, 'ca.pem'),
        },
      },
    });
    assert.throws(
      () => loadConfig(file, { ...env, S3_SECRET: undefined }),
      /environment variable S3_SECRET is referenced in the config but not set/,
    );
  });

  it('takes inlineThreshold beside either form, and refuses one that is not a byte count from 0 to 256 KiB', () => {
    assert.deepEqual(backendOf({ fs: { path: 'store' }, inlineThreshold: 0 }), { fs: { path: '/etc/kesgate/store' }, inlineThreshold: 0 });
    assert.equal(backendOf({ ...cluster, inlineThreshold: 16384 }).inlineThreshold, 16384);
    assert.equal(backendOf({ fs: { path: 'store' } }).inlineThreshold, undefined, 'absent: the store applies its default');
    assert.match(configError({ fs: { path: 'x' }, inlineThreshold: -1 }), /backend\.inlineThreshold: must not be negative/);
    assert.match(configError({ fs: { path: 'x' }, inlineThreshold: 262145 }), /backend\.inlineThreshold: must be at most 262144 bytes/);
    assert.match(configError({ fs: { path: 'x' }, inlineThreshold: 1.5 }), /backend\.inlineThreshold: expected a whole number of bytes/);
    assert.match(configError({ fs: { path: 'x' }, inlineThreshold: '4k' }), /backend\.inlineThreshold: expected a number of bytes/);
  });

  it('refuses an incomplete or ambiguous backend with a message naming the field, never a secret', () => {
    const cases: [unknown, RegExp][] = [
      [
        { ...cluster, blobs: { s3: { ...cluster.blobs.s3, bucket: undefined } } },
        /backend\.blobs\.s3\.bucket is required \(the upstream bucket/,
      ],
      [{ ...cluster, blobs: { s3: { ...cluster.blobs.s3, secretKey: undefined } } }, /backend\.blobs\.s3\.secretKey is required/],
      [
        { ...cluster, blobs: { s3: { ...cluster.blobs.s3, endpoint: 'minio:9000' } } },
        /backend\.blobs\.s3\.endpoint: expected an http:\/\/ or https:\/\/ URL/,
      ],
      [{ ...cluster, blobs: { s3: { ...cluster.blobs.s3, secret: 'typo' } } }, /backend\.blobs\.s3: Unrecognized key: "secret"/],
      [
        { ...cluster, metadata: { postgres: { url: `mysql://kesgate:${PASSWORD}@db/objects` } } },
        /backend\.metadata\.postgres\.url: expected a postgres:\/\/user:password@host:5432\/database URL/,
      ],
      [{ ...cluster, metadata: { postgres: {} } }, /backend\.metadata\.postgres\.url is required/],
      [{ metadata: cluster.metadata }, /backend\.blobs is required with backend\.metadata/],
      [{ blobs: cluster.blobs }, /backend\.metadata is required with backend\.blobs/],
      [{ fs: { path: 'x' }, ...cluster }, /backend: takes either fs: \{ path \} \(the embedded layout\) or metadata: and blobs:, not both/],
      [
        { ...cluster, metadata: { ...cluster.metadata, sqlite: { path: 'm.db' } } },
        /backend\.metadata: takes one of sqlite, postgres, not both/,
      ],
      [{ ...cluster, blobs: {} }, /backend\.blobs: needs one of fs, s3/],
      [{}, /backend: needs fs: \{ path \} \(the embedded layout\), or metadata: and blobs:/],
      [{ fs: {} }, /backend\.fs\.path is required/],
    ];
    for (const [backend, expected] of cases) {
      const message = configError(backend);
      assert.match(message, expected);
      for (const secret of [PASSWORD, SECRET, ACCESS]) assert.equal(message.includes(secret), false, `${message} shows a secret`);
    }
  });

  it('describes a backend by kinds and places, without credentials', () => {
    const cfg = backendOf(cluster);
    const described = describeBackend(cfg);
    assert.deepEqual(described, {
      type: 'postgres+s3',
      metadata: { kind: 'postgres', host: 'db.internal', port: 5433, database: 'objects' },
      blobs: {
        kind: 's3',
        endpoint: 'https://minio.internal:9000',
        bucket: 'kesgate-data',
        prefix: 'gw/',
        region: 'us-east-1',
        pathStyle: true,
      },
    });
    const text = JSON.stringify(described);
    for (const secret of [PASSWORD, SECRET, ACCESS, 'kesgate:']) assert.equal(text.includes(secret), false);
    assert.deepEqual(describeBackend(backendOf({ fs: { path: '/var/kesgate' } })), {
      type: 'fs',
      path: '/var/kesgate',
      metadata: { kind: 'sqlite', path: '/var/kesgate/meta.db' },
      blobs: { kind: 'fs', path: '/var/kesgate' },
    });

    // kesgate status prints the same, one line.
    const stats = { buckets: 1, objects: 2, bytes: 3, storedBytes: 4, uploads: 0, uploadParts: 0, uploadStoredBytes: 0 };
    const status = (backend: BackendDescription) =>
      formatStatus({
        region: 'us-east-1',
        instance: 'gw-1',
        backend: { ...backend, health: { metadata: { reachable: true }, blobs: { reachable: true } }, stats },
        kes: { endpoints: [], defaultKey: { name: 'k' } },
        rotation: { running: 0 },
      }).split('\n')[0];
    assert.equal(
      status(described),
      'backend      metadata postgres (host db.internal, port 5433, database objects), blobs s3 (endpoint https://minio.internal:9000, bucket kesgate-data, prefix gw/, region us-east-1, pathStyle true)',
    );
    assert.equal(status(describeBackend(backendOf({ fs: { path: '/var/kesgate' } }))), 'backend      fs at /var/kesgate');
  });

  it('opens the embedded directory through the shorthand or the two stores named, alike', async () => {
    const root = join(dir, 'embedded');
    const first = await openFsStore({ path: root });
    await first.createBucket('same');
    assert.deepEqual(first.rotationJobs, { sqlite: join(root, 'rotation.db') });
    await first.close();
    const named = await openObjectStore(
      backendOf({ metadata: { sqlite: { path: join(root, 'meta.db') } }, blobs: { fs: { path: root } } }),
    );
    try {
      assert.deepEqual(
        (await named.listBuckets()).map((b) => b.name),
        ['same'],
      );
      assert.equal(named.backend, 'sqlite+fs');
      assert.deepEqual(named.rotationJobs, { sqlite: join(root, 'rotation.db') });
    } finally {
      await named.close();
    }
  });

  it('refuses a store it cannot open without showing a secret, and leaves the other store unlocked', async () => {
    const meta = join(dir, 'meta-only', 'meta.db');
    const withS3 = backendOf({
      metadata: { sqlite: { path: meta } },
      blobs: { s3: { ...cluster.blobs.s3, endpoint: 'http://127.0.0.1:1', ca: undefined } },
    });
    const err = await openObjectStore(withS3).then(
      () => assert.fail('opened'),
      (e: Error) => e,
    );
    for (const secret of [SECRET, ACCESS]) assert.equal(err.message.includes(secret), false, err.message);
    // The SQLite store opened first was closed again: its lock is free.
    const again = await openObjectStore(
      backendOf({ metadata: { sqlite: { path: meta } }, blobs: { fs: { path: join(dir, 'meta-only') } } }),
    );
    await again.close();

    const withPostgres = backendOf({
      metadata: { postgres: { url: `postgres://kesgate:${PASSWORD}@127.0.0.1:1/objects` } },
      blobs: { fs: { path: join(dir, 'pg-blobs') } },
    });
    const pgErr = await openObjectStore(withPostgres).then(
      () => assert.fail('opened'),
      (e: Error) => e,
    );
    assert.equal(pgErr.message.includes(PASSWORD), false, pgErr.message);
  });
});
