// kes's log (one JSON shape on stdout, request lines, probes at debug), its size-rotated audit file and
// its metrics (per-route latency histogram, the optional bearer token on /v1/metrics), on real servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../src/config/config.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** Captures log lines as the server writes them. */
function capture(): { lines: string[]; write(line: string): void; entries(): Record<string, unknown>[] } {
  const lines: string[] = [];
  return {
    lines,
    write: (line: string) => void lines.push(...line.split('\n').filter((l) => l !== '')),
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

function assertShape(e: Record<string, unknown>): void {
  assert.ok(LEVELS.includes(e.level as string), `level is a label: ${JSON.stringify(e)}`);
  assert.match(e.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'time is an ISO string');
  assert.equal(e.service, 'kes');
  assert.equal(typeof e.pid, 'number');
  assert.equal(typeof e.msg, 'string');
}

async function probe(ts: TestServer): Promise<void> {
  await ts.get('/v1/ready', ts.pki.admin).expect(200);
  await ts.get('/v1/status', ts.pki.admin).expect(200);
  await ts.get('/v1/metrics', ts.pki.admin).expect(200);
  await ts.get('/version').expect(200);
}

test('the log: JSON lines of one shape; a request line per request with who, bytes and agent; probes only at debug; no secrets', async () => {
  const out = capture();
  const ts = await startTestServer({ keys: ['logged'], log: { error: 'on', level: 'info', audit: 'off' }, logDestination: out });
  const secrets: string[] = [];
  try {
    await probe(ts);
    const context = randomBytes(16).toString('base64');
    const g = await ts.put('/v1/key/generate/logged', ts.pki.admin, { context }).set('User-Agent', 'log-test/1.0').expect(200);
    secrets.push(g.body.plaintext, g.body.ciphertext, context, ...ts.shares);
    await ts.put('/v1/key/generate/missing', ts.pki.admin, {}).expect(404);
  } finally {
    await ts.close();
  }
  assert.ok(out.lines.length > 0);
  const entries = out.entries(); // every line parses as JSON
  for (const e of entries) assertShape(e);
  const requests = entries.filter((e) => e.msg === 'request');
  assert.deepEqual(
    requests.map((e) => [e.level, e.op, e.status]),
    [
      ['info', '/v1/key/generate/', 200],
      ['info', '/v1/key/generate/', 404],
    ],
    'probes (/v1/ready, /v1/status, /v1/metrics, /version) are not logged at info',
  );
  const ok = requests[0]!;
  assert.equal(ok.method, 'PUT');
  assert.equal(ok.path, '/v1/key/generate/logged');
  assert.equal(ok.identity, ts.pki.admin.identity);
  assert.match(ok.remote as string, /127\.0\.0\.1/);
  assert.equal(ok.userAgent, 'log-test/1.0');
  assert.ok((ok.bytesIn as number) > 0 && (ok.bytesOut as number) > 0, 'bytes in and out');
  assert.equal(typeof ok.ms, 'number');
  assert.ok(entries.some((e) => e.msg === 'kes server listening'));
  const text = out.lines.join('\n');
  for (const s of secrets) assert.ok(!text.includes(s), 'no key material, context or share in the log');
});

test('at debug, health probes and metric scrapes are logged too', async () => {
  const out = capture();
  const ts = await startTestServer({ log: { error: 'on', level: 'debug', audit: 'off' }, logDestination: out });
  try {
    await probe(ts);
  } finally {
    await ts.close();
  }
  const probes = out.entries().filter((e) => e.msg === 'request');
  assert.deepEqual(
    probes.map((e) => [e.level, e.op, e.status]),
    [
      ['debug', '/v1/ready', 200],
      ['debug', '/v1/status', 200],
      ['debug', '/v1/metrics', 200],
      ['debug', '/version', 200],
    ],
  );
});

test('the audit file rotates by size: no entry lost across the files, at most `keep` rotated files', async () => {
  const maxBytes = 4096;
  const ts = await startTestServer({
    keys: ['rotated'],
    log: { error: 'off', audit: { file: 'data/audit.log', max_bytes: maxBytes, keep: 100 } },
  });
  const n = 60;
  try {
    for (let i = 0; i < n; i++) await ts.put('/v1/key/generate/rotated', ts.pki.admin, {}).expect(200);
    await ts.srv.flushAudit();
  } finally {
    await ts.close();
  }
  const dir = join(ts.dir, 'data');
  const files = readdirSync(dir).filter((f) => /^audit\.log(\.\d+)?$/.test(f));
  assert.ok(files.length >= 3, `the file rotated (${files.join(', ')})`);
  let entries = 0;
  for (const f of files) {
    const lines = readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    const longest = Math.max(0, ...lines.map((l) => l.length + 1));
    assert.ok(
      statSync(join(dir, f)).size <= maxBytes + longest,
      `${f} stays near max_bytes: ${statSync(join(dir, f)).size} bytes, lines up to ${longest}`,
    );
    entries += lines.map((l) => JSON.parse(l) as { path: string }).filter((l) => l.path === '/v1/key/generate/rotated').length;
  }
  assert.equal(entries, n, 'every audit entry is in one of the files');

  const kept = await startTestServer({
    keys: ['rotated'],
    log: { error: 'off', audit: { file: 'data/audit.log', max_bytes: 1024, keep: 2 } },
  });
  try {
    for (let i = 0; i < 30; i++) await kept.put('/v1/key/generate/rotated', kept.pki.admin, {}).expect(200);
    await kept.srv.flushAudit();
  } finally {
    await kept.close();
  }
  assert.deepEqual(
    readdirSync(join(kept.dir, 'data'))
      .filter((f) => f.startsWith('audit.log'))
      .sort(),
    ['audit.log', 'audit.log.1', 'audit.log.2'],
  );
});

test('kes_http_request_duration_seconds has buckets per API route', async () => {
  const ts = await startTestServer({ keys: ['timed'] });
  try {
    await ts.put('/v1/key/generate/timed', ts.pki.admin, {}).expect(200);
    const text = (await ts.get('/v1/metrics', ts.pki.admin).expect(200)).text;
    assert.match(text, /kes_http_request_duration_seconds_bucket\{le="0\.005",api="\/v1\/key\/generate\/"\} \d/);
    assert.match(text, /kes_http_request_duration_seconds_count\{api="\/v1\/key\/generate\/"\} 1\b/);
  } finally {
    await ts.close();
  }
});

test('metrics.bearer_token: /v1/metrics answers the token without a certificate, 401 without or with another; certificates still work', async () => {
  const token = randomBytes(24).toString('hex');
  const out = capture();
  const ts = await startTestServer({
    metrics: { bearer_token: token },
    log: { error: 'on', level: 'debug', audit: 'off' },
    logDestination: out,
  });
  try {
    const none = await ts.get('/v1/metrics');
    assert.equal(none.status, 401);
    assert.match(none.body.message, /bearer token/);
    assert.match(none.headers['www-authenticate'] ?? '', /^Bearer /);
    const wrong = await ts.get('/v1/metrics').set('Authorization', `Bearer ${randomBytes(24).toString('hex')}`);
    assert.equal(wrong.status, 401);
    assert.ok(!wrong.text.includes('kes_http_request'));
    const withToken = await ts.get('/v1/metrics').set('Authorization', `Bearer ${token}`);
    assert.equal(withToken.status, 200);
    assert.match(withToken.text, /kes_http_request_success/);
    assert.equal((await ts.get('/v1/metrics', ts.pki.admin)).status, 200, 'the admin certificate still reads the metrics');
    assert.equal((await ts.get('/v1/metrics', ts.pki.gateway)).status, 403, 'a certificate whose policy does not allow /v1/metrics');
  } finally {
    await ts.close();
  }
  assert.ok(!out.lines.join('\n').includes(token), 'the token never reaches the log');

  // skip_auth opened the route to anyone; with a token configured, the token is needed.
  const open = await startTestServer({ metrics: { bearer_token: token }, api: { '/v1/metrics': { skip_auth: true } } });
  try {
    assert.equal((await open.get('/v1/metrics')).status, 401);
    assert.equal((await open.get('/v1/metrics').set('Authorization', `Bearer ${token}`)).status, 200);
  } finally {
    await open.close();
  }
  const unset = await startTestServer({ api: { '/v1/metrics': { skip_auth: true } } });
  try {
    assert.equal((await unset.get('/v1/metrics')).status, 200, 'without a token nothing changes');
  } finally {
    await unset.close();
  }
});

test('log.audit: stdout writes audit entries in the log shape, even with log.error off', async () => {
  const out = capture();
  const ts = await startTestServer({ keys: ['seen'], log: { error: 'off', audit: 'stdout' }, logDestination: out });
  try {
    await ts.put('/v1/key/generate/seen', ts.pki.admin, {}).expect(200);
  } finally {
    await ts.close();
  }
  const entries = out.entries();
  for (const e of entries) assertShape(e);
  assert.deepEqual(
    entries.map((e) => [e.level, e.msg, (e.audit as { path: string; status: number }).path, (e.audit as { status: number }).status]),
    [['info', 'audit', '/v1/key/generate/seen', 200]],
    'only the audit entry: the server log is off',
  );
});

test('config: log.level (any case), log.format, log.audit as { file, max_bytes, keep }, metrics.bearer_token; errors name the field', () => {
  const base = { tls: { key: 'k', cert: 'c' }, keystore: { sqlite: { path: 'db' } } };
  const c = parseConfig(
    {
      ...base,
      log: { level: 'DEBUG', format: 'pretty', audit: { file: 'a.log', max_bytes: 0, keep: 3 } },
      metrics: { bearer_token: 'x'.repeat(16) },
    },
    { baseDir: '/srv' },
  );
  assert.deepEqual(c.log, { error: true, level: 'debug', format: 'pretty', audit: '/srv/a.log', auditRotate: { maxBytes: 0, keep: 3 } });
  assert.equal(c.metrics.bearerToken, 'x'.repeat(16));
  for (const [log, field] of [
    [{ level: 'loud' }, 'log.level'],
    [{ format: 'xml' }, 'log.format'],
    [{ audit: { file: 'a', max_bytes: -1 } }, 'log.audit'],
    [{ rotate: true }, 'log'],
  ] as const) {
    assert.throws(
      () => parseConfig({ ...base, log }, { baseDir: '/' }),
      (e: Error) => e.message.includes(field),
      JSON.stringify(log),
    );
  }
  assert.throws(
    () => parseConfig({ ...base, metrics: { bearer_token: 'short' } }, { baseDir: '/' }),
    /metrics\.bearer_token: expected at least 16 characters/,
  );
});
