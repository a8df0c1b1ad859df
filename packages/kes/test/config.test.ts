// The YAML config loader (env substitution, relative paths, errors that name the field) and the
// PKI helpers (identity checked against openssl, chains checked with Node's X509Certificate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_ROTATE_DEFAULT, loadConfig, parseConfig, ConfigError } from '../src/config/config.js';
import { parseDuration } from '../src/config/duration.js';
import { matchPattern } from '../src/auth/policy.js';
import { identityOf } from '../src/pki/pki.js';
import { cachedInTempDir } from '../src/pki/temp-cache.js';
import { testPki } from './helpers/pki.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir();
const ID_A = 'a'.repeat(64);
const ID_B = 'B'.repeat(64);

function writeConfig(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function rejects(text: string, field: RegExp, env: NodeJS.ProcessEnv = {}): void {
  const p = writeConfig(`bad-${Math.random().toString(36).slice(2)}.yml`, text);
  assert.throws(
    () => loadConfig(p, env),
    (e: unknown) => e instanceof ConfigError && field.test(e.message),
    text,
  );
}

test('a KES-shaped YAML config loads with ${ENV} substitution and paths relative to the file', () => {
  const p = writeConfig(
    'kes.yml',
    `address: 127.0.0.1:7373
admin: { identity: \${ADMIN_ID} }
tls: { key: certs/server.key, cert: /abs/server.crt, ca: ca.crt, auth: off }
policy:
  gateway:
    allow: [/v1/key/generate/*, /v1/key/decrypt/*]
    deny: []
    identities: [\${GW_ID}]
keystore: { sqlite: { path: data/kes.db } }
unseal: { file: dev-unseal.key }
log: { error: on, audit: data/audit.log }
keys: [ { name: sse-default } ]
`,
  );
  const c = loadConfig(p, { ADMIN_ID: ID_A, GW_ID: ID_B });
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 7373);
  assert.equal(c.admin.identity, ID_A);
  assert.deepEqual(c.tls, { key: join(dir, 'certs/server.key'), cert: '/abs/server.crt', ca: join(dir, 'ca.crt'), auth: false });
  assert.deepEqual(c.policy.gateway, { allow: ['/v1/key/generate/*', '/v1/key/decrypt/*'], deny: [], identities: [ID_B.toLowerCase()] });
  assert.equal(c.keystore.sqlite?.path, join(dir, 'data/kes.db'));
  assert.deepEqual(c.unseal, { file: join(dir, 'dev-unseal.key') });
  assert.deepEqual(c.log, {
    error: true,
    level: 'info',
    format: 'json',
    audit: join(dir, 'data/audit.log'),
    auditRotate: AUDIT_ROTATE_DEFAULT,
  });
  assert.deepEqual(c.keys, [{ name: 'sse-default' }]);
  assert.equal(c.source, p);
});

test('defaults: address 0.0.0.0:7373, audit off, no policies, no unseal file', () => {
  const c = parseConfig({ tls: { key: 'k', cert: 'c' }, keystore: { sqlite: { path: 'db' } } }, { baseDir: '/srv' });
  assert.equal(c.address, '0.0.0.0:7373');
  assert.deepEqual([c.host, c.port], ['0.0.0.0', 7373]);
  assert.deepEqual(c.log, { error: true, level: 'info', format: 'json', audit: 'off', auditRotate: AUDIT_ROTATE_DEFAULT });
  assert.deepEqual(c.policy, {});
  assert.equal(c.unseal, undefined);
  assert.equal(c.admin.identity, undefined);
  assert.equal(
    parseConfig(
      { address: '[::1]:0', log: { audit: 'on' }, tls: { key: 'k', cert: 'c' }, keystore: { sqlite: { path: 'db' } } },
      { baseDir: '/' },
    ).log.audit,
    'stdout',
  );
});

test('errors name the field and what was expected', () => {
  const base = 'tls: { key: k, cert: c }\nkeystore: { sqlite: { path: db } }\n';
  rejects(`${base}admin: { identity: \${NOPE} }\n`, /admin\.identity refers to the environment variable NOPE, which is not set/);
  rejects(`${base}admin: { identity: abc }\n`, /admin\.identity: expected an identity: 64 hexadecimal characters/);
  rejects(
    `${base}policy: { p: { allow: [v1/key/*], identities: [] } }\n`,
    /policy\.p\.allow\[0\]: expected an API path pattern starting with '\/'/,
  );
  rejects(`${base}policy: { p: { allow: [], identities: [xyz] } }\n`, /policy\.p\.identities\[0\]: expected an identity/);
  rejects(
    `${base}policy:\n  a: { identities: [${ID_A}] }\n  b: { identities: [${ID_A}] }\n`,
    /policy\.b\.identities: .* also listed in policy 'a'/,
  );
  rejects(`${base}admin: { identity: ${ID_A} }\npolicy: { a: { identities: [${ID_A}] } }\n`, /is the admin identity/);
  rejects('keystore: { sqlite: { path: db } }\n', /tls: expected a mapping with `key` and `cert`/);
  rejects('tls: { key: k, cert: c }\n', /keystore: expected `keystore: \{ sqlite: \{ path: <file> \} \}`/);
  rejects(`${base}address: localhost\n`, /address: expected host:port/);
  rejects(`${base}keys: [ { name: -bad } ]\n`, /keys\[0\]\.name: invalid key name/);
  rejects(`${base}cache: { expiry: 5m }\n`, /cache/);
  rejects(`${base}log: { error: maybe }\n`, /log\.error: expected on or off/);
  rejects('tls: { key: k, cert: c, auth: on }\nkeystore: { sqlite: { path: db } }\n', /tls\.ca: required when tls\.auth is on/);
  rejects('tls: [\n', /not valid YAML/);
  // A key this kes does not know is refused wherever it is, not silently dropped (KES's tls.password, a typo).
  rejects('tls: { key: k, cert: c, password: x }\nkeystore: { sqlite: { path: db } }\n', /tls: Unrecognized key: "password"/);
  rejects(`${base}admin: { identity: ${ID_A}, idenity: x }\n`, /admin: Unrecognized key: "idenity"/);
  rejects(`${base}policy: { p: { allow: [], identities: [], alow: [] } }\n`, /policy\.p: Unrecognized key: "alow"/);
  rejects(`${base}unseal: { file: f, shares: 2 }\n`, /unseal: Unrecognized key: "shares"/);
  rejects(`${base}keys: [ { name: a, size: 256 } ]\n`, /keys\[0\]: Unrecognized key: "size"/);
  rejects(`${base}api: { /v1/status: { skip_auth: on, timout: 5s } }\n`, /api\.\/v1\/status: Unrecognized key: "timout"/);
  assert.throws(() => loadConfig(join(dir, 'missing.yml')), /cannot read config file/);
});

test('keystore: sqlite or postgres (with ${ENV} in the URL and its defaults); exactly one; node name', () => {
  const pgConfig = parseConfig(
    {
      tls: { key: 'k', cert: 'c' },
      node: 'kes-2',
      keystore: { postgres: { url: 'postgres://kes:${PW}@db:5432/kes', seal_poll: '200ms' } },
    },
    { baseDir: '/srv', env: { PW: 's3cret' } },
  );
  assert.deepEqual(pgConfig.keystore, {
    postgres: { url: 'postgres://kes:s3cret@db:5432/kes', poolSize: 10, timeoutMs: 5000, sealPollMs: 200, listenRetryMs: 2000 },
  });
  assert.equal(pgConfig.node, 'kes-2');
  const base = 'tls: { key: k, cert: c }\n';
  rejects(`${base}keystore: { sqlite: { path: db }, postgres: { url: "postgres://h/d" } }\n`, /keystore: expected exactly one of/);
  rejects(
    `${base}keystore: { postgres: { url: "mysql://h/d" } }\n`,
    /keystore\.postgres\.url: expected postgres:\/\/user:password@host:5432\/database/,
  );
  rejects(`${base}keystore: { postgres: { url: "postgres://h/d", pool_size: 0 } }\n`, /keystore\.postgres\.pool_size/);
  rejects(`${base}keystore: { postgres: { url: "postgres://h/d", timeout: soon } }\n`, /keystore\.postgres\.timeout: expected a duration/);
});

test('api timeouts are Go-style durations (or seconds); a bad one names the path', () => {
  for (const [text, seconds] of [
    ['15s', 15],
    ['1m30s', 90],
    ['500ms', 0.5],
    ['2h', 7200],
    ['0', 0],
    ['0s', 0],
    [7, 7],
    ['1.5s', 1.5],
  ] as const) {
    assert.equal(parseDuration(text), seconds, String(text));
  }
  for (const bad of ['', 's', 'x15s', '15sec', '-1s', '1d', true]) assert.equal(parseDuration(bad), undefined, String(bad));
  const c = parseConfig(
    {
      tls: { key: 'k', cert: 'c' },
      keystore: { sqlite: { path: 'db' } },
      api: { '/v1/key/generate': { timeout: '5s' }, '/v1/ready': { skip_auth: true } },
    },
    { baseDir: '/' },
  );
  assert.deepEqual(c.api, { '/v1/key/generate': { skip_auth: false, timeout: 5 }, '/v1/ready': { skip_auth: true } });
  const base = 'tls: { key: k, cert: c }\nkeystore: { sqlite: { path: db } }\n';
  rejects(`${base}api: { /v1/key/generate: { timeout: soon } }\n`, /api\.\/v1\/key\/generate\.timeout: expected a duration such as 15s/);
});

test('policy patterns: exact, or a prefix when ending in * (crossing /)', () => {
  assert.equal(matchPattern('/v1/status', '/v1/status'), true);
  assert.equal(matchPattern('/v1/status', '/v1/status/x'), false);
  assert.equal(matchPattern('/v1/key/generate/minio-*', '/v1/key/generate/minio-a'), true);
  assert.equal(matchPattern('/v1/key/generate/minio-*', '/v1/key/generate/other'), false);
  assert.equal(matchPattern('/v1/key/*', '/v1/key/generate/a'), true);
  assert.equal(matchPattern('*', '/anything'), true);
});

test('identityOf is the SHA-256 of the DER SubjectPublicKeyInfo (checked with openssl); chains verify', () => {
  const pki = testPki();
  const certFile = join(dir, 'client.crt');
  writeFileSync(certFile, pki.gateway.cert);
  const spki = execFileSync('openssl', ['x509', '-in', certFile, '-pubkey', '-noout']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: spki });
  const digest = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der }).toString().split(' ')[0];
  assert.equal(identityOf(pki.gateway.cert), digest);
  assert.match(identityOf(pki.gateway.cert), /^[0-9a-f]{64}$/);

  const ca = new X509Certificate(pki.ca.cert);
  assert.equal(ca.ca, true);
  const server = new X509Certificate(pki.server.cert);
  assert.equal(server.verify(ca.publicKey), true);
  assert.equal(server.checkHost('localhost'), 'localhost');
  assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(new X509Certificate(pki.issued.cert).verify(ca.publicKey), true);
  assert.equal(new X509Certificate(pki.foreign.cert).verify(ca.publicKey), false);
  const self = new X509Certificate(pki.admin.cert);
  assert.equal(self.verify(self.publicKey), true);
  assert.match(self.subject, /CN=admin/);
});

test('cachedInTempDir: a valid cached set is reused, an invalid or unreadable one is made again and saved', () => {
  const name = `kesgate-cache-test-${process.pid}-${Date.now()}.json`;
  // In the directory KESGATE_CERT_CACHE_DIR names (the test runner's choice), else the temp directory.
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-cache-dir-'));
  const before = process.env.KESGATE_CERT_CACHE_DIR;
  process.env.KESGATE_CERT_CACHE_DIR = dir;
  const file = join(dir, name);
  try {
    writeFileSync(file, '{"half":');
    let made = 0;
    const first = cachedInTempDir(
      name,
      (v: { n: number }) => v.n === 1,
      () => ({ n: ++made }),
    );
    assert.deepEqual(first, { n: 1 });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { n: 1 }, 'saved for the next run');
    assert.equal(
      cachedInTempDir(
        name,
        () => false,
        () => ({ n: ++made }),
      ),
      first,
      'memoised within the process',
    );
    assert.equal(made, 1);
  } finally {
    if (before === undefined) delete process.env.KESGATE_CERT_CACHE_DIR;
    else process.env.KESGATE_CERT_CACHE_DIR = before;
    rmSync(dir, { recursive: true, force: true });
  }
});
