// The commands and flags MinIO's `kes` CLI has, against a real `kes server` process over mTLS: several
// keys in one `key create`, `key info`, `key encrypt`/`decrypt`, `identity ls|info`, `policy ls|info|show`,
// `metric`, `-k/--insecure`, and the exit status of each kind of failure (64 usage, 77 auth, 1 other). The
// commands run in this process (runKes); the last test runs the binary beside it and compares the two.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KesClient } from '@kesgate/kes-client';
import { tempDir } from '../helpers/tmp.js';
import {
  clientFor,
  freePort,
  kes,
  kesBinary,
  kesJson,
  makeInstallation,
  startServerInProcess,
  stopAllChildren,
  type Installation,
  type RunOptions,
} from './helpers.js';

let inst: Installation;
let admin: KesClient;
let as: { env: Record<string, string> };

before(async () => {
  inst = await makeInstallation();
  as = { env: inst.adminEnv };
  const init = await kesJson<{ shares: string[] }>(['init', '--config', inst.config, '--shares', '1', '--threshold', '1']);
  await startServerInProcess(inst);
  admin = clientFor(inst);
  await admin.unseal(init.shares[0]!);
});

after(async () => {
  admin?.close();
  await stopAllChildren();
});

describe('kes CLI parity with MinIO KES', () => {
  test('key create takes several names; ls filters by prefix pattern; info describes', async () => {
    assert.deepEqual(await kesJson(['key', 'create', 'par-a', 'par-b', 'par-c'], as), { names: ['par-a', 'par-b', 'par-c'] });
    const human = await kes(['key', 'create', 'other-1', 'other-2'], as);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout, 'created key other-1\ncreated key other-2\n');
    assert.deepEqual(await kesJson(['key', 'ls', 'par-*'], as), { names: ['par-a', 'par-b', 'par-c'] });
    const info = await kesJson<{ name: string; algorithm: string; created_by: string }>(['key', 'info', 'par-b'], as);
    assert.equal(info.name, 'par-b');
    assert.equal(info.algorithm, 'AES256');
    assert.equal(info.created_by, inst.adminIdentity);
    const text = await kes(['key', 'info', 'par-b'], as);
    assert.match(text.stdout, /^name\s+par-b$/m);
  });

  test('key create stops at the first key that fails, says which were created, and exits 1', async () => {
    const r = await kes(['key', 'create', 'stop-1', 'par-a', 'stop-2'], as);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /created stop-1; stopped at par-a \(not tried: stop-2\)/);
    assert.match(r.stderr, /key already exists \(HTTP 400/);
    assert.equal(r.stdout, '');
    assert.equal((await admin.describeKey('stop-1')).name, 'stop-1');
    await assert.rejects(admin.describeKey('stop-2'), { status: 404 });
  });

  test('key encrypt and decrypt round-trip a message, bound to --context; a wrong context fails with exit 1', async () => {
    const context = Buffer.from('tenant/42').toString('base64');
    const enc = await kesJson<{ ciphertext: string; version: string }>(
      ['key', 'encrypt', 'par-a', 'Hello world', '--context', context],
      as,
    );
    assert.equal(enc.version, 'v1');
    // kes itself opens it: the CLI sent the message's bytes.
    assert.equal(
      (await admin.decryptKey('par-a', Buffer.from(enc.ciphertext, 'base64'), Buffer.from('tenant/42'))).toString(),
      'Hello world',
    );
    const dec = await kesJson<{ plaintext: string }>(['key', 'decrypt', 'par-a', enc.ciphertext, '--context', context], as);
    assert.equal(Buffer.from(dec.plaintext, 'base64').toString(), 'Hello world');
    const human = await kes(['key', 'decrypt', 'par-a', enc.ciphertext, '--context', context], as);
    assert.equal(human.stdout, `${Buffer.from('Hello world').toString('base64')}\n`);

    const wrong = await kes(['key', 'decrypt', 'par-a', enc.ciphertext], as);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /ciphertext is not authentic \(HTTP 400/);
    assert.equal(wrong.stdout, '');
  });

  test("identity ls lists the identities of the policies (not the admin, as KES); identity info shows yours (admin) or another's policy", async () => {
    assert.deepEqual(await kesJson(['identity', 'ls'], as), { identities: [inst.gatewayIdentity] });
    assert.deepEqual(await kesJson(['identity', 'ls', `${inst.gatewayIdentity.slice(0, 6)}*`], as), { identities: [inst.gatewayIdentity] });
    const self = await kesJson<{ identity: string; admin: boolean }>(['identity', 'info'], as);
    assert.equal(self.identity, inst.adminIdentity);
    assert.equal(self.admin, true);
    const gw = await kesJson<{ identity: string; policy: string }>(['identity', 'info', inst.gatewayIdentity], as);
    assert.equal(gw.policy, 'gateway');
    const text = await kes(['identity', 'info', inst.gatewayIdentity], as);
    assert.match(text.stdout, /^role\s+policy gateway$/m);
    const unknown = await kes(['identity', 'info', 'ab'.repeat(32)], as);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /identity does not exist \(HTTP 404/);
  });

  test('policy ls, info and show', async () => {
    assert.deepEqual(await kesJson(['policy', 'ls'], as), { names: ['gateway'] });
    const info = await kesJson<{ name: string; created_by: string }>(['policy', 'info', 'gateway'], as);
    assert.equal(info.name, 'gateway');
    assert.equal(info.created_by, inst.adminIdentity);
    const show = await kesJson<{ allow: Record<string, unknown> }>(['policy', 'show', 'gateway'], as);
    assert.deepEqual(Object.keys(show.allow), ['/v1/key/generate/*', '/v1/key/decrypt/*', '/v1/sys/seal-status']);
    const text = await kes(['policy', 'show', 'gateway'], as);
    assert.match(text.stdout, /^Allow:\n {2}· \/v1\/key\/generate\/\*\n {2}· \/v1\/key\/decrypt\/\*\n {2}· \/v1\/sys\/seal-status\n/);
    const missing = await kes(['policy', 'show', 'nope'], as);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /policy does not exist \(HTTP 404/);
  });

  test('metric prints the request counters as a table, JSON samples, or the raw Prometheus text', async () => {
    const json = await kesJson<{ metrics: Array<{ name: string; value: number }> }>(['metric'], as);
    const success = json.metrics.find((m) => m.name === 'kes_http_request_success');
    assert.ok(success && success.value > 0, 'successful requests were counted');
    const [table, raw] = await Promise.all([kes(['metric'], as), kes(['metric', '--raw'], as)]);
    assert.match(table.stdout, /^kes_http_request_success\s+\d+$/m);
    assert.match(raw.stdout, /^# TYPE kes_http_request_success counter$/m);
  });

  test('a policy that does not allow a command exits 77 (auth), and nothing changes', async () => {
    const r = await kes(['key', 'create', 'by-gateway'], { env: inst.gatewayEnv });
    assert.equal(r.code, 77);
    assert.match(r.stderr, /not authorized: insufficient permissions \(HTTP 403/);
    assert.equal(r.stdout, '');
    await assert.rejects(admin.describeKey('by-gateway'), { status: 404 });
    const policies = await kes(['policy', 'ls'], { env: inst.gatewayEnv });
    assert.equal(policies.code, 77);
  });

  test('without the CA the server certificate is refused (exit 77, with what to do); -k/--insecure skips the check', async () => {
    const noCa = { env: { ...inst.adminEnv, KES_CA: '' } };
    const refused = await kes(['key', 'ls'], noCa);
    assert.equal(refused.code, 77, refused.stderr);
    assert.match(refused.stderr, /certificate/);
    assert.match(refused.stderr, /pass the CA that signed the server certificate with --ca \/ KES_CA \(or -k \/ --insecure/);
    assert.equal(refused.stdout, '');
    for (const flag of ['-k', '--insecure']) {
      const ok = await kesJson<{ names: string[] }>(['key', 'ls', 'par-*', flag], noCa);
      assert.deepEqual(ok.names, ['par-a', 'par-b', 'par-c']);
    }
  });

  test('a client certificate with the private key of another is named in a sentence, before any connection', async () => {
    const env = { ...inst.adminEnv, KES_CLIENT_KEY: join(inst.certs, 'gateway.key') };
    const r = await kes(['key', 'create', 'mismatch'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the client certificate \S+admin\.crt does not match the private key \S+gateway\.key: they are not a pair/);
    assert.doesNotMatch(r.stderr, /error:[0-9A-F]{8}/, 'no OpenSSL code');
    await assert.rejects(admin.describeKey('mismatch'), { status: 404 });
  });

  test('--help and --version exit 0; no arguments to a command group is a usage error (64)', async () => {
    const [help, version, bare] = await Promise.all([kes(['key', '--help']), kes(['--version']), kes(['policy'])]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /encrypt \[options\] <name> <message>/);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal(bare.code, 64);
  });
});

describe('the kes binary', () => {
  test('bin/kes.js answers as the in-process runner does: the same exit code, stdout and stderr for success and each kind of failure', async () => {
    const closed = `https://127.0.0.1:${await freePort()}`;
    const short = Buffer.alloc(16, 7).toString('base64');
    // args, options, and what the binary must give: exit code, stdout, stderr
    const cases: Array<[string[], RunOptions, number, RegExp, RegExp]> = [
      [['key', 'ls', 'par-*'], as, 0, /^par-a\npar-b\npar-c\n$/, /^$/],
      [['--version'], {}, 0, /^\d+\.\d+\.\d+\n$/, /^$/],
      [['key', 'ls', '--colour'], {}, 64, /^$/, /unknown option '--colour'/],
      [['key', 'create', 'by-gateway-binary'], { env: inst.gatewayEnv }, 77, /^$/, /not authorized: insufficient permissions/],
      [['key', 'ls'], { env: { ...inst.adminEnv, KES_SERVER: closed } }, 1, /^$/, /is kes running there\?/],
      [['key', 'import', 'short-binary'], { ...as, input: `${short}\n` }, 1, /^$/, /the key on stdin holds 16 bytes/],
    ];
    for (const [args, options, code, stdout, stderr] of cases) {
      const cwd = tempDir();
      const [binary, inProcess] = await Promise.all([kesBinary(args, { ...options, cwd }), kes(args, { ...options, cwd })]);
      const what = `kes ${args.join(' ')}`;
      assert.equal(binary.code, code, `${what}: ${binary.stderr}`);
      assert.match(binary.stdout, stdout, what);
      assert.match(binary.stderr, stderr, what);
      assert.deepEqual(inProcess, binary, what);
    }
    await assert.rejects(admin.describeKey('by-gateway-binary'), { status: 404 });
    await assert.rejects(admin.describeKey('short-binary'), { status: 404 });
  });
});
