// `kesgate server` stopped by SIGTERM ends within a bound (shutdown.drainSeconds): it stops accepting, closes
// idle keep-alive connections at once, lets requests in flight finish during the drain (their responses say
// `Connection: close`), and cuts what is still running at the deadline — a client that never reads its
// response no longer holds the process up, and an upload cut mid-body stores nothing.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { cleanEnv, KESGATE_BIN } from '../helpers/cli.js';
import {
  ACCESS_KEY,
  dataFileHashes,
  gatewayFiles,
  getBytes,
  REGION,
  SECRET_KEY,
  startKes,
  type GatewayFiles,
  type TestKes,
} from '../admin/helpers.js';
import { RawClient } from '../edges/raw.js';
import { head, Wire } from '../edges/wire.js';
import { pki } from '../helpers/pki.js';

const MiB = 1024 * 1024;
const BUCKET = 'drain';
/** Larger than what loopback's socket buffers hold, so a client that does not read keeps its GET running. */
const BIG = randomBytes(24 * MiB);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Gateway {
  child: ChildProcess;
  port: number;
  /** The HTTPS listener's port. */
  tlsPort: number;
  exited: Promise<number | null>;
  /** The JSON log lines so far. */
  log: { msg?: string; connectionsCut?: number; drainSeconds?: number }[];
  /** Resolves with the first log line whose msg `match` accepts. */
  line(match: (msg: string) => boolean): Promise<Gateway['log'][number]>;
  s3: S3Client;
}

function writeConfig(files: GatewayFiles, kes: TestKes, drainSeconds?: number): string {
  const file = join(files.dir, 'gateway.yaml');
  writeFileSync(join(files.dir, 's3.crt'), pki().server.cert);
  writeFileSync(join(files.dir, 's3.key'), pki().server.key, { mode: 0o600 });
  writeFileSync(
    file,
    [
      'address: 127.0.0.1:0',
      'tls: { address: 127.0.0.1:0, cert: s3.crt, key: s3.key }',
      `region: ${REGION}`,
      `credentials: { accessKey: ${ACCESS_KEY}, secretKey: ${SECRET_KEY} }`,
      `backend: { fs: { path: ${files.dataDir} } }`,
      `kms: { endpoints: [${kes.url}], cert: gateway.crt, key: gateway.key, ca: ca.crt, defaultKey: kesgate-default }`,
      ...(drainSeconds === undefined ? [] : [`shutdown: { drainSeconds: ${drainSeconds} }`]),
      '',
    ].join('\n'),
  );
  return file;
}

function startGatewayProcess(config: string): Promise<Gateway> {
  const child = spawn(process.execPath, [KESGATE_BIN, 'server', '--config', config], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const log: Gateway['log'] = [];
  const waiting: { match: (msg: string) => boolean; resolve: (l: Gateway['log'][number]) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let entry: Gateway['log'][number];
    try {
      entry = JSON.parse(text) as Gateway['log'][number];
    } catch {
      return;
    }
    log.push(entry);
    for (const w of [...waiting]) {
      if (!w.match(entry.msg ?? '')) continue;
      waiting.splice(waiting.indexOf(w), 1);
      w.resolve(entry);
    }
  });
  const line = (match: (msg: string) => boolean): Promise<Gateway['log'][number]> =>
    new Promise((resolve, reject) => {
      const hit = log.find((l) => match(l.msg ?? ''));
      if (hit) return resolve(hit);
      waiting.push({ match, resolve });
      void exited.then(() => reject(new Error(`kesgate server exited before the log line: ${stderr}`)));
    });
  return line((m) => m === 'kesgate server ready').then((ready) => {
    const { url, httpsUrl } = ready as { url: string; httpsUrl: string };
    const s3 = new S3Client({
      endpoint: url,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      maxAttempts: 1,
    });
    return { child, port: Number(new URL(url).port), tlsPort: Number(new URL(httpsUrl).port), exited, log, line, s3 };
  });
}

/**
 * A GET on a connection of its own (TLS with `ca`) that reads the response's first bytes and then stops reading
 * (until `readAll`).
 */
async function heldGet(
  port: number,
  path: string,
  ca?: string,
): Promise<{ socket: net.Socket; readAll(): Promise<{ head: string; body: Buffer }> }> {
  const headers = await new RawClient(port, ACCESS_KEY, SECRET_KEY).sign({ method: 'GET', path });
  const socket = ca ? tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost' }) : net.connect(port, '127.0.0.1');
  await once(socket, ca ? 'secureConnect' : 'connect');
  socket.write(head('GET', path, headers));
  const chunks: Buffer[] = [];
  const collect = (c: Buffer): number => chunks.push(c);
  socket.on('data', collect);
  socket.on('error', () => undefined);
  await once(socket, 'data');
  socket.pause();
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    async readAll() {
      socket.resume();
      await ended;
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      return { head: all.subarray(0, end).toString('latin1'), body: all.subarray(end + 4) };
    },
  };
}

/** A PUT of `size` bytes that has sent its head (100-continue) and `first` bytes, and waits for the rest. */
async function slowPut(port: number, path: string, size: number, first: Buffer): Promise<Wire> {
  const headers = await new RawClient(port, ACCESS_KEY, SECRET_KEY).sign(
    { method: 'PUT', path, headers: { 'content-length': String(size) } },
    { payloadHash: 'UNSIGNED-PAYLOAD' },
  );
  const wire = await Wire.open(port);
  await wire.write(head('PUT', path, { ...headers, expect: '100-continue' }));
  // The gateway asks for the body once its handler reads it: from then on the request is in flight.
  while (!wire.sawContinue() && !wire.closed) await sleep(5);
  assert.deepEqual(wire.interim, [100], 'the gateway asked for the body');
  assert.equal(await wire.write(first), true);
  return wire;
}

/**
 * Whether a new connection is served: a health check on a connection of its own gets an answer. (A connect
 * alone may succeed into the kernel's backlog just before the listener closes; that connection is reset.)
 */
async function served(port: number): Promise<boolean> {
  try {
    const wire = await Wire.open(port);
    await wire.write(head('GET', '/kesgate/health', { host: `127.0.0.1:${port}` }));
    const answer = await wire.answer();
    wire.close();
    return answer !== undefined;
  } catch {
    return false;
  }
}

describe('kesgate server: a bounded shutdown', () => {
  let kes: TestKes;
  const running: Gateway[] = [];
  const start = async (config: string): Promise<Gateway> => {
    const gw = await startGatewayProcess(config);
    running.push(gw);
    return gw;
  };

  before(async () => {
    kes = await startKes();
  });
  after(async () => {
    for (const gw of running) {
      gw.s3.destroy();
      if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
      await gw.exited;
    }
    await kes?.close();
  });

  test('with a 1 s drain, SIGTERM ends the process although a client never reads its response; the upload cut mid-body stored nothing', async () => {
    const files = gatewayFiles();
    const config = writeConfig(files, kes, 1);
    const gw = await start(config);
    await gw.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await gw.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big', Body: BIG }));
    const before = dataFileHashes(files.dataDir);

    // Idle keep-alive connections, GETs whose clients stopped reading (HTTP, HTTPS), and an upload stalled mid-body.
    const idle = await Wire.open(gw.port);
    await idle.write(head('GET', '/kesgate/health', { host: `127.0.0.1:${gw.port}` }));
    assert.equal((await idle.answer())?.status, 200);
    const idleTls = await Wire.open(gw.tlsPort, pki().ca.cert);
    await idleTls.write(head('GET', '/kesgate/health', { host: `127.0.0.1:${gw.tlsPort}` }));
    assert.equal((await idleTls.answer())?.status, 200);
    const get = await heldGet(gw.port, `/${BUCKET}/big`);
    const getTls = await heldGet(gw.tlsPort, `/${BUCKET}/big`, pki().ca.cert);
    const put = await slowPut(gw.port, `/${BUCKET}/cut`, 4 * MiB, randomBytes(256 * 1024));

    gw.child.kill('SIGTERM');
    assert.equal(await gw.exited, 0, 'the process exits by itself, with 0');
    assert.equal(get.socket.destroyed, false, 'the process exited while the reader still held its connection');
    const cut = gw.log.filter((l) => l.connectionsCut !== undefined);
    assert.deepEqual(
      cut.map((l) => [l.connectionsCut, l.drainSeconds]),
      [[3, 1]],
      'one log line counts the three connections cut',
    );

    // The idle connections were closed cleanly; the other three got no complete answer.
    for (const wire of [idle, idleTls]) {
      await wire.untilClosed();
      assert.equal(wire.ended, true, 'the idle connection got a FIN');
    }
    for (const held of [get, getTls]) {
      const got = await held.readAll();
      assert.match(got.head, /^HTTP\/1.1 200/);
      assert.ok(got.body.length < BIG.length, `the GET was cut: ${got.body.length} of ${BIG.length} bytes`);
    }
    assert.equal(await put.answer(), undefined, 'the cut upload got no answer');
    await put.untilClosed();

    // Nothing of the cut upload is visible or left behind; what was stored before is intact.
    const again = await start(writeConfig(files, kes));
    const missing = await again.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'cut' })).catch((e: unknown) => e);
    assert.equal((missing as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 404);
    assert.equal((missing as Error).name, 'NotFound');
    const listed = await again.s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    assert.deepEqual(
      listed.Contents?.map((o) => o.Key),
      ['big'],
    );
    assert.deepEqual(dataFileHashes(files.dataDir), before, 'no data file was added or changed');
    assert.equal(sha(await getBytes(again.s3, BUCKET, 'big')), sha(BIG));
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
  });

  test('requests in flight at SIGTERM finish inside the drain period: no new connection is accepted, the GET and the PUT succeed', async () => {
    const files = gatewayFiles();
    const gw = await start(writeConfig(files, kes, 300));
    await gw.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await gw.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big', Body: BIG }));
    const body = randomBytes(4 * MiB);
    const get = await heldGet(gw.port, `/${BUCKET}/big`);
    const put = await slowPut(gw.port, `/${BUCKET}/finished`, body.length, body.subarray(0, 256 * 1024));

    gw.child.kill('SIGTERM');
    await gw.line((m) => m.startsWith('stopping'));
    assert.equal(await served(gw.port), false, 'no new connection is served once stopping');

    assert.equal(await put.write(body.subarray(256 * 1024)), true);
    const answer = await put.answer();
    assert.equal(answer?.status, 200, answer?.body);
    assert.equal(answer.headers.connection, 'close', 'a response finished during the drain ends its connection');
    const got = await get.readAll();
    assert.match(got.head, /^HTTP\/1.1 200/);
    assert.equal(sha(got.body), sha(BIG), 'the held GET got its whole object');

    assert.equal(await gw.exited, 0);
    const done = gw.log.find((l) => l.connectionsCut !== undefined);
    assert.equal(done?.connectionsCut, 0, 'nothing was cut');

    const again = await start(writeConfig(files, kes));
    assert.equal(sha(await getBytes(again.s3, BUCKET, 'finished')), sha(body));
    again.child.kill('SIGTERM');
    assert.equal(await again.exited, 0);
  });
});
