// The typed client against a real kes over mTLS: calls and typed errors, failover across endpoints,
// retries on network errors only, timeouts, and keep-alive.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { KesClient, KesError, KesUnavailableError } from '../src/index.js';
// The kes package's own test server: a real kes (TLS, SQLite, Shamir) in a temp dir.
import { startTestServer, type TestServer } from '../../kes/test/helpers/server.js';

let kes: TestServer;
let deadPort: number;
let silent: Server;
let silentPort: number;
const silentSockets: Socket[] = [];

async function listen(srv: Server): Promise<number> {
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as { port: number }).port;
}

before(async () => {
  kes = await startTestServer({ keys: ['client-key'] });
  // A port nobody listens on: connections are refused.
  const probe = createServer();
  deadPort = await listen(probe);
  await new Promise((r) => probe.close(r));
  // A server that accepts connections and never answers: the client must time out.
  silent = createServer((s) => silentSockets.push(s));
  silentPort = await listen(silent);
});
after(async () => {
  for (const s of silentSockets) s.destroy();
  silent.close();
  await kes.close();
});

function client(endpoints: string[], extra: Partial<ConstructorParameters<typeof KesClient>[0]> = {}): KesClient {
  const { admin, ca } = kes.pki;
  return new KesClient({ endpoints, cert: admin.cert, key: admin.key, ca: ca.cert, backoffMs: 10, ...extra });
}

async function errorCount(): Promise<number> {
  const text = (await kes.get('/v1/metrics', kes.pki.admin)).text;
  return Number(/^kes_http_request_error (\d+)/m.exec(text)?.[1] ?? 0);
}

test('generate, decrypt, encrypt, hmac, describe, list: typed values', async () => {
  const c = client([kes.srv.url]);
  try {
    const ctx = Buffer.from('bucket/object');
    const dk = await c.generateKey('client-key', ctx);
    assert.equal(dk.plaintext.length, 32);
    assert.equal(dk.version, 'v1');
    assert.ok((await c.decryptKey('client-key', dk.ciphertext, ctx)).equals(dk.plaintext));
    const msg = randomBytes(100);
    const enc = await c.encrypt('client-key', msg);
    assert.ok((await c.decryptKey('client-key', enc.ciphertext)).equals(msg));
    assert.equal((await c.hmac('client-key', msg)).length, 32);
    assert.equal((await c.describeKey('client-key')).name, 'client-key');
    assert.ok((await c.allKeys('client-*')).includes('client-key'));
    assert.equal((await c.sealStatus()).sealed, false);
  } finally {
    c.close();
  }
});

test("an HTTP error is a KesError with kes's status and message, and is not retried", async () => {
  const c = client([kes.srv.url], { retries: 3 });
  try {
    const before = await errorCount();
    await assert.rejects(
      c.describeKey('no-such-key'),
      (e: unknown) => e instanceof KesError && e.status === 404 && e.message === 'key does not exist',
    );
    await assert.rejects(
      c.decryptKey('client-key', randomBytes(76)),
      (e: unknown) => e instanceof KesError && e.status === 400 && /not authentic/.test(e.message),
    );
    assert.equal((await errorCount()) - before, 2, 'each failing call reached kes exactly once');
  } finally {
    c.close();
  }
});

test('failover: a dead endpoint is skipped; an endpoint that failed is marked down and gets no more live calls', async () => {
  const dead = client([`https://127.0.0.1:${deadPort}`, kes.srv.url], { retries: 0 });
  try {
    assert.equal((await dead.generateKey('client-key')).plaintext.length, 32);
  } finally {
    dead.close();
  }
  // A hanging endpoint: counting its connections shows which endpoint each call tried (no background probe here).
  const c = client([`https://127.0.0.1:${silentPort}`, kes.srv.url], { retries: 0, timeoutMs: 300, probeMs: 600_000 });
  try {
    const before = silentSockets.length;
    for (let i = 0; i < 4; i++) assert.equal((await c.generateKey('client-key')).plaintext.length, 32);
    assert.equal(
      silentSockets.length,
      before + 1,
      'one call met the hanging endpoint and failed over; later calls go to the endpoint that answers',
    );
    assert.deepEqual(
      c.nodes().map((n) => n.up),
      [false, true],
    );
  } finally {
    c.close();
  }
});

test('every endpoint down: KesUnavailableError after the retries, naming each attempt', async () => {
  const c = client([`https://127.0.0.1:${deadPort}`, `https://127.0.0.1:${deadPort}`], { retries: 2 });
  try {
    await assert.rejects(c.generateKey('client-key'), (e: unknown) => {
      assert.ok(e instanceof KesUnavailableError);
      assert.equal(e.causes.length, 6, '2 endpoints × (1 + 2 retries)');
      assert.match(e.message, /kes is unavailable/);
      return true;
    });
  } finally {
    c.close();
  }
});

test('a server that never answers: a timeout, reported as unavailable', async () => {
  const c = client([`https://127.0.0.1:${silentPort}`], { retries: 0, timeoutMs: 300 });
  try {
    await assert.rejects(c.generateKey('client-key'), (e: unknown) => e instanceof KesUnavailableError && /300 ms/.test(e.message));
  } finally {
    c.close();
  }
});

test('keep-alive: many calls share a few TLS connections', async () => {
  let handshakes = 0;
  const count = () => handshakes++;
  kes.srv.server.on('secureConnection', count);
  const c = client([kes.srv.url], { maxSockets: 4 });
  try {
    await Promise.all(Array.from({ length: 40 }, () => c.generateKey('client-key')));
    for (let i = 0; i < 20; i++) await c.generateKey('client-key');
    assert.ok(handshakes >= 1 && handshakes <= 4, `60 calls used ${handshakes} connections`);
  } finally {
    kes.srv.server.off('secureConnection', count);
    c.close();
  }
});
