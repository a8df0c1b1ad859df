// Seal and unseal over the API (3-of-5 shares), the sealed surface, per-key seal, rotation and
// min_decryption_version — including that the per-key state survives a restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { initStore } from '../src/init.js';
import { parseConfig } from '../src/config/config.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const SEALED = { message: 'system is sealed' };
let ts: TestServer;
let foreignShares: string[];
before(async () => {
  ts = await startTestServer({ shares: 5, threshold: 3, sealed: true, keys: ['sse-default'] });
  // shares of another keystore, for the "foreign share" case
  const other = tempDir();
  foreignShares = (
    await initStore(parseConfig({ tls: { key: 'k', cert: 'c' }, keystore: { sqlite: { path: 'o.db' } } }, { baseDir: other }), {
      shares: 5,
      threshold: 3,
    })
  ).shares;
});
after(() => ts.close());

function subsets<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first as T, ...s]), ...subsets(rest, k)];
}

async function unsealWith(shares: string[]): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> = {};
  for (const key of shares) {
    const r = await ts.put('/v1/sys/unseal', ts.pki.admin, { key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    last = r.body;
  }
  return last;
}

async function seal(): Promise<void> {
  const r = await ts.put('/v1/sys/seal', ts.pki.admin);
  assert.equal(r.status, 200);
  assert.equal(r.body.sealed, true);
}

describe('service seal', () => {
  test('sealed at start: only /version, ready (503), status, seal-status and unseal answer', async () => {
    const { admin } = ts.pki;
    assert.equal((await ts.get('/version')).status, 200);
    const ready = await ts.get('/v1/ready', admin);
    assert.deepEqual([ready.status, ready.body], [503, SEALED]);
    const status = await ts.get('/v1/status', admin);
    assert.equal(status.status, 200);
    assert.equal(status.body.sealed, true);
    assert.deepEqual((await ts.get('/v1/sys/seal-status', admin)).body, { initialized: true, sealed: true, t: 3, n: 5, progress: 0 });
    for (const [method, path] of [
      ['PUT', '/v1/key/create/x'],
      ['PUT', '/v1/key/generate/sse-default'],
      ['PUT', '/v1/key/decrypt/sse-default'],
      ['GET', '/v1/key/describe/sse-default'],
      ['GET', '/v1/key/list/*'],
      ['DELETE', '/v1/key/delete/sse-default'],
      ['PUT', '/v1/key/rotate/sse-default'],
      ['GET', '/v1/metrics'],
      ['GET', '/v1/api'],
      ['GET', '/v1/policy/list/*'],
    ] as const) {
      const r = method === 'PUT' ? await ts.put(path, admin, {}) : await ts.call(method, path, admin);
      assert.deepEqual([r.status, r.body], [503, SEALED], `${method} ${path}`);
    }
  });

  test('progress counts distinct shares; reset forgets them; T-1 shares do not unseal', async () => {
    const { admin } = ts.pki;
    const [a, b] = ts.shares as [string, string];
    assert.equal((await ts.put('/v1/sys/unseal', admin, { key: a })).body.progress, 1);
    assert.equal((await ts.put('/v1/sys/unseal', admin, { key: a })).body.progress, 1, 'duplicate');
    const two = await ts.put('/v1/sys/unseal', admin, { key: b });
    assert.deepEqual(two.body, { initialized: true, sealed: true, t: 3, n: 5, progress: 2 });
    const reset = await ts.put('/v1/sys/unseal', admin, { reset: true });
    assert.equal(reset.body.progress, 0);
    const bad = await ts.put('/v1/sys/unseal', admin, { key: 'not-a-share' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /66 hexadecimal/);
    assert.equal((await ts.put('/v1/sys/unseal', admin, {})).status, 400);
  });

  test('foreign or mixed shares: 400 at the threshold, progress resets, still sealed', async () => {
    const { admin } = ts.pki;
    await unsealWith([ts.shares[0]!, foreignShares[1]!]);
    const r = await ts.put('/v1/sys/unseal', admin, { key: ts.shares[2]! });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /unseal failed/);
    assert.deepEqual((await ts.get('/v1/sys/seal-status', admin)).body, { initialized: true, sealed: true, t: 3, n: 5, progress: 0 });
    await unsealWith(foreignShares.slice(0, 2));
    assert.equal((await ts.put('/v1/sys/unseal', admin, { key: foreignShares[2]! })).status, 400);
  });

  test('every 3-subset of the 5 shares unseals over the API; data keys survive seal/unseal', async () => {
    const first = await unsealWith(ts.shares.slice(0, 3));
    assert.equal(first.sealed, false);
    // the configured key was created at the first unseal
    const dek = await ts.put('/v1/key/generate/sse-default', ts.pki.admin, {});
    assert.equal(dek.status, 200);
    await seal();
    await seal(); // idempotent
    assert.deepEqual((await ts.put('/v1/key/decrypt/sse-default', ts.pki.admin, { ciphertext: dek.body.ciphertext })).body, SEALED);
    const sets = subsets(ts.shares, 3);
    assert.equal(sets.length, 10);
    for (const set of sets) {
      const s = await unsealWith([...set].reverse());
      assert.equal(s.sealed, false, 'unsealed');
      const d = await ts.put('/v1/key/decrypt/sse-default', ts.pki.admin, { ciphertext: dek.body.ciphertext });
      assert.deepEqual(d.body, { plaintext: dek.body.plaintext });
      await seal();
    }
    await unsealWith(ts.shares.slice(2, 5));
    assert.equal((await ts.get('/v1/ready', ts.pki.admin)).status, 200);
  });
});

describe('per-key seal, rotate, min_decryption_version', () => {
  test('a sealed key refuses generate/encrypt/decrypt/hmac with 403 key is sealed; others are unaffected', async () => {
    const { admin } = ts.pki;
    await ts.put('/v1/key/create/k-seal', admin).expect(200);
    await ts.put('/v1/key/create/k-other', admin).expect(200);
    const dek = await ts.put('/v1/key/generate/k-seal', admin, {});
    assert.equal((await ts.put('/v1/key/seal/k-seal', admin)).status, 200);
    assert.equal((await ts.put('/v1/key/seal/k-seal', admin)).status, 200, 'idempotent');
    assert.equal((await ts.get('/v1/key/describe/k-seal', admin)).body.state, 'sealed');
    for (const [op, body] of [
      ['generate', {}],
      ['encrypt', { plaintext: 'AAAA' }],
      ['decrypt', { ciphertext: dek.body.ciphertext }],
      ['hmac', { message: 'AAAA' }],
    ] as const) {
      const r = await ts.put(`/v1/key/${op}/k-seal`, admin, body);
      assert.deepEqual([r.status, r.body], [403, { message: 'key is sealed' }], op);
    }
    assert.equal((await ts.put('/v1/key/generate/k-other', admin, {})).status, 200);
    assert.equal((await ts.put('/v1/key/seal/missing', admin)).status, 404);
    assert.equal((await ts.put('/v1/key/unseal/k-seal', admin)).status, 200);
    assert.deepEqual((await ts.put('/v1/key/decrypt/k-seal', admin, { ciphertext: dek.body.ciphertext })).body, {
      plaintext: dek.body.plaintext,
    });
    assert.equal((await ts.get('/v1/key/describe/k-seal', admin)).body.state, 'active');
  });

  test('rotate adds a version; new data keys use it; old ciphertexts still decrypt', async () => {
    const { admin } = ts.pki;
    await ts.put('/v1/key/create/k-rot', admin).expect(200);
    const v1 = await ts.put('/v1/key/generate/k-rot', admin, {});
    assert.equal(v1.body.version, 'v1');
    const rot = await ts.put('/v1/key/rotate/k-rot', admin);
    assert.equal(rot.status, 200);
    assert.deepEqual(rot.body.versions, ['v1', 'v2']);
    assert.equal(rot.body.latest_version, 'v2');
    const v2 = await ts.put('/v1/key/generate/k-rot', admin, {});
    assert.equal(v2.body.version, 'v2');
    const e = await ts.put('/v1/key/encrypt/k-rot', admin, { plaintext: 'AAAA' });
    assert.equal(e.body.version, 'v2');
    for (const [dek, version] of [
      [v1, 'v1'],
      [v2, 'v2'],
    ] as const) {
      assert.deepEqual((await ts.put('/v1/key/decrypt/k-rot', admin, { ciphertext: dek.body.ciphertext })).body, {
        plaintext: dek.body.plaintext,
      });
      assert.deepEqual((await ts.put('/v1/key/decrypt/k-rot', admin, { ciphertext: dek.body.ciphertext, version })).body, {
        plaintext: dek.body.plaintext,
      });
    }
    const wrongVersion = await ts.put('/v1/key/decrypt/k-rot', admin, { ciphertext: v1.body.ciphertext, version: 'v2' });
    assert.deepEqual([wrongVersion.status, wrongVersion.body], [400, { message: 'decryption failed: ciphertext is not authentic' }]);
    const noVersion = await ts.put('/v1/key/decrypt/k-rot', admin, { ciphertext: v1.body.ciphertext, version: 'v9' });
    assert.equal(noVersion.status, 400);
    assert.match(noVersion.body.message, /v9 does not exist/);
    assert.equal((await ts.put('/v1/key/rotate/missing', admin)).status, 404);
  });

  test('min_decryption_version: older versions refuse with 400 key version is too old', async () => {
    const { admin } = ts.pki;
    await ts.put('/v1/key/create/k-min', admin).expect(200);
    const v1 = await ts.put('/v1/key/generate/k-min', admin, {});
    await ts.put('/v1/key/rotate/k-min', admin).expect(200);
    const v2 = await ts.put('/v1/key/generate/k-min', admin, {});
    const cfg = await ts.put('/v1/key/config/k-min', admin, { min_decryption_version: 'v2' });
    assert.equal(cfg.status, 200);
    assert.equal(cfg.body.min_decryption_version, 'v2');
    const TOO_OLD = [400, { message: 'key version is too old' }];
    const old = await ts.put('/v1/key/decrypt/k-min', admin, { ciphertext: v1.body.ciphertext });
    assert.deepEqual([old.status, old.body], TOO_OLD);
    const oldExplicit = await ts.put('/v1/key/decrypt/k-min', admin, { ciphertext: v1.body.ciphertext, version: 'v1' });
    assert.deepEqual([oldExplicit.status, oldExplicit.body], TOO_OLD);
    assert.deepEqual((await ts.put('/v1/key/decrypt/k-min', admin, { ciphertext: v2.body.ciphertext })).body, {
      plaintext: v2.body.plaintext,
    });
    // a number is accepted too; above the latest version is refused
    assert.equal((await ts.put('/v1/key/config/k-min', admin, { min_decryption_version: 3 })).status, 400);
    assert.equal((await ts.put('/v1/key/config/k-min', admin, { min_decryption_version: 1 })).status, 200);
    assert.equal((await ts.put('/v1/key/decrypt/k-min', admin, { ciphertext: v1.body.ciphertext })).status, 200);
    await ts.put('/v1/key/config/k-min', admin, { min_decryption_version: 2 }).expect(200);
    assert.equal((await ts.put('/v1/key/config/k-min', admin, {})).status, 400);
  });

  test('per-key seal, versions and min_decryption_version survive a restart', async () => {
    const { admin } = ts.pki;
    await ts.put('/v1/key/seal/k-seal', admin).expect(200);
    await ts.restart();
    assert.equal(ts.srv.sealed(), true, 'no unseal file: sealed at start');
    await unsealWith(ts.shares.slice(1, 4));
    assert.equal((await ts.get('/v1/key/describe/k-seal', admin)).body.state, 'sealed');
    const min = await ts.get('/v1/key/describe/k-min', admin);
    assert.deepEqual([min.body.versions, min.body.min_decryption_version], [['v1', 'v2'], 'v2']);
  });
});
