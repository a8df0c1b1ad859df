// Audit and error logs (file and live NDJSON streams) and metrics. The audit file is grepped for
// every secret that crossed the API: none may appear.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { startTestServer, type TestServer } from './helpers/server.js';
import type { Client } from './helpers/pki.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer({ keys: ['logged'], shares: 3, threshold: 2 });
});
after(() => ts.close());

interface Stream {
  res: IncomingMessage;
  /** Resolves with the first line (parsed) that satisfies `match`, past or future. */
  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  close(): void;
}

function openStream(path: string, who: Client): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: ts.srv.port, path, method: 'GET', key: who.key, cert: who.cert, ca: ts.pki.ca.cert },
      (res) => {
        const lines: Array<Record<string, unknown>> = [];
        const waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
        let rest = '';
        res.on('data', (chunk: Buffer) => {
          rest += chunk.toString('utf8');
          let nl: number;
          while ((nl = rest.indexOf('\n')) >= 0) {
            const line = JSON.parse(rest.slice(0, nl)) as Record<string, unknown>;
            rest = rest.slice(nl + 1);
            lines.push(line);
            for (const w of [...waiters]) {
              if (w.match(line)) {
                waiters.splice(waiters.indexOf(w), 1);
                w.resolve(line);
              }
            }
          }
        });
        res.on('error', () => {});
        resolve({
          res,
          waitFor: (match) => {
            const seen = lines.find(match);
            return seen ? Promise.resolve(seen) : new Promise((r) => waiters.push({ match, resolve: r }));
          },
          close: () => req.destroy(),
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('/v1/log/audit streams one NDJSON line per key request to the admin', async () => {
  const stream = await openStream('/v1/log/audit', ts.pki.admin);
  try {
    assert.equal(stream.res.statusCode, 200);
    assert.equal(stream.res.headers['content-type'], 'application/x-ndjson');
    const r = await ts.put('/v1/key/generate/logged', ts.pki.admin, {});
    assert.equal(r.status, 200);
    const line = await stream.waitFor((l) => l.path === '/v1/key/generate/logged');
    assert.equal(line.key, 'logged');
    assert.equal(line.version, 'v1');
    assert.equal(line.status, 200);
    assert.equal(line.method, 'PUT');
    assert.equal(line.identity, ts.pki.admin.identity);
    assert.deepEqual(line.response, { code: 200, time: Math.round((line.latency_ms as number) * 1000) });
    await ts.get('/v1/key/describe/nope', ts.pki.admin);
    assert.equal((await stream.waitFor((l) => l.path === '/v1/key/describe/nope')).status, 404);
  } finally {
    stream.close();
  }
  assert.equal((await ts.get('/v1/log/audit', ts.pki.gateway)).status, 403);
});

test('/v1/log/error streams the error log; seal and unseal are logged, shares are not', async () => {
  const stream = await openStream('/v1/log/error', ts.pki.admin);
  try {
    assert.equal(stream.res.statusCode, 200);
    await ts.put('/v1/sys/seal', ts.pki.admin).expect(200);
    const sealed = await stream.waitFor((l) => l.message === 'system sealed');
    assert.deepEqual(
      [sealed.level, sealed.msg, sealed.service],
      ['info', 'system sealed', 'kes'],
      'the log shape, with KES\'s "message" beside it',
    );
    for (const key of ts.shares.slice(0, 2)) await ts.put('/v1/sys/unseal', ts.pki.admin, { key }).expect(200);
    await stream.waitFor((l) => l.message === 'system unsealed');
  } finally {
    stream.close();
  }
});

test('the audit file never holds plaintexts, ciphertexts, contexts, imported keys or shares', async () => {
  const { admin } = ts.pki;
  const imported = randomBytes(32);
  await ts.put('/v1/key/import/imported', admin, { key: imported.toString('base64'), cipher: 'AES256' }).expect(200);
  const context = randomBytes(24);
  const secrets: Buffer[] = [imported, context];
  for (let i = 0; i < 5; i++) {
    const g = await ts.put('/v1/key/generate/imported', admin, { context: context.toString('base64') });
    secrets.push(Buffer.from(g.body.plaintext, 'base64'), Buffer.from(g.body.ciphertext, 'base64'));
    const d = await ts.put('/v1/key/decrypt/imported', admin, { ciphertext: g.body.ciphertext, context: context.toString('base64') });
    assert.equal(d.body.plaintext, g.body.plaintext);
  }
  const plaintext = randomBytes(48);
  secrets.push(plaintext);
  const e = await ts.put('/v1/key/encrypt/imported', admin, { plaintext: plaintext.toString('base64') });
  secrets.push(Buffer.from(e.body.ciphertext, 'base64'));
  const h = await ts.put('/v1/key/hmac/imported', admin, { message: plaintext.toString('base64') });
  secrets.push(Buffer.from(h.body.hmac, 'base64'));
  // a refused unseal (403) is audited: its share must not be
  await ts.put('/v1/sys/unseal', ts.pki.gateway, { key: ts.shares[2] }).expect(403);

  await ts.srv.flushAudit();
  const audit = readFileSync(ts.auditPath, 'utf8');
  const lines = audit.trim().split('\n');
  assert.ok(lines.length >= 13);
  for (const l of lines) JSON.parse(l);
  assert.ok(lines.some((l) => l.includes('"path":"/v1/sys/unseal"')));
  for (const s of secrets) {
    for (const form of [s.toString('base64'), s.toString('hex'), s.toString('base64url')]) {
      assert.equal(audit.includes(form), false);
    }
  }
  for (const share of ts.shares) assert.equal(audit.toLowerCase().includes(share), false);
});

test('/v1/metrics exposes the KES metric names and counts requests', async () => {
  await ts.get('/v1/key/describe/nope', ts.pki.admin);
  const m = await ts.get('/v1/metrics', ts.pki.admin);
  assert.equal(m.status, 200);
  assert.match(m.headers['content-type'] ?? '', /^text\/plain/);
  for (const name of [
    'kes_http_request_success',
    'kes_http_request_error',
    'kes_http_request_failure',
    'kes_http_request_active',
    'kes_http_response_time_bucket',
    'kes_log_audit_events',
    'kes_log_error_events',
    'kes_system_up_time',
    'kes_system_num_cpu',
    'kes_system_mem_heap_used',
  ]) {
    assert.match(m.text, new RegExp(`^${name}`, 'm'), name);
  }
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(m.text)?.[1]);
  assert.ok(value('kes_http_request_success') > 5);
  assert.ok(value('kes_http_request_error') >= 1);
  assert.equal(value('kes_http_request_active'), 1, 'this request');
  assert.ok(value('kes_log_audit_events') > 5);
});
