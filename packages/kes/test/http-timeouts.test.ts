// Per-API time limits over real mTLS: a client that sends a request's headers and only part of its body
// gets 503 "request timed out" after the route's limit (here set to 1 s by the config's `api:` section) and
// its connection is closed; the refused call is audited; /v1/api reports the configured limit; a request
// that arrives whole is served as before.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { startTestServer, type TestServer } from './helpers/server.js';

let ts: TestServer;

before(async () => {
  ts = await startTestServer({ keys: ['slow-key'], api: { '/v1/key/generate': { timeout: '1s' } } });
});
after(() => ts.close());

test('/v1/api reports the configured limit; other routes keep their own', async () => {
  const res = await ts.get('/v1/api', ts.pki.admin).expect(200);
  const byPath = new Map(
    (res.body as Array<{ method: string; path: string; timeout: number }>).map((r) => [`${r.method} ${r.path}`, r.timeout]),
  );
  assert.equal(byPath.get('PUT /v1/key/generate/'), 1);
  assert.equal(byPath.get('PUT /v1/key/decrypt/'), 15);
  assert.equal(byPath.get('GET /v1/log/audit'), 0);
});

test('a request whose body stalls gets 503 after the limit and its connection is closed; a whole one is served', async () => {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: ts.srv.port,
    ca: ts.pki.ca.cert,
    cert: ts.pki.admin.cert,
    key: ts.pki.admin.key,
    servername: 'localhost',
  });
  await once(socket, 'secureConnect');
  let answer = '';
  socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
  socket.write(
    'PUT /v1/key/generate/slow-key HTTP/1.1\r\nHost: kes\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"context":',
  );
  await once(socket, 'close');
  assert.match(answer, /^HTTP\/1\.1 503 /);
  assert.match(answer, /\r\nconnection: close\r\n/i);
  assert.match(answer, /"message":"request timed out after 1s"/);
  // Audit lines are appended in the background: wait for the line, then check it.
  const audited = (): boolean =>
    readFileSync(ts.auditPath, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { path: string; key?: string; status: number })
      .some((e) => e.path === '/v1/key/generate/slow-key' && e.key === 'slow-key' && e.status === 503);
  for (let i = 0; i < 100 && !audited(); i++) await sleep(20);
  assert.ok(audited(), 'the refused call is audited');

  const ok = await ts.put('/v1/key/generate/slow-key', ts.pki.admin, {}).expect(200);
  assert.equal(typeof (ok.body as { plaintext: string }).plaintext, 'string');
});
