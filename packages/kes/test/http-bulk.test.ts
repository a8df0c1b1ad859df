// The bulk key routes over real mTLS: KES's POST /v1/key/bulk/decrypt/<name> and kesgate's
// POST /v1/key/bulk/generate/<name>: success with a context per item, all-or-nothing on a wrong item,
// their own policy paths (403), sealed (503), a deleted key (404), a sealed key (403), malformed bodies (400),
// one audit line per request naming the item count, and the item counter in the metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { testPki } from './helpers/pki.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
let ts: TestServer;
before(async () => {
  const pki = testPki(); // the same (cached) PKI startTestServer uses
  ts = await startTestServer({
    keys: ['bulk-key', 'other-key'],
    policy: {
      single: { allow: ['/v1/key/generate/*', '/v1/key/decrypt/*'], identities: [pki.gateway.identity] },
      bulk: { allow: ['/v1/key/bulk/generate/bulk-*', '/v1/key/bulk/decrypt/bulk-*'], identities: [pki.restricted.identity] },
    },
  });
});
after(() => ts.close());

async function bulkGenerate(name: string, contexts: (string | undefined)[], who = ts.pki.admin) {
  return ts.post(
    `/v1/key/bulk/generate/${name}`,
    who,
    contexts.map((c) => (c === undefined ? {} : { context: b64(c) })),
  );
}

async function metric(name: string, api: string): Promise<number> {
  const text = (await ts.get('/v1/metrics', ts.pki.admin)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{api="${api}"}`));
  return Number(line?.split(' ')[1] ?? 0);
}

describe('bulk generate (extension)', () => {
  test('N contexts give N fresh data keys, each opened by single decrypt with its own context only', async () => {
    const g = await bulkGenerate('bulk-key', ['a/1', 'a/2', undefined]);
    assert.equal(g.status, 200, JSON.stringify(g.body));
    const keys = g.body as { plaintext: string; ciphertext: string; version: string }[];
    assert.equal(keys.length, 3);
    assert.equal(new Set(keys.map((k) => k.plaintext)).size, 3, 'each item its own key');
    for (const k of keys) {
      assert.equal(Buffer.from(k.plaintext, 'base64').length, 32);
      assert.equal(k.version, 'v1');
    }
    const d = await ts.put('/v1/key/decrypt/bulk-key', ts.pki.admin, { ciphertext: keys[1]!.ciphertext, context: b64('a/2') });
    assert.deepEqual(d.body, { plaintext: keys[1]!.plaintext });
    const wrong = await ts.put('/v1/key/decrypt/bulk-key', ts.pki.admin, { ciphertext: keys[0]!.ciphertext, context: b64('a/2') });
    assert.deepEqual([wrong.status, wrong.body], [400, { message: 'decryption failed: ciphertext is not authentic' }]);
    const empty = await bulkGenerate('bulk-key', []);
    assert.deepEqual([empty.status, empty.body], [200, []]);
  });

  test('PUT is refused with 405 (KES serves the bulk routes on POST only)', async () => {
    const r = await ts.put('/v1/key/bulk/generate/bulk-key', ts.pki.admin, [{}]);
    assert.deepEqual([r.status, r.body], [405, { message: "received method 'PUT' expected 'POST'" }]);
  });
});

describe('bulk decrypt (KES)', () => {
  test('decrypts every item with its own context and version, in order', async () => {
    const a = await ts.put('/v1/key/generate/bulk-key', ts.pki.admin, { context: b64('x') });
    const b = await ts.put('/v1/key/generate/bulk-key', ts.pki.admin, {});
    const before = await metric('kes_http_bulk_items', '/v1/key/bulk/decrypt/');
    const r = await ts.post('/v1/key/bulk/decrypt/bulk-key', ts.pki.admin, [
      { ciphertext: b.body.ciphertext },
      { ciphertext: a.body.ciphertext, context: b64('x'), version: 'v1' },
    ]);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, [{ plaintext: b.body.plaintext }, { plaintext: a.body.plaintext }]);
    assert.equal(await metric('kes_http_bulk_items', '/v1/key/bulk/decrypt/'), before + 2);
  });

  test('one item with a wrong context fails the whole request with its error, as KES', async () => {
    const a = await ts.put('/v1/key/generate/bulk-key', ts.pki.admin, { context: b64('right') });
    const r = await ts.post('/v1/key/bulk/decrypt/bulk-key', ts.pki.admin, [
      { ciphertext: a.body.ciphertext, context: b64('right') },
      { ciphertext: a.body.ciphertext, context: b64('wrong') },
    ]);
    assert.deepEqual([r.status, r.body], [400, { message: 'decryption failed: ciphertext is not authentic' }]);
  });

  test('malformed bodies are 400 and say what is wrong', async () => {
    const cases: [unknown, string][] = [
      [{ ciphertext: 'AAAA' }, 'invalid request body: expected a JSON array'],
      [['AAAA'], 'invalid request body: every array item must be a JSON object'],
      [[{}], "invalid request body: 'ciphertext' is required (base64)"],
      [[{ ciphertext: 'not base64!' }], "invalid request body: 'ciphertext' must be standard base64 with padding"],
      [Array.from({ length: 1001 }, () => ({ ciphertext: 'AAAA' })), 'too many ciphertexts: at most 1000 items per request'],
    ];
    for (const [body, message] of cases) {
      const r = await ts.post('/v1/key/bulk/decrypt/bulk-key', ts.pki.admin, body);
      assert.deepEqual([r.status, r.body], [400, { message }], message);
    }
    const raw = await ts.post('/v1/key/bulk/decrypt/bulk-key', ts.pki.admin).set('content-type', 'application/json').send('[{');
    assert.deepEqual([raw.status, raw.body], [400, { message: 'invalid request body' }]);
    const many = await bulkGenerate(
      'bulk-key',
      Array.from({ length: 1001 }, () => undefined),
    );
    assert.equal(many.status, 400);
  });
});

describe('bulk routes: policy, seal, key state, audit', () => {
  test('each bulk route is its own policy path: the single-call paths do not allow it, and the reverse', async () => {
    const { gateway, restricted } = ts.pki;
    const denied = { message: 'not authorized: insufficient permissions' };
    const g = await bulkGenerate('bulk-key', ['c'], gateway);
    assert.deepEqual([g.status, g.body], [403, denied]);
    const single = await ts.put('/v1/key/generate/bulk-key', gateway, {});
    assert.equal(single.status, 200);
    const d = await ts.post('/v1/key/bulk/decrypt/bulk-key', gateway, [{ ciphertext: single.body.ciphertext }]);
    assert.deepEqual([d.status, d.body], [403, denied]);
    // The bulk policy allows bulk-* only, and no single calls.
    const ok = await ts.post('/v1/key/bulk/decrypt/bulk-key', restricted, [{ ciphertext: single.body.ciphertext }]);
    assert.deepEqual(ok.body, [{ plaintext: single.body.plaintext }]);
    assert.deepEqual((await bulkGenerate('other-key', [undefined], restricted)).body, denied);
    assert.equal((await ts.put('/v1/key/decrypt/bulk-key', restricted, { ciphertext: single.body.ciphertext })).status, 403);
  });

  test('a sealed key is 403 key is sealed; a deleted key 404; nothing is generated or decrypted', async () => {
    const { admin } = ts.pki;
    await ts.put('/v1/key/create/bulk-gone', admin).expect(200);
    const dek = await ts.put('/v1/key/generate/bulk-gone', admin, {});
    await ts.put('/v1/key/seal/bulk-gone', admin).expect(200);
    for (const r of [
      await bulkGenerate('bulk-gone', [undefined]),
      await ts.post('/v1/key/bulk/decrypt/bulk-gone', admin, [{ ciphertext: dek.body.ciphertext }]),
    ]) {
      assert.deepEqual([r.status, r.body], [403, { message: 'key is sealed' }]);
    }
    await ts.put('/v1/key/unseal/bulk-gone', admin).expect(200);
    await ts.del('/v1/key/delete/bulk-gone', admin).expect(200);
    for (const r of [
      await bulkGenerate('bulk-gone', [undefined]),
      await ts.post('/v1/key/bulk/decrypt/bulk-gone', admin, [{ ciphertext: dek.body.ciphertext }]),
    ]) {
      assert.deepEqual([r.status, r.body], [404, { message: 'key does not exist' }]);
    }
  });

  test('one audit line per request, with the key and the item count (never key material)', async () => {
    const g = await bulkGenerate('bulk-key', ['audit/1', 'audit/2', 'audit/3', 'audit/4', 'audit/5']);
    assert.equal(g.status, 200);
    await ts.srv.flushAudit();
    const lines = readFileSync(ts.auditPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.path === '/v1/key/bulk/generate/bulk-key' && e.status === 200 && e.items === 5);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.key, 'bulk-key');
    assert.equal(lines[0]!.version, 'v1');
    const text = readFileSync(ts.auditPath, 'utf8');
    for (const k of g.body as { plaintext: string; ciphertext: string }[]) {
      assert.ok(!text.includes(k.plaintext) && !text.includes(k.ciphertext), 'no key material in the audit log');
    }
  });

  test('while kes is sealed both bulk routes answer 503 system is sealed', async () => {
    const { admin } = ts.pki;
    const dek = await ts.put('/v1/key/generate/bulk-key', admin, {});
    await ts.put('/v1/sys/seal', admin).expect(200);
    try {
      for (const r of [
        await bulkGenerate('bulk-key', [undefined]),
        await ts.post('/v1/key/bulk/decrypt/bulk-key', admin, [{ ciphertext: dek.body.ciphertext }]),
      ]) {
        assert.deepEqual([r.status, r.body], [503, { message: 'system is sealed' }]);
      }
    } finally {
      for (const key of ts.shares) await ts.put('/v1/sys/unseal', admin, { key }).expect(200);
    }
    const d = await ts.post('/v1/key/bulk/decrypt/bulk-key', admin, [{ ciphertext: dek.body.ciphertext }]);
    assert.deepEqual(d.body, [{ plaintext: dek.body.plaintext }], 'unsealed again, the key still decrypts');
  });
});
