// Identity and policy over real mTLS: admin, allow, deny, deny beating allow, unknown identity,
// no certificate, encoded paths, tls.auth: on, skip_auth, the policy/identity routes, and the
// audit line of every 403.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestServer, type TestServer } from './helpers/server.js';

const DENIED = 'not authorized: insufficient permissions';
let ts: TestServer;
before(async () => {
  ts = await startTestServer({ keys: ['minio-default', 'secret-1', 'public-1'] });
});
after(() => ts.close());

function denied(res: { status: number; body: unknown }, what: string): void {
  assert.equal(res.status, 403, `${what}: ${JSON.stringify(res.body)}`);
  assert.deepEqual(res.body, { message: DENIED }, what);
}

describe('authorization', () => {
  test('the admin may call everything', async () => {
    const { admin } = ts.pki;
    for (const [method, path] of [
      ['PUT', '/v1/key/create/admin-made'],
      ['PUT', '/v1/key/generate/admin-made'],
      ['GET', '/v1/key/list/*'],
      ['GET', '/v1/metrics'],
      ['GET', '/v1/api'],
      ['GET', '/v1/policy/list/*'],
      ['GET', '/v1/sys/seal-status'],
      ['DELETE', '/v1/key/delete/admin-made'],
    ] as const) {
      const r = method === 'PUT' ? await ts.put(path, admin, {}) : await ts.call(method, path, admin);
      assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body)}`);
    }
  });

  test('a policy allows exactly its patterns; a trailing * is a prefix', async () => {
    const { gateway } = ts.pki;
    assert.equal((await ts.put('/v1/key/generate/minio-default', gateway, {})).status, 200);
    const dek = await ts.put('/v1/key/generate/minio-default', gateway, {});
    assert.equal((await ts.put('/v1/key/decrypt/minio-default', gateway, { ciphertext: dek.body.ciphertext })).status, 200);
    assert.equal((await ts.get('/v1/key/describe/public-1', gateway)).status, 200);
    assert.equal((await ts.get('/v1/status', gateway)).status, 200);
    denied(await ts.put('/v1/key/generate/public-1', gateway, {}), 'generate outside the prefix');
    denied(await ts.put('/v1/key/create/minio-new', gateway), 'create not allowed');
    denied(await ts.del('/v1/key/delete/minio-default', gateway), 'delete not allowed');
    denied(await ts.get('/v1/metrics', gateway), 'metrics not allowed');
    denied(await ts.get('/v1/key/list/*', gateway), 'list not allowed');
    denied(await ts.put('/v1/sys/seal', gateway), 'seal is for the admin');
    denied(await ts.put('/v1/sys/unseal', gateway, { key: ts.shares[0] }), 'unseal is for the admin');
    denied(await ts.get('/v1/log/audit', gateway), 'audit stream is for the admin');
  });

  test('deny patterns are checked first and beat allow patterns', async () => {
    const { restricted } = ts.pki;
    assert.equal((await ts.put('/v1/key/generate/public-1', restricted, {})).status, 200);
    assert.equal((await ts.put('/v1/key/create/restricted-made', restricted)).status, 200);
    denied(await ts.put('/v1/key/generate/secret-1', restricted, {}), 'deny prefix');
    denied(await ts.del('/v1/key/delete/restricted-made', restricted), 'deny delete');
    assert.equal((await ts.get('/v1/key/describe/restricted-made', ts.pki.admin)).status, 200, 'not deleted');
  });

  test('percent-encoding cannot step around a deny or out of a prefix', async () => {
    const { restricted, gateway } = ts.pki;
    denied(await ts.put('/v1/key/generate/%73ecret-1', restricted, {}), 'encoded deny');
    const traversal = await ts.put('/v1/key/generate/minio-%2e%2e%2f%2e%2e%2fdelete%2fpublic-1', gateway, {});
    assert.equal(traversal.status, 400);
    assert.match((traversal.body as { message: string }).message, /invalid key name/);
    assert.equal((await ts.get('/v1/key/describe/public-1', ts.pki.admin)).status, 200);
    assert.equal((await ts.put('/v1/key/generate/%E0%A4%A', restricted, {})).status, 400);
  });

  test('an identity in no policy is refused everywhere but /version and seal-status', async () => {
    const { stranger } = ts.pki;
    denied(await ts.get('/v1/status', stranger), 'status');
    denied(await ts.get('/v1/key/describe/public-1', stranger), 'describe');
    denied(await ts.put('/v1/key/generate/minio-default', stranger, {}), 'generate');
    denied(await ts.get('/v1/key/list/*', stranger), 'list');
    assert.equal((await ts.get('/version', stranger)).status, 200);
    assert.equal((await ts.get('/v1/sys/seal-status', stranger)).status, 200);
  });

  test('no client certificate: 403 on every route but /version', async () => {
    assert.equal((await ts.get('/version')).status, 200);
    denied(await ts.get('/v1/status'), 'status');
    denied(await ts.get('/v1/ready'), 'ready');
    denied(await ts.get('/v1/sys/seal-status'), 'seal-status');
    denied(await ts.put('/v1/key/generate/minio-default', undefined, {}), 'generate');
    denied(await ts.get('/v1/identity/self/describe'), 'self');
  });

  test('every 403 is audited with identity, path and key; nothing else of the request', async () => {
    await ts.put('/v1/key/generate/secret-1', ts.pki.restricted, { context: Buffer.from('a-secret-context').toString('base64') });
    await ts.get('/v1/metrics', ts.pki.gateway);
    await ts.srv.flushAudit();
    const lines = readFileSync(ts.auditPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const refused = lines.filter((l) => l.status === 403);
    const deny = refused.find((l) => l.path === '/v1/key/generate/secret-1' && l.identity === ts.pki.restricted.identity);
    assert.ok(deny, 'deny audited');
    assert.equal(deny.key, 'secret-1');
    assert.equal(deny.method, 'PUT');
    assert.equal(deny.ip, '127.0.0.1');
    assert.equal(typeof deny.latency_ms, 'number');
    assert.ok(!Number.isNaN(Date.parse(deny.time as string)));
    assert.ok(
      refused.some((l) => l.path === '/v1/metrics' && l.identity === ts.pki.gateway.identity),
      'non-key 403 audited',
    );
    assert.ok(
      refused.some((l) => l.path === '/v1/status' && l.identity === ''),
      'no-certificate 403 audited',
    );
    const text = readFileSync(ts.auditPath, 'utf8');
    assert.equal(text.includes(Buffer.from('a-secret-context').toString('base64')), false);
  });
});

describe('policy and identity routes', () => {
  test('policy list, read, describe', async () => {
    const { admin } = ts.pki;
    assert.deepEqual((await ts.get('/v1/policy/list/*', admin)).body, { names: ['gateway', 'restricted'], continue_at: '' });
    assert.deepEqual((await ts.get('/v1/policy/list/gate*', admin)).body.names, ['gateway']);
    const read = await ts.get('/v1/policy/read/restricted', admin);
    assert.equal(read.status, 200);
    assert.equal(read.body.name, 'restricted');
    assert.deepEqual(read.body.allow, { '/v1/key/*': {}, '/v1/identity/self/describe': {} });
    assert.deepEqual(read.body.deny, { '/v1/key/delete/*': {}, '/v1/key/generate/secret-*': {} });
    const d = await ts.get('/v1/policy/describe/gateway', admin);
    assert.equal(d.body.name, 'gateway');
    assert.equal(d.body.created_by, admin.identity);
    const missing = await ts.get('/v1/policy/read/nope', admin);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { message: 'policy does not exist' });
    const invalid = await ts.get('/v1/policy/read/-bad', admin);
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.message, /invalid policy name/);
  });

  test('identity describe, list, self', async () => {
    const { admin, gateway, restricted, stranger } = ts.pki;
    assert.deepEqual((await ts.get(`/v1/identity/describe/${gateway.identity}`, admin)).body.policy, 'gateway');
    assert.equal((await ts.get(`/v1/identity/describe/${admin.identity}`, admin)).body.admin, true);
    assert.equal((await ts.get(`/v1/identity/describe/${stranger.identity}`, admin)).status, 404);
    const list = (await ts.get('/v1/identity/list/*', admin)).body.identities as string[];
    // As KES: the list names the identities of the policies, not the admin.
    assert.ok(list.includes(gateway.identity) && !list.includes(admin.identity) && !list.includes(stranger.identity));
    const self = await ts.get('/v1/identity/self/describe', restricted);
    assert.equal(self.status, 200);
    assert.equal(self.body.identity, restricted.identity);
    assert.equal((self.body.policy as { name: string }).name, 'restricted');
    const adminSelf = await ts.get('/v1/identity/self/describe', admin);
    assert.equal(adminSelf.body.admin, true);
  });
});

describe('tls.auth: on and skip_auth', () => {
  let strict: TestServer;
  before(async () => {
    strict = await startTestServer({ auth: true, keys: ['k'], api: { '/v1/ready': { skip_auth: true } } });
  });
  after(() => strict.close());

  test('a client certificate must chain to the CA; identity and policy still apply', async () => {
    const { issued, foreign, restricted } = strict.pki;
    assert.equal((await strict.put('/v1/key/generate/k', issued, {})).status, 200, 'CA-issued client in the policy');
    denied(await strict.put('/v1/key/generate/k', restricted, {}), 'self-signed client, same policy');
    denied(await strict.put('/v1/key/generate/k', foreign, {}), 'client of another CA, same policy');
  });

  test('skip_auth serves a route without a certificate', async () => {
    const r = await strict.get('/v1/ready');
    assert.equal(r.status, 200);
    denied(await strict.get('/v1/status'), 'status still needs one');
  });
});

describe('reload', () => {
  test('reload() swaps policies and creates newly listed keys; SIGHUP reloads from the file', async () => {
    const { gateway, stranger, admin } = ts.pki;
    const before = ts.config;
    ts.srv.reload({
      ...before,
      policy: { newcomers: { allow: ['/v1/key/generate/*'], deny: [], identities: [stranger.identity] } },
      keys: [{ name: 'added-on-reload' }],
    });
    assert.equal((await ts.put('/v1/key/generate/added-on-reload', stranger, {})).status, 200);
    denied(await ts.put('/v1/key/generate/minio-default', gateway, {}), 'gateway policy is gone');
    assert.deepEqual((await ts.get('/v1/policy/list/*', admin)).body.names, ['newcomers']);
    ts.srv.reload(before);
    assert.equal((await ts.put('/v1/key/generate/minio-default', gateway, {})).status, 200);
    denied(await ts.put('/v1/key/generate/added-on-reload', stranger, {}), 'stranger again');
  });

  test('a server started from a file reloads it on SIGHUP and keeps the old settings if it is broken', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { startServer } = await import('../src/server.js');
    const { gateway, stranger } = ts.pki;
    const file = join(ts.dir, 'reload.yml');
    const yaml = (id: string) => `address: 127.0.0.1:0
admin: { identity: ${ts.pki.admin.identity} }
tls: { key: server.key, cert: server.crt }
policy: { p: { allow: [/v1/key/generate/*], identities: [${id}] } }
keystore: { sqlite: { path: data/kes.db } }
log: { error: off, audit: off }
`;
    writeFileSync(file, yaml(gateway.identity));
    await ts.close(); // one server per keystore (this is the file's last test)
    const srv = await startServer(file, { reloadOnSighup: true });
    try {
      assert.equal(srv.sealed(), true);
      const request = (await import('supertest')).default;
      assert.equal(
        (await request(srv.server).get('/v1/sys/seal-status').key(stranger.key).cert(stranger.cert).ca(ts.pki.ca.cert)).status,
        200,
      );
      const generateStatus = async (who: typeof gateway) =>
        (await request(srv.server).put('/v1/key/generate/x').key(who.key).cert(who.cert).ca(ts.pki.ca.cert).send({})).status;
      assert.equal(await generateStatus(gateway), 503, 'allowed, but sealed');
      assert.equal(await generateStatus(stranger), 403);
      writeFileSync(file, yaml(stranger.identity));
      process.emit('SIGHUP', 'SIGHUP');
      assert.equal(await generateStatus(stranger), 503, 'allowed after SIGHUP');
      assert.equal(await generateStatus(gateway), 403);
      writeFileSync(file, 'tls: [');
      process.emit('SIGHUP', 'SIGHUP');
      assert.equal(await generateStatus(stranger), 503, 'a broken file keeps the previous settings');
    } finally {
      await srv.close();
    }
  });
});
