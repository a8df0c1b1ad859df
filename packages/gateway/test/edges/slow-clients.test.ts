// Broken and greedy client connections: each failed connection is a debug line and a counter, the operator
// gets one warn line per period that counts them by cause (not one line per connection), and one client
// address cannot hold more than limits.connectionsPerClient open connections.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { s3Error } from '../helpers/s3.js';

interface LogLine {
  level: number;
  msg: string;
  total?: number;
  byCause?: Record<string, number>;
  cause?: string;
}

/** A pino logger at debug whose lines land in `lines`. */
function capturingLogger(lines: LogLine[]) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return pino({ level: 'debug' }, sink);
}

const WARN = 40;

/** Sends `payload` on a new connection and resolves with what came back when the server closed it. */
function exchange(port: number, payload: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    s.write(payload);
  });
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

async function metric(st: Stack, cause: string): Promise<number> {
  const text = await (await fetch(`${st.gw.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('kesgate_client_connection_problems_total{') && l.includes(`cause="${cause}"`))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

describe('broken client connections are counted and summarised, not logged one warn line each', () => {
  const lines: LogLine[] = [];
  let st: Stack;
  before(async () => {
    st = await startStack({ gatewayOptions: { logger: capturingLogger(lines), connectionSummaryEveryMs: 300 } });
  });
  after(async () => st?.close());

  test('300 malformed requests and 40 plain-HTTP-on-TLS connections: each answered, one summary per period', async () => {
    const started = Date.now();
    const garbage = await Promise.all(Array.from({ length: 300 }, () => exchange(portOf(st.gw.url), 'NOT HTTP AT ALL\r\n\r\n')));
    assert.ok(
      garbage.every((reply) => reply.startsWith('HTTP/1.1 400 Bad Request')),
      'every malformed request gets a 400',
    );
    await Promise.all(Array.from({ length: 40 }, () => exchange(portOf(st.gw.httpsUrl!), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')));
    await sleep(700);

    const warns = lines.filter((l) => l.level >= WARN);
    const periods = Math.ceil((Date.now() - started) / 300) + 1;
    assert.ok(
      warns.length >= 1 && warns.length <= periods,
      `at most one summary line per period (${periods}), not one per connection: ${warns.length}`,
    );
    assert.ok(
      warns.every((l) => /client connection problem\(s\) in the last/.test(l.msg)),
      JSON.stringify(warns),
    );
    const total = warns.reduce((n, l) => n + (l.total ?? 0), 0);
    assert.equal(total, 340, `the summaries count every failed connection: ${JSON.stringify(warns.map((w) => w.byCause))}`);
    const byCause = warns.reduce<Record<string, number>>((acc, l) => {
      for (const [k, v] of Object.entries(l.byCause ?? {})) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {});
    assert.equal(
      Object.entries(byCause)
        .filter(([k]) => k.startsWith('http '))
        .reduce((n, [, v]) => n + v, 0),
      300,
    );
    assert.equal(
      Object.entries(byCause)
        .filter(([k]) => k.startsWith('https '))
        .reduce((n, [, v]) => n + v, 0),
      40,
    );
    assert.equal(lines.filter((l) => l.msg === 'client connection problem').length, 340, 'each one at debug');
    assert.equal((await metric(st, 'HPE_INVALID_METHOD')) + (await metric(st, 'HPE_INVALID_CONSTANT')) > 0, true);
  });
});

describe('limits.connectionsPerClient', () => {
  const lines: LogLine[] = [];
  let st: Stack;
  const held: Socket[] = [];
  before(async () => {
    st = await startStack({
      gateway: { limits: { connectionsPerClient: 4 } },
      gatewayOptions: { logger: capturingLogger(lines), connectionSummaryEveryMs: 300 },
    });
    await st.s3.send(new CreateBucketCommand({ Bucket: 'limited' }));
    st.s3.destroy(); // its keep-alive sockets would count against the limit
  });
  after(async () => {
    for (const s of held) s.destroy();
    await st?.close();
  });

  test('a fifth connection from one address is closed at once and nothing is written; a freed slot serves again', async () => {
    const client = () =>
      new S3Client({
        endpoint: st.gw.url,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
        maxAttempts: 1,
      });
    // Wait until the SDK's sockets closed on the server side too.
    await sleep(200);
    for (let i = 0; i < 4; i++) {
      const s = connect(portOf(st.gw.url), '127.0.0.1');
      await new Promise((resolve) => s.once('connect', resolve));
      held.push(s);
    }
    // TLS too: the limit counts raw connections, before any handshake.
    const refusedTls = await new Promise<string>((resolve) => {
      const s = tlsConnect({ port: portOf(st.gw.httpsUrl!), host: '127.0.0.1', rejectUnauthorized: false });
      held.push(s);
      s.on('secureConnect', () => resolve('handshake'));
      s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      s.on('close', () => resolve('closed'));
    });
    assert.notEqual(refusedTls, 'handshake');

    const c1 = client();
    const refused = await c1.send(new PutObjectCommand({ Bucket: 'limited', Key: 'k', Body: 'data' })).then(
      () => 'stored',
      (err: Error & { code?: string }) => err.code ?? err.name,
    );
    c1.destroy();
    assert.match(refused, /ECONNRESET|EPIPE|socket hang up|TimeoutError|NetworkingError/);

    held.shift()!.destroy();
    await sleep(200);
    const c2 = client();
    try {
      const missing = await s3Error(c2.send(new GetObjectCommand({ Bucket: 'limited', Key: 'k' })));
      assert.equal(missing.status, 404, 'the refused PUT wrote nothing');
      assert.equal(missing.code, 'NoSuchKey');
      await c2.send(new PutObjectCommand({ Bucket: 'limited', Key: 'k', Body: 'data' }));
      const got = await c2.send(new GetObjectCommand({ Bucket: 'limited', Key: 'k' }));
      assert.equal(await got.Body!.transformToString(), 'data');
    } finally {
      c2.destroy();
    }
    for (const s of held.splice(0)) s.destroy();
    await sleep(200);
    assert.ok((await metric(st, 'over-limit')) >= 2, 'the refused plain and TLS connections are counted');
    assert.ok(lines.some((l) => l.cause === 'over-limit'));
  });
});
