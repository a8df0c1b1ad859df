// Benchmark of kes generate and decrypt under 32 concurrent keep-alive mTLS clients, beside an
// empty JSON route served by an express app on the same TLS options in the same server process.
// The ratios (generate ops/s ÷ empty ops/s, decrypt ÷ empty) are the figures; absolute numbers
// depend on the machine and its load. The servers run in a child process, the load in this one,
// so client and server do not share an event loop. The figures are measured in interleaved
// one-second rounds (baseline, generate, decrypt, baseline, …) so that load from other processes
// on a shared machine weighs on all of them alike.
// A second kes in the same server process keeps its keys in a throwaway PostgreSQL (started here);
// its generate is printed beside the SQLite kes's, as a ratio (target ≥ 0.8×): what running kes as a
// cluster costs per request. Without PostgreSQL installed that figure is skipped.
// Run: npm run bench -- kes   (node --import tsx scripts/bench/kes.ts)
// Env: KES_BENCH_SECONDS (per figure, default 5), KES_BENCH_CLIENTS (default 32),
//      KES_BENCH_PROFILE=<dir> (write a CPU profile of the server process there),
//      KES_BENCH_AUDIT=off (no audit file),
//      KES_BENCH_ONLY=<generate|decrypt|baseline> (measure mainly that figure, e.g. for a profile).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { createCA, initStore, issueServerCert, selfSignedClientCert, startServer, identityOf } from '@kesgate/kes';
import { postgresMissing, startPostgres, type PostgresCluster } from '../lib/postgres.js';

const SECONDS = Number(process.env.KES_BENCH_SECONDS ?? 5);
const CLIENTS = Number(process.env.KES_BENCH_CLIENTS ?? 32);

interface Setup {
  dir: string;
  ca: string;
  client: { key: string; cert: string };
}

/** Child process: the kes servers (SQLite, and PostgreSQL when configured) and the baseline app, same TLS options. Prints their ports. */
async function serve(dir: string): Promise<void> {
  const srv = await startServer(join(dir, 'kes.yml'));
  const { existsSync } = await import('node:fs');
  const pgSrv = existsSync(join(dir, 'kes-pg.yml')) ? await startServer(join(dir, 'kes-pg.yml')) : undefined;
  const tls = {
    key: await import('node:fs').then((fs) => fs.readFileSync(join(dir, 'server.key'))),
    cert: await import('node:fs').then((fs) => fs.readFileSync(join(dir, 'server.crt'))),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2' as const,
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // The baseline checks for a client certificate once per connection (kes computes the identity
  // once per connection too), then answers an empty JSON object.
  const checked = new WeakSet<object>();
  app.put('/empty', (req, res) => {
    const socket = req.socket as import('node:tls').TLSSocket;
    if (!checked.has(socket)) {
      if (!socket.getPeerCertificate().raw) {
        res.status(403).end();
        return;
      }
      checked.add(socket);
    }
    res.setHeader('Content-Type', 'application/json');
    res.end('{}');
  });
  const baseline = createServer(tls, app);
  baseline.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => baseline.listen(0, '127.0.0.1', r));
  const port = (baseline.address() as import('node:net').AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ kes: srv.port, kesPg: pgSrv?.port, baseline: port })}\n`);
  // A clean exit on SIGTERM lets `node --cpu-prof` write the server's profile.
  process.once('SIGTERM', () => process.exit(0));
  // The parent reads this process's CPU time around each round.
  process.on('message', () => process.send?.(process.cpuUsage()));
}

function setup(postgresUrl: string | undefined): Setup {
  const dir = mkdtempSync(join(tmpdir(), 'kes-bench-'));
  const ca = createCA('kes bench CA');
  const server = issueServerCert(ca, ['localhost', '127.0.0.1']);
  const client = selfSignedClientCert('bench');
  writeFileSync(join(dir, 'server.key'), server.key);
  writeFileSync(join(dir, 'server.crt'), server.cert);
  const config = (keystore: string, unseal: string, audit: string) => `address: 127.0.0.1:0
admin: { identity: ${identityOf(client.cert)} }
tls: { key: server.key, cert: server.crt }
keystore: ${keystore}
unseal: { file: ${unseal} }
log: { error: off, audit: ${process.env.KES_BENCH_AUDIT === 'off' ? 'off' : audit} }
keys: [ { name: bench-key } ]
`;
  writeFileSync(join(dir, 'kes.yml'), config('{ sqlite: { path: data/kes.db } }', 'unseal.key', 'data/audit.log'));
  if (postgresUrl)
    writeFileSync(join(dir, 'kes-pg.yml'), config(`{ postgres: { url: "${postgresUrl}" } }`, 'unseal-pg.key', 'data/audit-pg.log'));
  return { dir, ca: ca.cert, client };
}

interface Sample {
  latencies: number[];
  seconds: number;
  errors: number;
  /** CPU time of the server process during the round, µs. */
  serverCpu: number;
}

interface Result {
  opsPerSec: number;
  /** Server CPU time per request, µs: independent of other load on a shared machine. */
  cpuPerOp: number;
  p50: number;
  p99: number;
  errors: number;
}

function send(agent: Agent, port: number, path: string, body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'PUT',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

type CpuProbe = () => Promise<number>;

/** CLIENTS concurrent request loops for `seconds`. */
async function round(agent: Agent, port: number, path: string, body: Buffer, seconds: number, cpu: CpuProbe): Promise<Sample> {
  const cpuBefore = await cpu();
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const r = await send(agent, port, path, body);
      if (r.status === 200) latencies.push(performance.now() - t);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, loop));
  const elapsed = (performance.now() - start) / 1000;
  return { latencies, seconds: elapsed, errors, serverCpu: (await cpu()) - cpuBefore };
}

function summarize(samples: Sample[]): Result {
  const latencies = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const seconds = samples.reduce((t, s) => t + s.seconds, 0);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  const cpu = samples.reduce((t, s) => t + s.serverCpu, 0);
  return {
    opsPerSec: latencies.length / seconds,
    cpuPerOp: cpu / Math.max(1, latencies.length),
    p50: pct(0.5),
    p99: pct(0.99),
    errors: samples.reduce((t, s) => t + s.errors, 0),
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'serve') return serve(process.argv[3]!);

  let pgCluster: PostgresCluster | undefined;
  const missing = postgresMissing();
  if (missing) console.log(`PostgreSQL keystore figure skipped: ${missing}`);
  else pgCluster = await startPostgres();
  const s = setup(pgCluster && (await pgCluster.createDatabase('kes', { user: 'kes', password: 'kes-bench' })));
  const init = await initStore(join(s.dir, 'kes.yml'), { shares: 1, threshold: 1 });
  writeFileSync(join(s.dir, 'unseal.key'), `${init.shares[0]}\n`);
  if (pgCluster) {
    const pgInit = await initStore(join(s.dir, 'kes-pg.yml'), { shares: 1, threshold: 1 });
    writeFileSync(join(s.dir, 'unseal-pg.key'), `${pgInit.shares[0]}\n`);
  }
  const profile = process.env.KES_BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.KES_BENCH_PROFILE}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', fileURLToPath(import.meta.url), 'serve', s.dir], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const cpu: CpuProbe = () =>
    new Promise((resolve) => {
      child.once('message', (u) => resolve((u as NodeJS.CpuUsage).user + (u as NodeJS.CpuUsage).system));
      child.send('cpu');
    });
  try {
    const ports = await new Promise<{ kes: number; kesPg?: number; baseline: number }>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))) as { kes: number; kesPg?: number; baseline: number });
      });
      child.once('exit', (code) => reject(new Error(`server process exited (${code})`)));
    });
    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS, key: s.client.key, cert: s.client.cert, ca: s.ca });
    const empty = Buffer.from('{}');
    const dek = await send(agent, ports.kes, '/v1/key/generate/bench-key', empty);
    if (dek.status !== 200) throw new Error(`generate failed: ${dek.status} ${dek.body.toString()}`);
    const decryptBody = Buffer.from(JSON.stringify({ ciphertext: (JSON.parse(dek.body.toString()) as { ciphertext: string }).ciphertext }));

    const figures = [
      { name: 'baseline: empty JSON route', port: ports.baseline, path: '/empty', body: empty, samples: [] as Sample[] },
      { name: 'kes generate', port: ports.kes, path: '/v1/key/generate/bench-key', body: empty, samples: [] as Sample[] },
      { name: 'kes decrypt', port: ports.kes, path: '/v1/key/decrypt/bench-key', body: decryptBody, samples: [] as Sample[] },
      ...(ports.kesPg === undefined
        ? []
        : [
            {
              name: 'kes generate (PostgreSQL)',
              port: ports.kesPg,
              path: '/v1/key/generate/bench-key',
              body: empty,
              samples: [] as Sample[],
            },
          ]),
    ];
    if (ports.kesPg !== undefined) {
      const r = await send(agent, ports.kesPg, '/v1/key/generate/bench-key', empty);
      if (r.status !== 200) throw new Error(`generate on the PostgreSQL keystore failed: ${r.status} ${r.body.toString()}`);
    }
    // Warm up every path (TLS sessions for all sockets, JIT), then interleave one-second rounds.
    for (const f of figures) await round(agent, f.port, f.path, f.body, 1, cpu);
    // KES_BENCH_ONLY=generate (or decrypt, baseline) measures one figure alone, e.g. to profile it.
    const only = process.env.KES_BENCH_ONLY;
    for (let r = 0; r < SECONDS; r++) {
      for (const f of figures) f.samples.push(await round(agent, f.port, f.path, f.body, only && !f.name.includes(only) ? 0.05 : 1, cpu));
    }
    agent.destroy();

    const [base, gen, dec, genPg] = figures.map((f) => summarize(f.samples)) as [Result, Result, Result, Result | undefined];
    const row = (name: string, r: Result, ratio?: number) =>
      `${name.padEnd(28)} ${r.opsPerSec.toFixed(0).padStart(7)} ops/s  p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(6)} ms` +
      `  server CPU ${r.cpuPerOp.toFixed(0).padStart(4)} µs/op` +
      `${r.errors ? `  errors ${r.errors}` : ''}${ratio === undefined ? '' : `  ${ratio.toFixed(2)}× baseline ops/s, ${(base.cpuPerOp / r.cpuPerOp).toFixed(2)}× by CPU/op`}`;
    console.log(
      `kes over mTLS, ${CLIENTS} keep-alive clients, ${SECONDS} interleaved 1 s rounds per figure (audit log ${process.env.KES_BENCH_AUDIT === 'off' ? 'off' : 'to a file'})`,
    );
    console.log(row(figures[0]!.name, base));
    console.log(row(figures[1]!.name, gen, gen.opsPerSec / base.opsPerSec));
    console.log(row(figures[2]!.name, dec, dec.opsPerSec / base.opsPerSec));
    const baseline = base.opsPerSec;
    const target = 0.7;
    const ok = gen.opsPerSec / baseline >= target && dec.opsPerSec / baseline >= target;
    console.log(`target ≥ ${target}× baseline: ${ok ? 'met' : 'NOT met'}`);
    if (genPg) {
      console.log(row(figures[3]!.name, genPg, genPg.opsPerSec / base.opsPerSec));
      const ratio = genPg.opsPerSec / gen.opsPerSec;
      const pgTarget = 0.8;
      console.log(
        `generate on PostgreSQL ÷ generate on SQLite: ${ratio.toFixed(2)}× ops/s, ${(gen.cpuPerOp / genPg.cpuPerOp).toFixed(2)}× by kes CPU/op (target ≥ ${pgTarget}×: ${ratio >= pgTarget ? 'met' : 'NOT met'})`,
      );
    }
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    await pgCluster?.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
}

await main();
