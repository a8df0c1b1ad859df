// Coalescing of generateKey/decryptKey against a real kes over mTLS: concurrent calls go out as bulk requests
// (counted at the server, by its per-route request metrics), each item keeps its own context, one wrong item
// fails alone, an idle call goes alone; and the fallbacks to single calls: a kes started without the bulk
// routes (startServer's withoutRoutes, as a KES without kesgate's extension) and a policy without them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { KesClient, KesError } from '../src/index.js';
import { startTestServer, type TestServer } from '../../kes/test/helpers/server.js';
import type { Client } from '../../kes/test/helpers/pki.js';

let kes: TestServer;
let plain: TestServer;
before(async () => {
  kes = await startTestServer({ keys: ['co-key', 'minio-co'] });
  plain = await startTestServer({ keys: ['co-key'], withoutRoutes: ['/v1/key/bulk/generate/', '/v1/key/bulk/decrypt/'] });
});
after(async () => {
  await kes.close();
  await plain.close();
});

function client(server: TestServer, who: Client = server.pki.admin, extra: Partial<ConstructorParameters<typeof KesClient>[0]> = {}) {
  return new KesClient({ endpoints: [server.srv.url], cert: who.cert, key: who.key, ca: server.pki.ca.cert, ...extra });
}

/** Requests the server answered, by route (as /v1/api names it; 'unknown' for no route) and status class. */
async function served(server: TestServer): Promise<Record<string, number>> {
  const text = (await server.get('/v1/metrics', server.pki.admin)).text;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^kes_http_request_duration_seconds_count\{api="([^"]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  for (const name of ['kes_http_request_error', 'kes_http_bulk_items']) {
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{api="([^"]+)"\\})? (\\d+)$`, 'gm')))
      out[`${name}${m[1] ? `:${m[1]}` : ''}`] = Number(m[2]);
  }
  return out;
}

function delta(after: Record<string, number>, before: Record<string, number>, key: string): number {
  return (after[key] ?? 0) - (before[key] ?? 0);
}

const N = 120;
const contexts = Array.from({ length: N }, (_, i) => Buffer.from(`bucket/object-${i}`));

describe('coalescing', () => {
  test('concurrent generate and decrypt calls go out as far fewer bulk requests, each item with its own context', async () => {
    const c = client(kes);
    try {
      const m0 = await served(kes);
      const keys = await Promise.all(contexts.map((ctx) => c.generateKey('co-key', ctx)));
      const m1 = await served(kes);
      const generateRequests = delta(m1, m0, '/v1/key/generate/') + delta(m1, m0, '/v1/key/bulk/generate/');
      assert.ok(generateRequests <= N / 4, `${N} concurrent generates took ${generateRequests} requests`);
      assert.ok(delta(m1, m0, '/v1/key/bulk/generate/') >= 1, 'bulk generate was used');
      assert.equal(
        delta(m1, m0, 'kes_http_bulk_items:/v1/key/bulk/generate/') + delta(m1, m0, '/v1/key/generate/'),
        N,
        'every call is one item',
      );
      assert.equal(new Set(keys.map((k) => k.plaintext.toString('hex'))).size, N, 'a fresh key for each call');

      const plaintexts = await Promise.all(keys.map((k, i) => c.decryptKey('co-key', k.ciphertext, contexts[i], k.version)));
      const m2 = await served(kes);
      const decryptRequests = delta(m2, m1, '/v1/key/decrypt/') + delta(m2, m1, '/v1/key/bulk/decrypt/');
      assert.ok(decryptRequests <= N / 4, `${N} concurrent decrypts took ${decryptRequests} requests`);
      plaintexts.forEach((p, i) => assert.ok(p.equals(keys[i]!.plaintext), `item ${i} got its own key back`));
    } finally {
      c.close();
    }
  });

  test('one item with a wrong context fails alone; the others in its batch succeed', async () => {
    const c = client(kes);
    try {
      const keys = await Promise.all(contexts.slice(0, 40).map((ctx) => c.generateKey('co-key', ctx)));
      const m0 = await served(kes);
      const results = await Promise.allSettled(
        keys.map((k, i) => c.decryptKey('co-key', k.ciphertext, i === 17 ? Buffer.from('another object') : contexts[i])),
      );
      const m1 = await served(kes);
      results.forEach((r, i) => {
        if (i === 17) {
          assert.equal(r.status, 'rejected');
          assert.ok(r.reason instanceof KesError);
          assert.equal(r.reason.status, 400);
          assert.equal(r.reason.message, 'decryption failed: ciphertext is not authentic');
        } else {
          assert.equal(r.status, 'fulfilled', `item ${i}`);
          assert.ok(r.value.equals(keys[i]!.plaintext));
        }
      });
      assert.ok(delta(m1, m0, '/v1/key/bulk/decrypt/') >= 1, 'a bulk decrypt was tried');
    } finally {
      c.close();
    }
  });

  test('an idle call goes alone, as a single request, at once', async () => {
    const c = client(kes);
    try {
      const m0 = await served(kes);
      const k = await c.generateKey('co-key', contexts[0]);
      assert.ok((await c.decryptKey('co-key', k.ciphertext, contexts[0])).equals(k.plaintext));
      const m1 = await served(kes);
      assert.equal(delta(m1, m0, '/v1/key/generate/'), 1);
      assert.equal(delta(m1, m0, '/v1/key/decrypt/'), 1);
      assert.equal(delta(m1, m0, '/v1/key/bulk/generate/') + delta(m1, m0, '/v1/key/bulk/decrypt/'), 0);
    } finally {
      c.close();
    }
  });

  test('a sealed key fails every call of a batch with kes error, in one bulk request (not one per item)', async () => {
    const c = client(kes);
    await kes.put('/v1/key/create/co-sealed', kes.pki.admin).expect(200);
    await kes.put('/v1/key/seal/co-sealed', kes.pki.admin).expect(200);
    try {
      const m0 = await served(kes);
      const results = await Promise.allSettled(contexts.slice(0, 30).map((ctx) => c.generateKey('co-sealed', ctx)));
      const m1 = await served(kes);
      for (const r of results) {
        assert.equal(r.status, 'rejected');
        assert.ok(r.reason instanceof KesError);
        assert.deepEqual([r.reason.status, r.reason.message], [403, 'key is sealed']);
      }
      const requests = delta(m1, m0, '/v1/key/generate/') + delta(m1, m0, '/v1/key/bulk/generate/');
      assert.ok(requests <= 10, `30 calls took ${requests} requests`);
    } finally {
      c.close();
    }
  });

  test('a dead node first in the list: bulk requests fail over to the live one, which is marked up, the dead one down', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const deadPort = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const c = new KesClient({
      endpoints: [`https://127.0.0.1:${deadPort}`, kes.srv.url],
      cert: kes.pki.admin.cert,
      key: kes.pki.admin.key,
      ca: kes.pki.ca.cert,
      backoffMs: 10,
    });
    try {
      const m0 = await served(kes);
      const keys = await Promise.all(contexts.slice(0, 60).map((ctx) => c.generateKey('co-key', ctx)));
      const back = await Promise.all(keys.map((k, i) => c.decryptKey('co-key', k.ciphertext, contexts[i])));
      back.forEach((p, i) => assert.ok(p.equals(keys[i]!.plaintext)));
      const m1 = await served(kes);
      assert.ok(delta(m1, m0, '/v1/key/bulk/generate/') >= 1, 'bulk requests reached the live node');
      const nodes = c.nodes();
      assert.equal(nodes[0]!.up, false);
      assert.match(nodes[0]!.lastError ?? '', /ECONNREFUSED/);
      assert.equal(nodes[1]!.up, true);
    } finally {
      c.close();
    }
  });

  test('coalesce: false sends every call as its own request', async () => {
    const c = client(kes, kes.pki.admin, { coalesce: false });
    try {
      const m0 = await served(kes);
      await Promise.all(contexts.slice(0, 20).map((ctx) => c.generateKey('co-key', ctx)));
      const m1 = await served(kes);
      assert.equal(delta(m1, m0, '/v1/key/generate/'), 20);
      assert.equal(delta(m1, m0, '/v1/key/bulk/generate/'), 0);
    } finally {
      c.close();
    }
  });
});

describe('fallback to single calls', () => {
  test('a kes without the bulk routes (404) gets single calls, and is asked for the bulk route once', async () => {
    const c = client(plain);
    try {
      const m0 = await served(plain);
      const keys = await Promise.all(contexts.map((ctx) => c.generateKey('co-key', ctx)));
      const plaintexts = await Promise.all(keys.map((k, i) => c.decryptKey('co-key', k.ciphertext, contexts[i])));
      plaintexts.forEach((p, i) => assert.ok(p.equals(keys[i]!.plaintext)));
      const m1 = await served(plain);
      assert.equal(delta(m1, m0, '/v1/key/generate/'), N);
      assert.equal(delta(m1, m0, '/v1/key/decrypt/'), N);
      // Asked until the first 404 is back: at most once per batch in flight, per route.
      const asked = delta(m1, m0, 'unknown');
      assert.ok(asked >= 2 && asked <= 4, `bulk routes asked ${asked} times`);
      // Remembered: the next burst does not ask again.
      await Promise.all(contexts.slice(0, 30).map((ctx) => c.generateKey('co-key', ctx)));
      const m2 = await served(plain);
      assert.equal(delta(m2, m1, 'unknown'), 0);
      assert.equal(delta(m2, m1, '/v1/key/generate/'), 30);
    } finally {
      c.close();
    }
  });

  test('a policy that allows the single routes only (403 on bulk) gets single calls, remembered per key name', async () => {
    // The test server's gateway policy allows /v1/key/generate/minio-* and /v1/key/decrypt/minio-*, no bulk path.
    const c = client(kes, kes.pki.gateway);
    try {
      const m0 = await served(kes);
      const keys = await Promise.all(contexts.slice(0, 40).map((ctx) => c.generateKey('minio-co', ctx)));
      const m1 = await served(kes);
      assert.equal(delta(m1, m0, '/v1/key/generate/'), 40);
      const asked = delta(m1, m0, '/v1/key/bulk/generate/');
      assert.ok(asked >= 1 && asked <= 2, `asked until refused (403) once: ${asked}`);
      await Promise.all(keys.map((k, i) => c.decryptKey('minio-co', k.ciphertext, contexts[i])));
      await Promise.all(contexts.slice(0, 40).map((ctx) => c.generateKey('minio-co', ctx)));
      const m2 = await served(kes);
      assert.equal(delta(m2, m1, '/v1/key/bulk/generate/'), 0, 'not asked again');
      assert.equal(delta(m2, m1, '/v1/key/generate/'), 40);
      assert.equal(delta(m2, m1, '/v1/key/decrypt/'), 40);
      // A key the policy does not allow at all is still refused, singly: the caller sees the 403.
      const denied = await Promise.allSettled(contexts.slice(0, 5).map((ctx) => c.generateKey('co-key', ctx)));
      for (const r of denied) assert.ok(r.status === 'rejected' && r.reason instanceof KesError && r.reason.status === 403);
    } finally {
      c.close();
    }
  });
});
