// Gateway benchmark: every figure beside a baseline measured in the same run.
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
//   small  PUT+GET of 4 KiB objects, 32 concurrent keep-alive clients, vs s3rver: SSE-S3 with a data key per
//          object, then SSE-S3 and SSE-KMS with S3 Bucket Keys; kes calls per 1,000 objects for each
// Env: BENCH_BIG_MIB (1024), BENCH_LARGE_MIB (256), BENCH_ROUNDS (3), BENCH_SMALL_SECONDS (3 per slot),
//      BENCH_RANGE_REPS (15), BENCH_GATEWAY_LOG (info), BENCH_KEEP=1 (keep the temp directories),
//      BENCH_GATEWAY_PROFILE=<dir> (CPU profiles of the gateway process, node --cpu-prof),
//      BENCH_INLINE_THRESHOLD=<bytes> (backend.inlineThreshold; unset: the default, 8192, 4 KiB objects inline;
//      0: every object in a data file).
// Run: npm run bench -- gateway   (node --import tsx --expose-gc scripts/bench/gateway.ts)
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapRange } from '@kesgate/dare';
import { describeKesCalls, kesCalls, type KesCalls as KesCallCounts } from './lib/gateway-metrics.js';
import { benchScript, procCpuSeconds, procMemory, procReadChars, spawnJsonServer, stopChild } from './lib/processes.js';
import { expectStatus, RawS3 } from './lib/s3-raw.js';
import { bucketKey, sseC, sseKms, sseS3 } from './lib/sse-headers.js';
import { startBenchStack, type BenchStack } from './lib/stack.js';
import { MiB, fmt, loadAverage, median, percentile, table } from './lib/stats.js';
import { emptyResult, mergeInto, putGetLoop, timedGet, timedPut, type LoopResult } from './lib/transfer.js';
import { positiveEnv } from './lib/env.js';

const PHASES = ['mem', 'range', 'put', 'get', 'small'] as const;
type Phase = (typeof PHASES)[number];
const only = new Set((process.env.BENCH_ONLY ?? PHASES.join(',')).split(',').map((s) => s.trim()));
for (const p of only)
  if (!PHASES.includes(p as Phase)) throw new Error(`BENCH_ONLY: unknown figure "${p}"; expected some of ${PHASES.join(',')}`);
const want = (p: Phase): boolean => only.has(p);

const num = (name: string, dflt: number): number => positiveEnv(name, dflt);
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
  const r = {
    figure,
    gateway,
    baseline,
    ratio: ratio === undefined ? '' : `${fmt(ratio, 2)}×`,
    target,
    met: met === undefined ? '' : met ? 'yes' : 'NO',
  };
  rows.push(r);
  console.log(`  ${figure}: ${gateway}  |  baseline ${baseline}${r.ratio ? `  |  ${r.ratio}` : ''}${target ? ` (target ${target})` : ''}`);
}

interface Env {
  stack: BenchStack;
  gw: RawS3;
  gwTls: RawS3;
  bare: RawS3;
  bareTls: RawS3;
  barePid: number;
  block: Buffer;
  customerKey: Buffer;
}

/** The plaintext byte at `offset` of an object made of `block` repeated. */
function expectedSlice(block: Buffer, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let done = 0; done < length;) {
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
  row(
    `memory: gateway VmHWM, ${BIG / MiB} MiB PUT+GET`,
    `${fmt(hwm)} MiB`,
    `idle RSS ${fmt(idle.rss / MiB)} MiB`,
    undefined,
    '< 150 MiB',
    hwm < 150,
  );
  row('  (info) VmHWM growth over the idle process', `${fmt(hwm - idle.rss / MiB)} MiB`, '', undefined, '', undefined);
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
  const kesBefore = await kesCalls(e.stack.url);
  for (let i = 0; i <= RANGE_REPS; i++) {
    const b = expectStatus(await e.bare.get(BUCKET, 'big', { headers: range, sink: 'buffer' }), 206, 'bare range GET');
    const before = procReadChars(pid);
    const g = expectStatus(await e.gw.get(BUCKET, 'big', { headers: range, sink: 'buffer' }), 206, 'gateway range GET');
    readChars.push(procReadChars(pid) - before);
    if (!g.body!.equals(expected) || !b.body!.equals(expected))
      throw new Error('a range GET returned other bytes than the object holds at that range');
    if (i === 0) continue; // warm-up
    bareMs.push(b.ms);
    gwMs.push(g.ms);
  }
  console.log(`  the gateway's calls to kes during the range GETs: ${describeKesCalls(kesBefore, await kesCalls(e.stack.url))}`);
  const mapped = mapRange(offset, length, [{ plainSize: BIG }]).reduce((n, s) => n + s.encLength, 0);
  const gm = median(gwMs);
  const bm = median(bareMs);
  console.log(
    `  gateway p50 ${fmt(gm, 2)} ms (min ${fmt(Math.min(...gwMs), 2)}), bare p50 ${fmt(bm, 2)} ms (min ${fmt(Math.min(...bareMs), 2)})`,
  );
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

/** One side of a large-object comparison: where it goes, which process serves it, what headers it needs. */
interface Variant {
  name: string;
  client: RawS3;
  pid: number;
  key: string;
  /** Headers on PUT (SSE choice) and on GET (SSE-C key). */
  putHeaders?: Record<string, string>;
  getHeaders?: Record<string, string>;
}

interface Measured {
  /** Median MiB/s over the rounds. */
  mbps: number;
  /** Median CPU milliseconds the serving process spent per MiB (user + system). */
  cpuPerMiB: number;
}

function largeVariants(e: Env): Record<'bare' | 'bareTls' | 'bareSync' | 's3' | 'c', Variant> {
  const gw = e.stack.gatewayPid;
  return {
    bare: { name: 'bare HTTP', client: e.bare, pid: e.barePid, key: 'large' },
    bareTls: { name: 'bare HTTPS', client: e.bareTls, pid: e.barePid, key: 'large-tls' },
    bareSync: { name: 'bare HTTP+fsync', client: e.bare, pid: e.barePid, key: 'large-fsync', putHeaders: { 'x-bench-fsync': '1' } },
    s3: { name: 'SSE-S3 HTTP', client: e.gw, pid: gw, key: 'large-sse-s3', putHeaders: sseS3() },
    c: {
      name: 'SSE-C HTTPS',
      client: e.gwTls,
      pid: gw,
      key: 'large-sse-c',
      putHeaders: sseC(e.customerKey),
      getHeaders: sseC(e.customerKey),
    },
  };
}

/** ROUNDS rounds, each transferring once through every variant in turn; medians per variant. */
async function interleaved(kind: 'PUT' | 'GET', e: Env, variants: Variant[]): Promise<Map<Variant, Measured>> {
  const samples = new Map<Variant, { mbps: number[]; cpu: number[] }>(variants.map((v) => [v, { mbps: [], cpu: [] }]));
  for (let r = 0; r < ROUNDS; r++) {
    const line: string[] = [];
    for (const v of variants) {
      const cpu0 = procCpuSeconds(v.pid);
      const mbps =
        kind === 'PUT'
          ? await timedPut(v.client, BUCKET, v.key, LARGE, e.block, v.putHeaders)
          : await timedGet(v.client, BUCKET, v.key, LARGE, v.getHeaders);
      const cpuPerMiB = ((procCpuSeconds(v.pid) - cpu0) * 1000) / (LARGE / MiB);
      samples.get(v)!.mbps.push(mbps);
      samples.get(v)!.cpu.push(cpuPerMiB);
      line.push(`${v.name} ${fmt(mbps, 0)} MB/s (${fmt(cpuPerMiB, 2)} ms CPU/MiB)`);
    }
    console.log(`  round ${r + 1}: ${line.join(', ')}`);
  }
  return new Map([...samples].map(([v, s]) => [v, { mbps: median(s.mbps), cpuPerMiB: median(s.cpu) }]));
}

function throughputRows(kind: 'PUT' | 'GET', target: number, m: Map<Variant, Measured>, v: ReturnType<typeof largeVariants>): void {
  const got = (x: Variant): Measured => m.get(x)!;
  const mb = (x: Variant): string => `${fmt(got(x).mbps, 0)} MB/s`;
  const base = got(v.bare).mbps;
  for (const g of [v.s3, v.c]) {
    const ratio = got(g).mbps / base;
    row(`${kind} ${LARGE / MiB} MiB ${g.name}`, mb(g), `bare HTTP ${mb(v.bare)}`, ratio, `≥ ${target}×`, ratio >= target);
  }
  row(`  (info) SSE-C HTTPS vs bare HTTPS`, mb(v.c), `bare HTTPS ${mb(v.bareTls)}`, got(v.c).mbps / got(v.bareTls).mbps, '', undefined);
  if (m.has(v.bareSync))
    row(
      `  (info) SSE-S3 vs bare HTTP+fsync`,
      mb(v.s3),
      `bare+fsync ${mb(v.bareSync)}`,
      got(v.s3).mbps / got(v.bareSync).mbps,
      '',
      undefined,
    );
  // CPU per MiB does not depend on how busy the machine is: the ratio says what the gateway costs.
  const cpu = (x: Variant): string => `${fmt(got(x).cpuPerMiB, 2)} ms CPU/MiB`;
  row(
    `  (info) ${kind} server CPU, SSE-S3 HTTP`,
    cpu(v.s3),
    `bare HTTP ${cpu(v.bare)}`,
    got(v.s3).cpuPerMiB / got(v.bare).cpuPerMiB,
    '',
    undefined,
  );
  row(
    `  (info) ${kind} server CPU, SSE-C HTTPS`,
    cpu(v.c),
    `bare HTTPS ${cpu(v.bareTls)}`,
    got(v.c).cpuPerMiB / got(v.bareTls).cpuPerMiB,
    '',
    undefined,
  );
}

async function putPhase(e: Env): Promise<void> {
  console.log(`\n[put] ${LARGE / MiB} MiB PUT, UNSIGNED-PAYLOAD, ${ROUNDS} interleaved rounds, medians (MB/s = MiB/s)`);
  const v = largeVariants(e);
  throughputRows('PUT', 0.6, await interleaved('PUT', e, [v.bare, v.s3, v.bareTls, v.c, v.bareSync]), v);
}

async function getPhase(e: Env, putDone: boolean): Promise<void> {
  console.log(`\n[get] ${LARGE / MiB} MiB GET, ${ROUNDS} interleaved rounds, medians (MB/s = MiB/s)`);
  const v = largeVariants(e);
  if (!putDone) for (const x of [v.bare, v.bareTls, v.s3, v.c]) await timedPut(x.client, BUCKET, x.key, LARGE, e.block, x.putHeaders);
  throughputRows('GET', 0.7, await interleaved('GET', e, [v.bare, v.s3, v.bareTls, v.c]), v);
}

function describe(r: LoopResult): { opsPerSec: number; line: string } {
  const opsPerSec = r.ops / r.seconds;
  const lat = (op: string) =>
    `${op} p50 ${fmt(percentile(r.latencies[op] ?? [], 50), 2)} / p99 ${fmt(percentile(r.latencies[op] ?? [], 99), 2)} ms`;
  return { opsPerSec, line: `${fmt(opsPerSec, 0)} ops/s; ${lat('PUT')}; ${lat('GET')}` };
}

/** One way of writing the small objects to the gateway: what its PUTs (and GETs) send. */
interface SmallCase {
  name: string;
  figure: string;
  put?: Record<string, string>;
  get?: Record<string, string>;
}

const BENCH_KMS_KEY = 'bench-kms';

function smallCases(): SmallCase[] {
  return [
    { name: 'SSE-S3 (a data key per object)', figure: `PUT+GET 4 KiB, ${CLIENTS} clients` },
    { name: 'SSE-S3 bucket key', figure: `PUT+GET 4 KiB SSE-S3 bucket key, ${CLIENTS} clients`, put: bucketKey(sseS3()), get: {} },
    {
      name: 'SSE-KMS bucket key',
      figure: `PUT+GET 4 KiB SSE-KMS bucket key, ${CLIENTS} clients`,
      put: bucketKey(sseKms(BENCH_KMS_KEY)),
      get: {},
    },
  ];
}

async function smallPhase(e: Env): Promise<void> {
  const cases = smallCases();
  console.log(
    `\n[small] 4 KiB PUT+GET, ${CLIENTS} keep-alive clients, ${ROUNDS} interleaved rounds of ${SMALL_SECONDS} s per case, vs s3rver`,
  );
  console.log(`  cases: ${cases.map((c) => c.name).join('; ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-bench-s3rver-'));
  let child: ChildProcess | undefined;
  try {
    const started = await spawnJsonServer<{ http: number }>(benchScript('s3rver-server.ts'), [dir]);
    child = started.child;
    const base = new RawS3({
      endpoint: `http://127.0.0.1:${started.info.http}`,
      creds: { accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1' },
      maxSockets: CLIENTS,
    });
    await base.createBucket('small');
    await e.gw.createBucket('small');
    const opts = { clients: CLIENTS, size: 4096, keysPerClient: 64, pool: e.block };
    const withCase = (c: SmallCase) => ({ ...opts, ...(c.put ? { headers: c.put } : {}), ...(c.get ? { getHeaders: c.get } : {}) });
    // Warm-up: connections, JIT, the first writes of every key.
    await putGetLoop(base, 'small', { ...opts, seconds: 1 });
    for (const c of cases) await putGetLoop(e.gw, 'small', { ...withCase(c), seconds: 1 });
    const baseTotal = emptyResult();
    let baseCpu = 0;
    // Server CPU per operation does not depend on how busy the machine is: the gateway's is counted with kes's.
    // kes calls are counted per case from the gateway's metrics: objects written and read cost them.
    const per = new Map(cases.map((c) => [c, { total: emptyResult(), gwCpu: 0, kesCpu: 0, kes: 0 }]));
    const serverCpu = (pid: number) => procCpuSeconds(pid);
    const callCount = (k: KesCallCounts) => Object.values(k).reduce((n, v) => n + v.count, 0);
    for (let r = 0; r < ROUNDS; r++) {
      const c0 = serverCpu(child.pid!);
      const b = await putGetLoop(base, 'small', { ...opts, seconds: SMALL_SECONDS });
      baseCpu += serverCpu(child.pid!) - c0;
      mergeInto(baseTotal, b);
      const line = [`s3rver ${fmt(b.ops / b.seconds, 0)} ops/s`];
      for (const c of cases) {
        const m = per.get(c)!;
        const g0 = serverCpu(e.stack.gatewayPid);
        const k0 = serverCpu(e.stack.kesPid);
        const calls0 = callCount(await kesCalls(e.stack.url));
        const g = await putGetLoop(e.gw, 'small', { ...withCase(c), seconds: SMALL_SECONDS });
        m.gwCpu += serverCpu(e.stack.gatewayPid) - g0;
        m.kesCpu += serverCpu(e.stack.kesPid) - k0;
        m.kes += callCount(await kesCalls(e.stack.url)) - calls0;
        mergeInto(m.total, g);
        line.push(`${c.name} ${fmt(g.ops / g.seconds, 0)} ops/s`);
      }
      console.log(`  round ${r + 1}: ${line.join(', ')}`);
    }
    base.close();
    if (Object.keys(baseTotal.errors).length > 0) throw new Error(`small objects: s3rver had errors: ${JSON.stringify(baseTotal.errors)}`);
    for (const [c, m] of per)
      if (Object.keys(m.total.errors).length > 0) throw new Error(`small objects: ${c.name} had errors: ${JSON.stringify(m.total.errors)}`);
    const b = describe(baseTotal);
    console.log(`  s3rver (no encryption): ${b.line}`);
    const p = (t: LoopResult, op: string) => `${fmt(percentile(t.latencies[op]!, 50), 1)}/${fmt(percentile(t.latencies[op]!, 99), 1)} ms`;
    const perOp = (seconds: number, t: LoopResult) => (seconds * 1000) / t.ops;
    const bCpu = perOp(baseCpu, baseTotal);
    for (const [c, m] of per) {
      const g = describe(m.total);
      console.log(`  gateway, ${c.name}: ${g.line}`);
      const ratio = g.opsPerSec / b.opsPerSec;
      row(c.figure, `${fmt(g.opsPerSec, 0)} ops/s`, `s3rver ${fmt(b.opsPerSec, 0)} ops/s`, ratio, '≥ 1.0×', ratio >= 1);
      row('  4 KiB PUT p50/p99', p(m.total, 'PUT'), `s3rver ${p(baseTotal, 'PUT')}`, undefined, '', undefined);
      row('  4 KiB GET p50/p99', p(m.total, 'GET'), `s3rver ${p(baseTotal, 'GET')}`, undefined, '', undefined);
      const [gCpu, kCpu] = [perOp(m.gwCpu, m.total), perOp(m.kesCpu, m.total)];
      row(
        '  (info) server CPU per op, gateway + kes',
        `${fmt(gCpu, 2)} + ${fmt(kCpu, 2)} ms`,
        `s3rver ${fmt(bCpu, 2)} ms`,
        (gCpu + kCpu) / bCpu,
        '',
        undefined,
      );
      // An object here is one PUT and one GET of it.
      const objects = m.total.ops / 2;
      row(
        '  (info) kes calls per 1,000 objects (PUT + GET)',
        fmt((m.kes * 1000) / objects, 1),
        `${m.kes} calls, ${fmt(objects, 0)} objects`,
        undefined,
        '',
        undefined,
      );
    }
  } finally {
    if (child) await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const loadBefore = await loadAverage();
  console.log(`gateway benchmark: ${[...only].join(', ')}; load average ${loadBefore}`);
  const profileDir = process.env.BENCH_GATEWAY_PROFILE;
  // BENCH_INLINE_THRESHOLD: the embedded layout's backend.inlineThreshold (small objects in the metadata row).
  const inline = process.env.BENCH_INLINE_THRESHOLD;
  const stack = await startBenchStack({
    logLevel: process.env.BENCH_GATEWAY_LOG ?? 'info',
    keys: [BENCH_KMS_KEY],
    ...(profileDir ? { gatewayProfileDir: profileDir } : {}),
    ...(inline !== undefined ? { backend: { fs: { path: 'data/gateway' }, inlineThreshold: Number(inline) } } : {}),
  });
  const bareDir = mkdtempSync(join(tmpdir(), 'kesgate-bench-bare-'));
  let bareChild: ChildProcess | undefined;
  const clients: RawS3[] = [];
  try {
    const bare = await spawnJsonServer<{ http: number; https: number }>(benchScript('bare-server.ts'), [
      bareDir,
      join(stack.dir, 'server.crt'),
      join(stack.dir, 'server.key'),
    ]);
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
      barePid: bare.child.pid!,
      block: randomBytes(MiB),
      customerKey: randomBytes(32),
    };
    await e.gw.createBucket(BUCKET);
    console.log(
      `kes + gateway in ${stack.dir} (gateway pid ${stack.gatewayPid}, log level ${process.env.BENCH_GATEWAY_LOG ?? 'info'}); bare server pid ${bare.child.pid}`,
    );
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
  console.log(
    table(
      ['figure', 'gateway', 'baseline (same run)', 'ratio', 'target', 'met'],
      rows.map((r) => [r.figure, r.gateway, r.baseline, r.ratio, r.target, r.met]),
    ),
  );
}

await main();
