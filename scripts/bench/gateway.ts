// Gateway benchmark: every figure beside a baseline measured in the same run (quality.md).
// Processes: kes and the gateway as `kes server` / `kesgate server` (info-level logs to a file),
// the baselines (a bare Node HTTP(S) server; s3rver) as children too; this process only generates load
// with a lean hand-signed HTTP client. Measurements of gateway and baseline are interleaved in
// rounds and the median is kept, so load from other processes on a shared machine weighs on both.
//
// Figures (BENCH_ONLY=mem,range,put,get,small picks a subset; default all, in this order):
//   mem    RSS high-water mark (VmHWM) of a freshly started gateway while a BENCH_BIG_MIB object is PUT then GET
//   range  1 MiB Range GET inside the BENCH_BIG_MIB object: time vs the bare server reading the same range
//          of the plaintext file; ciphertext read = the gateway process's rchar delta (/proc/<pid>/io)
//   put    PUT of a BENCH_LARGE_MIB object, SSE-S3 over HTTP and SSE-C over HTTPS, UNSIGNED-PAYLOAD, MB/s
//   get    GET of the same objects, MB/s
//   small  PUT+GET of 4 KiB objects, 32 concurrent keep-alive clients, vs s3rver
// Env: BENCH_BIG_MIB (1024), BENCH_LARGE_MIB (256), BENCH_ROUNDS (3), BENCH_SMALL_SECONDS (3 per slot),
//      BENCH_RANGE_REPS (15), BENCH_GATEWAY_LOG (info), BENCH_KEEP=1 (keep the temp directories),
//      BENCH_GATEWAY_PROFILE=<dir> (CPU profiles of the gateway process, node --cpu-prof).
// Run: npm run bench -- gateway   (node --import tsx --expose-gc scripts/bench/gateway.ts)
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapRange } from '@kesgate/sse';
import { describeKesCalls, kesCalls } from './lib/gateway-metrics.js';
import { benchScript, procMemory, procReadChars, spawnJsonServer, stopChild } from './lib/processes.js';
import { expectStatus, RawS3 } from './lib/s3-raw.js';
import { sseC, sseS3 } from './lib/sse-headers.js';
import { startBenchStack, type BenchStack } from './lib/stack.js';
import { MiB, fmt, loadAverage, median, percentile, table } from './lib/stats.js';
import { emptyResult, mergeInto, putGetLoop, timedGet, timedPut, type LoopResult } from './lib/transfer.js';

const PHASES = ['mem', 'range', 'put', 'get', 'small'] as const;
type Phase = (typeof PHASES)[number];
const only = new Set((process.env.BENCH_ONLY ?? PHASES.join(',')).split(',').map((s) => s.trim()));
for (const p of only) if (!PHASES.includes(p as Phase)) throw new Error(`BENCH_ONLY: unknown figure "${p}"; expected some of ${PHASES.join(',')}`);
const want = (p: Phase): boolean => only.has(p);

const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number; got ${process.env[name]}`);
  return v;
};
const BIG = num('BENCH_BIG_MIB', 1024) * MiB;
const LARGE = num('BENCH_LARGE_MIB', 256) * MiB;
const ROUNDS = num('BENCH_ROUNDS', 3);
const SMALL_SECONDS = num('BENCH_SMALL_SECONDS', 3);
const RANGE_REPS = num('BENCH_RANGE_REPS', 15);
const CLIENTS = 32;
const BUCKET = 'bench';

interface Row {
  figure: string;
  gateway: string;
  baseline: string;
  ratio: string;
  target: string;
  met: string;
}
const rows: Row[] = [];
function row(figure: string, gateway: string, baseline: string, ratio: number | undefined, target: string, met: boolean | undefined): void {
  const r = { figure, gateway, baseline, ratio: ratio === undefined ? '' : `${fmt(ratio, 2)}×`, target, met: met === undefined ? '' : met ? 'yes' : 'NO' };
  rows.push(r);
  console.log(`  ${figure}: ${gateway}  |  baseline ${baseline}${r.ratio ? `  |  ${r.ratio}` : ''}${target ? ` (target ${target})` : ''}`);
}

interface Env {
  stack: BenchStack;
  gw: RawS3;
  gwTls: RawS3;
  bare: RawS3;
  bareTls: RawS3;
  block: Buffer;
  customerKey: Buffer;
}

/** The plaintext byte at `offset` of an object made of `block` repeated. */
function expectedSlice(block: Buffer, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let done = 0; done < length; ) {
    const at = (offset + done) % block.length;
    done += block.copy(out, done, at, Math.min(block.length, at + length - done));
  }
  return out;
}

async function memPhase(e: Env): Promise<void> {
  console.log(`\n[mem] fresh gateway process; PUT then GET a ${BIG / MiB} MiB SSE-S3 object`);
  await e.stack.restartGateway();
  const idle = procMemory(e.stack.gatewayPid);
  await timedPut(e.gw, BUCKET, 'big', BIG, e.block, sseS3());
  const afterPut = procMemory(e.stack.gatewayPid);
  await timedGet(e.gw, BUCKET, 'big', BIG);
  const after = procMemory(e.stack.gatewayPid);
  const hwm = after.hwm / MiB;
  console.log(`  RSS idle ${fmt(idle.rss / MiB)} MiB, VmHWM after PUT ${fmt(afterPut.hwm / MiB)} MiB, after GET ${fmt(hwm)} MiB`);
  row(`memory: gateway VmHWM, ${BIG / MiB} MiB PUT+GET`, `${fmt(hwm)} MiB`, `idle RSS ${fmt(idle.rss / MiB)} MiB`, undefined, '< 150 MiB', hwm < 150);
}

async function rangePhase(e: Env, bigExists: boolean): Promise<void> {
  console.log(`\n[range] 1 MiB Range GET inside a ${BIG / MiB} MiB object (SSE-S3) vs the same range of a plaintext file`);
  if (!bigExists) await timedPut(e.gw, BUCKET, 'big', BIG, e.block, sseS3());
  await timedPut(e.bare, BUCKET, 'big', BIG, e.block);
  // Not package-aligned on purpose: the worst case reads one package more than the range covers.
  const offset = Math.floor(BIG / 2) + 12_345;
  const length = MiB;
  const range = { range: `bytes=${offset}-${offset + length - 1}` };
  const expected = expectedSlice(e.block, offset, length);
  const pid = e.stack.gatewayPid;
  const bareMs: number[] = [];
  const gwMs: number[] = [];
  const readChars: number[] = [];
  for (let i = 0; i <= RANGE_REPS; i++) {
    const b = expectStatus(await e.bare.get(BUCKET, 'big', { headers: range, sink: 'buffer' }), 206, 'bare range GET');
    const before = procReadChars(pid);
    const g = expectStatus(await e.gw.get(BUCKET, 'big', { headers: range, sink: 'buffer' }), 206, 'gateway range GET');
    readChars.push(procReadChars(pid) - before);
    if (!g.body!.equals(expected) || !b.body!.equals(expected)) throw new Error('a range GET returned other bytes than the object holds at that range');
    if (i === 0) continue; // warm-up
    bareMs.push(b.ms);
    gwMs.push(g.ms);
  }
  const mapped = mapRange(offset, length, [{ plainSize: BIG }]).reduce((n, s) => n + s.encLength, 0);
  const gm = median(gwMs);
  const bm = median(bareMs);
  console.log(`  gateway p50 ${fmt(gm, 2)} ms (min ${fmt(Math.min(...gwMs), 2)}), bare p50 ${fmt(bm, 2)} ms (min ${fmt(Math.min(...bareMs), 2)})`);
  row('range GET 1 MiB of 1 GiB: time', `${fmt(gm, 2)} ms`, `${fmt(bm, 2)} ms`, gm / bm, '≤ 2×', gm / bm <= 2);
  const maxRead = Math.max(...readChars);
  row(
    'range GET 1 MiB: bytes read by the gateway',
    `${fmt(maxRead / MiB, 3)} MiB`,
    `range mapper: ${fmt(mapped / MiB, 3)} MiB of ciphertext`,
    undefined,
    '≤ 1.1 MiB',
    maxRead <= 1.1 * MiB,
  );
}

const LARGE_KEYS = { s3: 'large-sse-s3', c: 'large-sse-c', bare: 'large', bareTls: 'large-tls', bareSync: 'large-fsync' };

async function putPhase(e: Env): Promise<void> {
  console.log(`\n[put] ${LARGE / MiB} MiB PUT, ${ROUNDS} interleaved rounds, median MB/s (MiB/s)`);
  const m: Record<string, number[]> = { bare: [], bareSync: [], bareTls: [], s3: [], c: [] };
  for (let r = 0; r < ROUNDS; r++) {
    m.bare!.push(await timedPut(e.bare, BUCKET, LARGE_KEYS.bare, LARGE, e.block));
    m.s3!.push(await timedPut(e.gw, BUCKET, LARGE_KEYS.s3, LARGE, e.block, sseS3()));
    m.bareTls!.push(await timedPut(e.bareTls, BUCKET, LARGE_KEYS.bareTls, LARGE, e.block));
    m.c!.push(await timedPut(e.gwTls, BUCKET, LARGE_KEYS.c, LARGE, e.block, sseC(e.customerKey)));
    m.bareSync!.push(await timedPut(e.bare, BUCKET, LARGE_KEYS.bareSync, LARGE, e.block, { 'x-bench-fsync': '1' }));
    console.log(`  round ${r + 1}: ${Object.entries(m).map(([k, v]) => `${k} ${fmt(v[r]!, 0)}`).join(', ')}`);
  }
  const [bare, bareSync, bareTls, s3, c] = [m.bare!, m.bareSync!, m.bareTls!, m.s3!, m.c!].map(median) as [number, number, number, number, number];
  row(`PUT ${LARGE / MiB} MiB SSE-S3 (HTTP)`, `${fmt(s3, 0)} MB/s`, `bare HTTP ${fmt(bare, 0)} MB/s`, s3 / bare, '≥ 0.6×', s3 / bare >= 0.6);
  row(`PUT ${LARGE / MiB} MiB SSE-C (HTTPS)`, `${fmt(c, 0)} MB/s`, `bare HTTP ${fmt(bare, 0)} MB/s`, c / bare, '≥ 0.6×', c / bare >= 0.6);
  row(`  (info) SSE-C (HTTPS) vs bare HTTPS`, `${fmt(c, 0)} MB/s`, `bare HTTPS ${fmt(bareTls, 0)} MB/s`, c / bareTls, '', undefined);
  row(`  (info) SSE-S3 vs bare HTTP + fsync`, `${fmt(s3, 0)} MB/s`, `bare+fsync ${fmt(bareSync, 0)} MB/s`, s3 / bareSync, '', undefined);
}

async function getPhase(e: Env, putDone: boolean): Promise<void> {
  console.log(`\n[get] ${LARGE / MiB} MiB GET, ${ROUNDS} interleaved rounds, median MB/s (MiB/s)`);
  if (!putDone) {
    await timedPut(e.bare, BUCKET, LARGE_KEYS.bare, LARGE, e.block);
    await timedPut(e.bare, BUCKET, LARGE_KEYS.bareTls, LARGE, e.block);
    await timedPut(e.gw, BUCKET, LARGE_KEYS.s3, LARGE, e.block, sseS3());
    await timedPut(e.gwTls, BUCKET, LARGE_KEYS.c, LARGE, e.block, sseC(e.customerKey));
  }
  const m: Record<string, number[]> = { bare: [], bareTls: [], s3: [], c: [] };
  for (let r = 0; r < ROUNDS; r++) {
    m.bare!.push(await timedGet(e.bare, BUCKET, LARGE_KEYS.bare, LARGE));
    m.s3!.push(await timedGet(e.gw, BUCKET, LARGE_KEYS.s3, LARGE));
    m.bareTls!.push(await timedGet(e.bareTls, BUCKET, LARGE_KEYS.bareTls, LARGE));
    m.c!.push(await timedGet(e.gwTls, BUCKET, LARGE_KEYS.c, LARGE, sseC(e.customerKey)));
    console.log(`  round ${r + 1}: ${Object.entries(m).map(([k, v]) => `${k} ${fmt(v[r]!, 0)}`).join(', ')}`);
  }
  const [bare, bareTls, s3, c] = [m.bare!, m.bareTls!, m.s3!, m.c!].map(median) as [number, number, number, number];
  row(`GET ${LARGE / MiB} MiB SSE-S3 (HTTP)`, `${fmt(s3, 0)} MB/s`, `bare HTTP ${fmt(bare, 0)} MB/s`, s3 / bare, '≥ 0.7×', s3 / bare >= 0.7);
  row(`GET ${LARGE / MiB} MiB SSE-C (HTTPS)`, `${fmt(c, 0)} MB/s`, `bare HTTP ${fmt(bare, 0)} MB/s`, c / bare, '≥ 0.7×', c / bare >= 0.7);
  row(`  (info) SSE-C (HTTPS) vs bare HTTPS`, `${fmt(c, 0)} MB/s`, `bare HTTPS ${fmt(bareTls, 0)} MB/s`, c / bareTls, '', undefined);
}

function describe(r: LoopResult): { opsPerSec: number; line: string } {
  const opsPerSec = r.ops / r.seconds;
  const lat = (op: string) => `${op} p50 ${fmt(percentile(r.latencies[op] ?? [], 50), 2)} / p99 ${fmt(percentile(r.latencies[op] ?? [], 99), 2)} ms`;
  return { opsPerSec, line: `${fmt(opsPerSec, 0)} ops/s; ${lat('PUT')}; ${lat('GET')}` };
}

async function smallPhase(e: Env): Promise<void> {
  console.log(`\n[small] 4 KiB PUT+GET, ${CLIENTS} keep-alive clients, ${ROUNDS} interleaved rounds of ${SMALL_SECONDS} s each, vs s3rver`);
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-bench-s3rver-'));
  let child: ChildProcess | undefined;
  try {
    const started = await spawnJsonServer<{ http: number }>(benchScript('s3rver-server.ts'), [dir]);
    child = started.child;
    const base = new RawS3({ endpoint: `http://127.0.0.1:${started.info.http}`, creds: { accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1' }, maxSockets: CLIENTS });
    await base.createBucket('small');
    await e.gw.createBucket('small');
    const opts = { clients: CLIENTS, size: 4096, keysPerClient: 64, pool: e.block };
    // Warm-up: connections, JIT, the first writes of every key.
    await putGetLoop(base, 'small', { ...opts, seconds: 1 });
    await putGetLoop(e.gw, 'small', { ...opts, seconds: 1 });
    const totals = { base: emptyResult(), gw: emptyResult() };
    const kesBefore = await kesCalls(e.stack.url);
    for (let r = 0; r < ROUNDS; r++) {
      const b = await putGetLoop(base, 'small', { ...opts, seconds: SMALL_SECONDS });
      const g = await putGetLoop(e.gw, 'small', { ...opts, seconds: SMALL_SECONDS });
      mergeInto(totals.base, b);
      mergeInto(totals.gw, g);
      console.log(`  round ${r + 1}: s3rver ${fmt(b.ops / b.seconds, 0)} ops/s, gateway ${fmt(g.ops / g.seconds, 0)} ops/s`);
    }
    base.close();
    console.log(`  the gateway's calls to kes during the measured rounds: ${describeKesCalls(kesBefore, await kesCalls(e.stack.url))}`);
    for (const [name, t] of Object.entries(totals)) {
      if (Object.keys(t.errors).length > 0) throw new Error(`small objects: ${name} had errors: ${JSON.stringify(t.errors)}`);
    }
    const g = describe(totals.gw);
    const b = describe(totals.base);
    console.log(`  gateway (SSE-S3 by default): ${g.line}\n  s3rver (no encryption):      ${b.line}`);
    const ratio = g.opsPerSec / b.opsPerSec;
    row(`PUT+GET 4 KiB, ${CLIENTS} clients`, `${fmt(g.opsPerSec, 0)} ops/s`, `s3rver ${fmt(b.opsPerSec, 0)} ops/s`, ratio, '≥ 1.0×', ratio >= 1);
    const p = (t: LoopResult, op: string) => `${fmt(percentile(t.latencies[op]!, 50), 1)}/${fmt(percentile(t.latencies[op]!, 99), 1)} ms`;
    row('  4 KiB PUT p50/p99', p(totals.gw, 'PUT'), `s3rver ${p(totals.base, 'PUT')}`, undefined, '', undefined);
    row('  4 KiB GET p50/p99', p(totals.gw, 'GET'), `s3rver ${p(totals.base, 'GET')}`, undefined, '', undefined);
  } finally {
    if (child) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const loadBefore = await loadAverage();
  console.log(`gateway benchmark: ${[...only].join(', ')}; load average ${loadBefore}`);
  const profileDir = process.env.BENCH_GATEWAY_PROFILE;
  const stack = await startBenchStack({ logLevel: process.env.BENCH_GATEWAY_LOG ?? 'info', ...(profileDir ? { gatewayProfileDir: profileDir } : {}) });
  const bareDir = mkdtempSync(join(tmpdir(), 'kesgate-bench-bare-'));
  let bareChild: ChildProcess | undefined;
  const clients: RawS3[] = [];
  try {
    const bare = await spawnJsonServer<{ http: number; https: number }>(benchScript('bare-server.ts'), [bareDir, join(stack.dir, 'server.crt'), join(stack.dir, 'server.key')]);
    bareChild = bare.child;
    const make = (endpoint: string) => {
      const c = new RawS3({ endpoint, creds: stack.creds, ca: stack.caPem, maxSockets: CLIENTS });
      clients.push(c);
      return c;
    };
    const e: Env = {
      stack,
      gw: make(stack.url),
      gwTls: make(stack.httpsUrl),
      bare: make(`http://127.0.0.1:${bare.info.http}`),
      bareTls: make(`https://127.0.0.1:${bare.info.https}`),
      block: randomBytes(MiB),
      customerKey: randomBytes(32),
    };
    await e.gw.createBucket(BUCKET);
    console.log(`kes + gateway in ${stack.dir} (gateway pid ${stack.gatewayPid}, log level ${process.env.BENCH_GATEWAY_LOG ?? 'info'}); bare server pid ${bare.child.pid}`);
    if (want('mem')) await memPhase(e);
    if (want('range')) await rangePhase(e, want('mem'));
    if (want('put')) await putPhase(e);
    if (want('get')) await getPhase(e, want('put'));
    if (want('small')) await smallPhase(e);
  } finally {
    for (const c of clients) c.close();
    if (bareChild) await stopChild(bareChild);
    rmSync(bareDir, { recursive: true, force: true });
    await stack.close();
  }
  console.log(`\nload average before ${loadBefore}, after ${await loadAverage()}\n`);
  console.log(table(['figure', 'gateway', 'baseline (same run)', 'ratio', 'target', 'met'], rows.map((r) => [r.figure, r.gateway, r.baseline, r.ratio, r.target, r.met])));
}

await main();
