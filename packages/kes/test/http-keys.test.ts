// The key API over real mTLS: every compatible route, its error rows, names, methods, bodies,
// and the ciphertext format end to end (KES vectors, hand-built and hand-opened ciphertexts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startTestServer, type TestServer } from './helpers/server.js';
import { keepAliveClient } from './helpers/client.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer();
});
after(() => ts.close());

const b64 = (b: Buffer) => b.toString('base64');
const NOT_AUTHENTIC = 'decryption failed: ciphertext is not authentic';

function expectError(
  res: { status: number; body: unknown; headers: Record<string, string> },
  status: number,
  message: string | RegExp,
): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  const m = (res.body as { message?: string }).message ?? '';
  if (typeof message === 'string') assert.equal(m, message);
  else assert.match(m, message);
}

describe('server routes', () => {
  test('/version needs no client certificate', async () => {
    const r = await ts.get('/version');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(typeof r.body.version, 'string');
    assert.equal(typeof r.body.commit, 'string');
  });

  test('/v1/status, /v1/ready, /v1/api', async () => {
    const s = await ts.get('/v1/status', ts.pki.admin);
    assert.equal(s.status, 200);
    for (const f of [
      'version',
      'os',
      'arch',
      'uptime',
      'num_cpu',
      'num_cpu_used',
      'mem_heap_used',
      'mem_stack_used',
      'keystore_latency',
      'sealed',
    ]) {
      assert.ok(f in s.body, `status has ${f}`);
    }
    assert.equal(s.body.sealed, false);
    const ready = await ts.get('/v1/ready', ts.pki.admin);
    assert.equal(ready.status, 200);
    assert.equal(ready.text, '');
    const api = await ts.get('/v1/api', ts.pki.admin);
    assert.equal(api.status, 200);
    const paths = (api.body as Array<{ method: string; path: string; max_body: number; timeout: number }>).map(
      (r) => `${r.method} ${r.path}`,
    );
    for (const p of [
      'PUT /v1/key/create/',
      'PUT /v1/key/generate/',
      'PUT /v1/key/decrypt/',
      'POST /v1/key/bulk/decrypt/',
      'POST /v1/key/bulk/generate/',
      'GET /v1/key/list/',
      'PUT /v1/sys/unseal',
      'PUT /v1/key/rotate/',
    ]) {
      assert.ok(paths.includes(p), p);
    }
  });

  test('unknown paths are 404, wrong methods 405 with the expected method, POST stands for PUT', async () => {
    expectError(await ts.get('/v1/nothing', ts.pki.admin), 404, /not found/);
    expectError(await ts.put('/v2/key/create/x', ts.pki.admin), 404, /not found/);
    expectError(await ts.get('/v1/key/create/m405', ts.pki.admin), 405, "received method 'GET' expected 'PUT'");
    expectError(await ts.del('/v1/key/generate/m405', ts.pki.admin), 405, "received method 'DELETE' expected 'PUT'");
    expectError(await ts.put('/v1/key/describe/m405', ts.pki.admin), 405, "received method 'PUT' expected 'GET'");
    expectError(await ts.post('/v1/key/delete/m405', ts.pki.admin), 405, "received method 'POST' expected 'DELETE'");
    assert.equal((await ts.post('/v1/key/create/via-post', ts.pki.admin)).status, 200);
    assert.equal((await ts.post('/v1/key/generate/via-post', ts.pki.admin, {})).status, 200);
  });
});

describe('create, import, describe, delete, list', () => {
  test('create makes version 1; a second create is 400 key already exists', async () => {
    const r = await ts.put('/v1/key/create/my-key_1', ts.pki.admin);
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    expectError(await ts.put('/v1/key/create/my-key_1', ts.pki.admin), 400, 'key already exists');
    const d = await ts.get('/v1/key/describe/my-key_1', ts.pki.admin);
    assert.equal(d.status, 200);
    assert.equal(d.body.name, 'my-key_1');
    assert.equal(d.body.algorithm, 'AES256');
    assert.equal(d.body.created_by, ts.pki.admin.identity);
    assert.ok(!Number.isNaN(Date.parse(d.body.created_at as string)));
    assert.equal(d.body.state, 'active');
    assert.deepEqual(d.body.versions, ['v1']);
    assert.equal(d.body.latest_version, 'v1');
    assert.equal(d.body.min_decryption_version, 'v1');
  });

  test('names: 1-80 of [0-9A-Za-z_-], not starting or ending with "-"', async () => {
    for (const ok of ['a', '_', 'A-b_9', 'x'.repeat(80), '0-0']) {
      assert.equal((await ts.put(`/v1/key/create/${ok}`, ts.pki.admin)).status, 200, ok);
    }
    for (const bad of ['-a', 'a-', 'x'.repeat(81), 'a.b', 'a%20b', 'a%2Fb', 'ü', '', 'a*']) {
      expectError(await ts.put(`/v1/key/create/${bad}`, ts.pki.admin), 400, /invalid key name/);
    }
    expectError(await ts.get('/v1/key/describe/a.b', ts.pki.admin), 400, /invalid key name/);
  });

  test('describe and delete of a missing key are 404 key does not exist', async () => {
    expectError(await ts.get('/v1/key/describe/missing', ts.pki.admin), 404, 'key does not exist');
    expectError(await ts.del('/v1/key/delete/missing', ts.pki.admin), 404, 'key does not exist');
    for (const op of ['generate', 'encrypt', 'decrypt', 'hmac']) {
      expectError(
        await ts.put(`/v1/key/${op}/missing`, ts.pki.admin, { plaintext: '', ciphertext: 'AAAA', message: '' }),
        404,
        'key does not exist',
      );
    }
  });

  test('import: AES256 and ChaCha20 with 32 bytes; 406 for another cipher or size; 400 for existing', async () => {
    const key = b64(randomBytes(32));
    assert.equal((await ts.put('/v1/key/import/imp-aes', ts.pki.admin, { key, cipher: 'AES256' })).status, 200);
    assert.equal((await ts.put('/v1/key/import/imp-chacha', ts.pki.admin, { key, cipher: 'ChaCha20' })).status, 200);
    assert.equal((await ts.get('/v1/key/describe/imp-chacha', ts.pki.admin)).body.algorithm, 'ChaCha20');
    assert.equal((await ts.put('/v1/key/import/imp-aes', ts.pki.admin, { key, cipher: 'AES256' })).status, 400);
    expectError(await ts.put('/v1/key/import/imp-bad1', ts.pki.admin, { key, cipher: 'AES128' }), 406, /unsupported cipher/);
    expectError(
      await ts.put('/v1/key/import/imp-bad2', ts.pki.admin, { key: b64(randomBytes(16)), cipher: 'AES256' }),
      406,
      /invalid key size/,
    );
    expectError(
      await ts.put('/v1/key/import/imp-bad3', ts.pki.admin, { key: b64(randomBytes(33)), cipher: 'ChaCha20' }),
      406,
      /invalid key size/,
    );
    expectError(await ts.put('/v1/key/import/imp-bad4', ts.pki.admin, { cipher: 'AES256' }), 400, /'key' is required/);
    expectError(await ts.get('/v1/key/describe/imp-bad2', ts.pki.admin), 404, 'key does not exist');
  });

  test('a keystore failure is 502 "failed to ... key" (a stored wrapped key damaged behind the server)', async () => {
    const { default: Database } = await import('better-sqlite3');
    await ts.put('/v1/key/create/damaged', ts.pki.admin).expect(200);
    // Damaged before kes unwrapped it (an unwrapped key is served from memory while its sealed state is unchanged).
    const db = new Database(ts.dbPath);
    db.prepare("UPDATE keys SET wrapped_key = randomblob(61) WHERE name = 'damaged'").run();
    db.close();
    expectError(
      await ts.put('/v1/key/generate/damaged', ts.pki.admin, {}),
      502,
      /^failed to read key: its stored state does not authenticate/,
    );
    expectError(await ts.get('/v1/key/describe/damaged', ts.pki.admin), 502, /^failed to read key: its stored state does not authenticate/);
    assert.equal((await ts.del('/v1/key/delete/damaged', ts.pki.admin)).status, 200, 'a damaged key can still be deleted');
  });

  test('delete removes the key; the name can be created again', async () => {
    await ts.put('/v1/key/create/to-delete', ts.pki.admin).expect(200);
    const r = await ts.del('/v1/key/delete/to-delete', ts.pki.admin);
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    expectError(await ts.get('/v1/key/describe/to-delete', ts.pki.admin), 404, 'key does not exist');
    await ts.put('/v1/key/create/to-delete', ts.pki.admin).expect(200);
  });

  test('list: by prefix, * for all, sorted, paged with continue_at', async () => {
    for (const n of ['ls-c', 'ls-a', 'ls-b', 'ls-d', 'ls-e']) await ts.put(`/v1/key/create/${n}`, ts.pki.admin).expect(200);
    const page = await ts.get('/v1/key/list/ls-*', ts.pki.admin);
    assert.equal(page.status, 200);
    assert.deepEqual(page.body, { names: ['ls-a', 'ls-b', 'ls-c', 'ls-d', 'ls-e'] });
    assert.deepEqual((await ts.get('/v1/key/list/ls-', ts.pki.admin)).body.names, ['ls-a', 'ls-b', 'ls-c', 'ls-d', 'ls-e']);
    const all = (await ts.get('/v1/key/list/*', ts.pki.admin)).body.names as string[];
    assert.ok(all.includes('ls-a') && all.includes('my-key_1'));
    assert.deepEqual(
      all,
      [...all].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
    );
    const p1 = await ts.get('/v1/key/list/ls-*?limit=2', ts.pki.admin);
    assert.deepEqual(p1.body, { names: ['ls-a', 'ls-b'], continue_at: 'ls-c' });
    const p2 = await ts.get('/v1/key/list/ls-*?limit=2&continue_at=ls-c', ts.pki.admin);
    assert.deepEqual(p2.body, { names: ['ls-c', 'ls-d'], continue_at: 'ls-e' });
    const p3 = await ts.get('/v1/key/list/ls-*?limit=2&continue_at=ls-e', ts.pki.admin);
    assert.deepEqual(p3.body, { names: ['ls-e'] });
    assert.deepEqual((await ts.get('/v1/key/list/nothing-here*', ts.pki.admin)).body, { names: [] });
    expectError(await ts.get('/v1/key/list/a.b*', ts.pki.admin), 400, /invalid key prefix/);
  });
});

describe('generate, encrypt, decrypt, hmac', () => {
  const key = randomBytes(32);
  before(async () => {
    await ts.put('/v1/key/import/fixed-aes', ts.pki.admin, { key: b64(key), cipher: 'AES256' }).expect(200);
    await ts.put('/v1/key/import/fixed-chacha', ts.pki.admin, { key: b64(key), cipher: 'ChaCha20' }).expect(200);
  });

  test('every KES known-answer vector decrypts exactly, or fails with 400 not authentic', async () => {
    const { vectors } = JSON.parse(readFileSync(new URL('./fixtures/kes-ciphertexts.json', import.meta.url), 'utf8')) as {
      vectors: Array<{ cipher: string; key: string; plaintext?: string; context?: string; fails?: string; ciphertext: string }>;
    };
    let i = 0;
    for (const v of vectors) {
      const name = `vector-${i++}`;
      await ts.put(`/v1/key/import/${name}`, ts.pki.admin, { key: v.key, cipher: v.cipher }).expect(200);
      const r = await ts.put(`/v1/key/decrypt/${name}`, ts.pki.admin, {
        ciphertext: v.ciphertext,
        ...(v.context ? { context: v.context } : {}),
      });
      if (v.fails) expectError(r, 400, NOT_AUTHENTIC);
      else {
        assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body)}`);
        assert.deepEqual(r.body, { plaintext: v.plaintext });
      }
    }
  });

  test('a ciphertext built by hand from the formula decrypts (AES256)', async () => {
    const iv = randomBytes(16);
    const nonce = randomBytes(12);
    const context = Buffer.from('my context');
    const plaintext = Buffer.from('hand made plaintext');
    const subkey = createHmac('sha256', key).update(iv).digest();
    const c = createCipheriv('aes-256-gcm', subkey, nonce);
    c.setAAD(context);
    const sealed = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
    const ciphertext = Buffer.concat([sealed, iv, nonce]);
    const r = await ts.put('/v1/key/decrypt/fixed-aes', ts.pki.admin, { ciphertext: b64(ciphertext), context: b64(context) });
    assert.equal(r.status, 200);
    assert.equal(r.body.plaintext, b64(plaintext));
  });

  test('a data key from generate opens by hand; 32 bytes wrap to 76', async () => {
    const context = Buffer.from('bucket/object');
    const r = await ts.put('/v1/key/generate/fixed-aes', ts.pki.admin, { context: b64(context) });
    assert.equal(r.status, 200);
    assert.equal(r.body.version, 'v1');
    const plaintext = Buffer.from(r.body.plaintext as string, 'base64');
    const ct = Buffer.from(r.body.ciphertext as string, 'base64');
    assert.equal(plaintext.length, 32);
    assert.equal(ct.length, 76);
    const iv = ct.subarray(48, 64);
    const nonce = ct.subarray(64);
    const d = createDecipheriv('aes-256-gcm', createHmac('sha256', key).update(iv).digest(), nonce);
    d.setAAD(context);
    d.setAuthTag(ct.subarray(32, 48));
    assert.deepEqual(Buffer.concat([d.update(ct.subarray(0, 32)), d.final()]), plaintext);
  });

  test('encrypt → decrypt round trip for both ciphers, with and without context', async () => {
    for (const name of ['fixed-aes', 'fixed-chacha']) {
      const plaintext = randomBytes(1000);
      const e = await ts.put(`/v1/key/encrypt/${name}`, ts.pki.admin, { plaintext: b64(plaintext) });
      assert.equal(e.status, 200);
      assert.equal(e.body.version, 'v1');
      const d = await ts.put(`/v1/key/decrypt/${name}`, ts.pki.admin, { ciphertext: e.body.ciphertext });
      assert.deepEqual(d.body, { plaintext: b64(plaintext) });
      const withCtx = await ts.put(`/v1/key/encrypt/${name}`, ts.pki.admin, {
        plaintext: b64(plaintext),
        context: b64(Buffer.from('ctx')),
      });
      const ok = await ts.put(`/v1/key/decrypt/${name}`, ts.pki.admin, {
        ciphertext: withCtx.body.ciphertext,
        context: b64(Buffer.from('ctx')),
      });
      assert.equal(ok.body.plaintext, b64(plaintext));
      expectError(await ts.put(`/v1/key/decrypt/${name}`, ts.pki.admin, { ciphertext: withCtx.body.ciphertext }), 400, NOT_AUTHENTIC);
      expectError(
        await ts.put(`/v1/key/decrypt/${name}`, ts.pki.admin, { ciphertext: withCtx.body.ciphertext, context: b64(Buffer.from('ctX')) }),
        400,
        NOT_AUTHENTIC,
      );
    }
    // an empty context equals an absent one
    const e = await ts.put('/v1/key/encrypt/fixed-aes', ts.pki.admin, { plaintext: b64(Buffer.from('x')), context: '' });
    assert.equal((await ts.put('/v1/key/decrypt/fixed-aes', ts.pki.admin, { ciphertext: e.body.ciphertext })).status, 200);
  });

  test('another key does not decrypt; every flipped bit and every truncation is 400 not authentic', async () => {
    const g = await ts.put('/v1/key/generate/fixed-chacha', ts.pki.admin, {});
    const ct = Buffer.from(g.body.ciphertext as string, 'base64');
    expectError(await ts.put('/v1/key/decrypt/fixed-aes', ts.pki.admin, { ciphertext: g.body.ciphertext }), 400, NOT_AUTHENTIC);
    const client = keepAliveClient(ts.srv.port, ts.pki.ca.cert, ts.pki.admin);
    try {
      for (let bit = 0; bit < ct.length * 8; bit++) {
        const bad = Buffer.from(ct);
        bad[bit >> 3]! ^= 1 << (bit & 7);
        const r = await client.send('PUT', '/v1/key/decrypt/fixed-chacha', { ciphertext: b64(bad) });
        assert.deepEqual([r.status, r.body.message], [400, NOT_AUTHENTIC], `bit ${bit}`);
      }
      for (let len = 0; len < ct.length; len++) {
        const r = await client.send('PUT', '/v1/key/decrypt/fixed-chacha', { ciphertext: b64(ct.subarray(0, len)) });
        assert.deepEqual([r.status, r.body.message], [400, NOT_AUTHENTIC], `length ${len}`);
      }
    } finally {
      client.close();
    }
  });

  test("hmac is HMAC-SHA256 under the key's own HMAC key: deterministic per key, different across keys", async () => {
    const message = b64(Buffer.from('message'));
    const a1 = await ts.put('/v1/key/hmac/fixed-aes', ts.pki.admin, { message });
    const a2 = await ts.put('/v1/key/hmac/fixed-aes', ts.pki.admin, { message });
    const b = await ts.put('/v1/key/hmac/fixed-chacha', ts.pki.admin, { message });
    assert.equal(a1.status, 200);
    assert.equal(Buffer.from(a1.body.hmac as string, 'base64').length, 32);
    assert.equal(a1.body.hmac, a2.body.hmac);
    assert.notEqual(a1.body.hmac, b.body.hmac);
    assert.notEqual(a1.body.hmac, b64(createHmac('sha256', key).update('message').digest()), 'the HMAC key is not the master key');
  });

  test('bodies: malformed JSON 400 invalid request body, bad base64 400, over 1 MiB 413', async () => {
    const raw = await ts.put('/v1/key/generate/fixed-aes', ts.pki.admin).set('content-type', 'application/json').send('{"context": ');
    expectError(raw, 400, 'invalid request body');
    const arr = await ts.put('/v1/key/generate/fixed-aes', ts.pki.admin).set('content-type', 'application/json').send('[1]');
    expectError(arr, 400, 'invalid request body');
    expectError(
      await ts.put('/v1/key/generate/fixed-aes', ts.pki.admin, { context: 'not base64!' }),
      400,
      /'context' must be standard base64/,
    );
    expectError(await ts.put('/v1/key/encrypt/fixed-aes', ts.pki.admin, { plaintext: 12 }), 400, /'plaintext' must be standard base64/);
    expectError(await ts.put('/v1/key/decrypt/fixed-aes', ts.pki.admin, { ciphertext: 'AAAA', version: 'latest' }), 400, /invalid version/);
    const big = await ts.put('/v1/key/encrypt/fixed-aes', ts.pki.admin, { plaintext: b64(randomBytes(800 * 1024)) });
    expectError(big, 413, /request body too large/);
    // a plaintext that fits the body limit still encrypts
    const fits = await ts.put('/v1/key/encrypt/fixed-aes', ts.pki.admin, { plaintext: b64(randomBytes(700 * 1024)) });
    assert.equal(fits.status, 200);
  });
});
