// `kes identity new|of`, `kes dev-certs` and argument errors: no server needed.
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { writeDevCerts } from '../../src/pki/dev-certs.js';
import { tempDir } from '../helpers/tmp.js';
import { kes, kesJson, stopAllChildren } from './helpers.js';

/** The identity computed here, independently of the code under test. */
function spkiSha256(certPem: string | Buffer): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

after(stopAllChildren);

describe('kes identity', { concurrency: true }, () => {
  test('new NAME writes NAME.key (owner-only) and a self-signed NAME.crt, and prints the SPKI SHA-256', async () => {
    const dir = tempDir();
    const r = await kesJson<{ identity: string; cert: string; key: string; name: string }>(['identity', 'new', 'alice'], { cwd: dir });
    assert.equal(r.cert, join(dir, 'alice.crt'));
    assert.equal(r.key, join(dir, 'alice.key'));
    const pem = readFileSync(r.cert);
    assert.equal(r.identity, spkiSha256(pem));
    const x509 = new X509Certificate(pem);
    assert.match(x509.subject, /CN=alice/);
    assert.ok(x509.verify(x509.publicKey), 'self-signed');
    assert.equal(statSync(r.key).mode & 0o777, 0o600);
    // the key belongs to the certificate
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    const fromKey = createPublicKey(createPrivateKey(readFileSync(r.key))).export({ type: 'spki', format: 'der' });
    assert.equal(createHash('sha256').update(fromKey).digest('hex'), r.identity);

    const of = await kes(['identity', 'of', r.cert]);
    assert.equal(of.code, 0);
    assert.equal(of.stdout.trim(), r.identity);
  });

  test('new --key/--cert writes where told, refuses to overwrite, and --force replaces', async () => {
    const dir = tempDir();
    const key = join(dir, 'id.pem');
    const cert = join(dir, 'id.crt');
    const first = await kesJson<{ identity: string }>(['identity', 'new', '--key', key, '--cert', cert, 'svc']);
    assert.equal(first.identity, spkiSha256(readFileSync(cert)));

    const again = await kes(['identity', 'new', '--key', key, '--cert', cert, 'svc']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /refusing to overwrite .*id\.pem.*--force/);
    assert.equal(spkiSha256(readFileSync(cert)), first.identity, 'the existing certificate is untouched');

    const forced = await kesJson<{ identity: string }>(['identity', 'new', '--key', key, '--cert', cert, '--force', 'svc']);
    assert.notEqual(forced.identity, first.identity);
    assert.equal(forced.identity, spkiSha256(readFileSync(cert)));
  });

  test('of a file that is not a certificate fails with the file named', async () => {
    const dir = tempDir();
    const bogus = join(dir, 'bogus.pem');
    writeFileSync(bogus, 'not a certificate');
    const r = await kes(['identity', 'of', bogus]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bogus\.pem is not a PEM/);
    const missing = await kes(['identity', 'of', join(dir, 'missing.crt')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read certificate .*missing\.crt: no such file/);
  });
});

describe('kes dev-certs', () => {
  test('writes a CA, a server certificate for the hosts and admin/gateway client certificates', async () => {
    const dir = join(tempDir(), 'certs');
    const r = await kesJson<{ admin_identity: string; gateway_identity: string; files: Record<string, string> }>([
      'dev-certs',
      '--out',
      dir,
      '--hosts',
      'kes.local,127.0.0.1,::1',
    ]);
    for (const f of ['ca.crt', 'ca.key', 'kes.crt', 'kes.key', 'admin.crt', 'admin.key', 'gateway.crt', 'gateway.key']) {
      assert.ok(existsSync(join(dir, f)), f);
      if (f.endsWith('.key')) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} is owner-only`);
    }
    assert.equal(r.admin_identity, spkiSha256(readFileSync(join(dir, 'admin.crt'))));
    assert.equal(r.gateway_identity, spkiSha256(readFileSync(join(dir, 'gateway.crt'))));
    assert.notEqual(r.admin_identity, r.gateway_identity);

    const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
    assert.ok(ca.ca);
    const server = new X509Certificate(readFileSync(join(dir, 'kes.crt')));
    assert.ok(server.verify(ca.publicKey), 'server certificate issued by the CA');
    assert.equal(server.checkHost('kes.local'), 'kes.local');
    assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(server.checkIP('::1'), '::1');
    for (const who of ['admin', 'gateway']) {
      assert.ok(new X509Certificate(readFileSync(join(dir, `${who}.crt`))).verify(ca.publicKey), `${who} issued by the CA`);
    }

    const again = await kes(['dev-certs', '--out', dir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /refusing to overwrite/);
    assert.equal(spkiSha256(readFileSync(join(dir, 'admin.crt'))), r.admin_identity);
  });

  test('writeDevCerts (the library function the dev-start script uses) returns identities and absolute paths', () => {
    const dir = tempDir();
    const r = writeDevCerts(dir, ['localhost']);
    assert.equal(r.files.adminCert, join(dir, 'admin.crt'));
    assert.equal(r.adminIdentity, spkiSha256(readFileSync(r.files.adminCert)));
    assert.equal(r.gatewayIdentity, spkiSha256(readFileSync(r.files.gatewayCert)));
    assert.equal(new X509Certificate(readFileSync(r.files.serverCert)).checkHost('localhost'), 'localhost');
  });
});

// Each case is its own process; they run side by side.
// Usage errors (commander's) exit 64, other errors 1.
describe('bad invocations exit 64 (usage) or 1 with a message', { concurrency: true }, () => {
  const cases: Array<[string, string[], RegExp, number]> = [
    ['unknown option', ['key', 'ls', '--colour'], /unknown option '--colour'/, 64],
    ['missing argument', ['key', 'create'], /missing required argument 'name'/, 64],
    ['unknown command', ['key', 'frobnicate', 'k'], /unknown command 'frobnicate'/, 64],
    [
      'not a number',
      ['init', '--config', 'x.yaml', '--shares', 'three', '--threshold', '2'],
      /--shares <n>.*expected an integer from 1 to 255/,
      64,
    ],
    ['bad cipher', ['key', 'import', 'k', '--cipher', 'DES'], /--cipher.*DES.*AES256, ChaCha20/, 64],
    ['bad version', ['key', 'config', 'k', '--min-decryption-version', 'latest'], /expected a key version such as v2/, 64],
    ['ciphertext not base64', ['key', 'decrypt', 'k', 'not base64!'], /the ciphertext is not base64/, 64],
    ['no client certificate', ['key', 'ls'], /no client certificate: pass --cert and --key, or set KES_CLIENT_CERT and KES_CLIENT_KEY/, 1],
    [
      'missing config file',
      ['backup', '--config', '/nonexistent/kes.yaml', '--out', '/tmp/x.db'],
      /cannot read config file \/nonexistent\/kes\.yaml/,
      1,
    ],
  ];
  for (const [what, args, message, code] of cases) {
    test(what, async () => {
      // Away from any ./.kesgate, whose certificates would be used.
      const r = await kes(args, { cwd: tempDir() });
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }

  test('a client certificate that is not PEM is named before any connection', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.crt'), 'junk');
    writeFileSync(join(dir, 'c.key'), 'junk');
    const r = await kes(['status'], { env: { KES_CLIENT_CERT: join(dir, 'c.crt'), KES_CLIENT_KEY: join(dir, 'c.key') } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /client certificate .*c\.crt is not a PEM certificate/);
  });
});

// The suites run commands in this process (runKes): each run has its own working directory, environment and
// exit status, also while others run.
describe('runs of kes in one process share nothing', () => {
  test('two runs side by side write into their own working directory and read their own environment', async () => {
    const [a, b, junk] = [tempDir(), tempDir(), tempDir()];
    writeFileSync(join(junk, 'c.crt'), 'junk');
    writeFileSync(join(junk, 'c.key'), 'junk');
    const [alice, bob, junkCert, noCert] = await Promise.all([
      kesJson<{ cert: string }>(['identity', 'new', 'alice'], { cwd: a }),
      kesJson<{ cert: string }>(['identity', 'new', 'bob'], { cwd: b }),
      kes(['key', 'ls'], { env: { KES_CLIENT_CERT: join(junk, 'c.crt'), KES_CLIENT_KEY: join(junk, 'c.key') } }),
      kes(['key', 'ls']),
    ]);
    assert.equal(alice.cert, join(a, 'alice.crt'));
    assert.equal(bob.cert, join(b, 'bob.crt'));
    assert.ok(!existsSync(join(a, 'bob.crt')) && !existsSync(join(b, 'alice.crt')), 'each file in its own directory');
    assert.equal(junkCert.code, 1);
    assert.match(junkCert.stderr, /client certificate .*c\.crt is not a PEM certificate/);
    assert.equal(noCert.code, 1);
    assert.match(noCert.stderr, /no client certificate: pass --cert and --key/);
  });
});
