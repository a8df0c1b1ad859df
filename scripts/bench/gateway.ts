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
//   put    PUT of a BENCH_LARGE_MIB object, SSE-S3 over HTTP and SSE-C over HTTPS, UNSIGNED-PAYLOAD, MB/s (put and
//          get: a warm-up round of every server first, not counted); with the whole machine's CPU per MiB and how
//          busy its cores were (/proc/stat): whether a transfer was bound by CPU the client shares
//   get    GET of the same objects, MB/s
//   small  4 KiB objects, 32 concurrent keep-alive clients, vs s3rver, PUT and GET apart (a PUT-only loop, then a GET-only
//          loop over what it wrote): SSE-S3 with a data key per object, then SSE-S3 and SSE-KMS with S3 Bucket Keys;
//          ratios are medians of per-round ratios; for each case the CPU per op of gateway and kes (/proc utime+stime,
//          so load from other processes does not change it), data keys asked and kes requests per 1,000 ops
// Env: BENCH_BIG_MIB (1024), BENCH_LARGE_MIB (256), BENCH_ROUNDS (3), BENCH_SMALL_SECONDS (3 per slot),
//      BENCH_RANGE_REPS (15), BENCH_GATEWAY_LOG (info), BENCH_KEEP=1 (keep the temp directories),
//      BENCH_GATEWAY_PROFILE=<dir> (CPU profiles of the gateway process, node --cpu-prof),
//      BENCH_INLINE_THRESHOLD=<bytes> (backend.inlineThreshold; unset: the default, 8192, 4 KiB objects inline;
//      0: every object in a data file),
//      BENCH_KES_BULK=0 (the gateway's kes policy without the bulk routes: one kes request per data key, as before them),
//      BENCH_SMALL_CASES=per-object,sse-s3-bk,sse-kms-bk (which small-object cases run; default all).
// Run: npm run bench -- gateway   (node --import tsx --expose-gc scripts/bench/gateway.ts)
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapRange } from '@kesgate/dare';
import { describeKesCalls, kesCalls } from './lib/gateway-metrics.js';
import {
  benchScript,
  machineBusySeconds,
  procCpuSeconds,
  procMainThreadCpuSeconds,
  procMemory,
  procReadChars,
  procWriteCalls,
  spawnJsonServer,
  stopChild,
} from './lib/processes.js';
import { expectStatus, RawS3 } from './lib/s3-raw.js';
import { bucketKey, sseC, sseKms, sseS3 } from './lib/sse-headers.js';
import { startBenchStack, type BenchStack } from './lib/stack.js';
import { MiB, fmt, loadAverage, median, percentile, table } from './lib/stats.js';
import { getLoop, putLoop } from './lib/small-loops.js';
import { emptyResult, mergeInto, timedGet, timedPut, type LoopResult } from './lib/transfer.js';
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
  /** The same for its main thread alone (the event loop: what every other request waits on). */
  loopCpuPerMiB: number;
  /** Median write system calls per MiB (files and sockets). */
  writesPerMiB: number;
  /** Median CPU milliseconds per MiB of the whole machine (client, servers, kernel, anything else running). */
  machinePerMiB: number;
  /** Median share of the machine's cores that were busy during the transfer (1 = every core, all the time). */
  busy: number;
  /** MiB/s of each round, in order: a ratio is the median of the per-round ratios (single streams swing between runs). */
  rounds: number[];
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
  const samples = new Map<Variant, { mbps: number[]; cpu: number[]; loop: number[]; writes: number[]; machine: number[]; busy: number[] }>(
    variants.map((v) => [v, { mbps: [], cpu: [], loop: [], writes: [], machine: [], busy: [] }]),
  );
  // Round 0 warms every server up (JIT, first buffers and worker rings) and is not counted: the first large
  // transfer of a fresh process was up to a third slower than the next ones, for the gateway and baselines alike.
  for (let r = 0; r <= ROUNDS; r++) {
    const line: string[] = [];
    for (const v of variants) {
      // Every transfer starts with no dirty pages left by the one before: a bare server that does not fsync leaves
      // its 256 MiB for the kernel to write back later, and that writeback (CPU and disk) used to land on whichever
      // server ran next. Not timed, for anyone.
      if (kind === 'PUT') spawnSync('sync');
      const [cpu0, loop0, writes0] = [procCpuSeconds(v.pid), procMainThreadCpuSeconds(v.pid), procWriteCalls(v.pid)];
      const [machine0, wall0] = [machineBusySeconds(), performance.now()];
      const mbps =
        kind === 'PUT'
          ? await timedPut(v.client, BUCKET, v.key, LARGE, e.block, v.putHeaders)
          : await timedGet(v.client, BUCKET, v.key, LARGE, v.getHeaders);
      const machine = machineBusySeconds();
      const machineSeconds = machine.busy - machine0.busy;
      const busy = machineSeconds / (machine.cores * ((performance.now() - wall0) / 1000));
      const perMiB = (n: number): number => n / (LARGE / MiB);
      const machinePerMiB = perMiB(machineSeconds * 1000);
      const cpuPerMiB = perMiB((procCpuSeconds(v.pid) - cpu0) * 1000);
      const loopPerMiB = perMiB((procMainThreadCpuSeconds(v.pid) - loop0) * 1000);
      const writesPerMiB = perMiB(procWriteCalls(v.pid) - writes0);
      line.push(
        `${v.name} ${fmt(mbps, 0)} MB/s (${fmt(cpuPerMiB, 2)} ms CPU/MiB, main thread ${fmt(loopPerMiB, 2)}, ${fmt(writesPerMiB, 1)} writes/MiB, machine ${fmt(machinePerMiB, 2)} ms/MiB, ${fmt(busy * 100, 0)}% busy)`,
      );
      if (r === 0) continue;
      const s = samples.get(v)!;
      s.mbps.push(mbps);
      s.cpu.push(cpuPerMiB);
      s.loop.push(loopPerMiB);
      s.writes.push(writesPerMiB);
      s.machine.push(machinePerMiB);
      s.busy.push(busy);
    }
    console.log(`  ${r === 0 ? 'warm-up (not counted)' : `round ${r}`}: ${line.join(', ')}`);
  }
  return new Map(
    [...samples].map(([v, s]) => [
      v,
      {
        mbps: median(s.mbps),
        cpuPerMiB: median(s.cpu),
        loopCpuPerMiB: median(s.loop),
        writesPerMiB: median(s.writes),
        machinePerMiB: median(s.machine),
        busy: median(s.busy),
        rounds: s.mbps,
      },
    ]),
  );
}

function throughputRows(kind: 'PUT' | 'GET', target: number, m: Map<Variant, Measured>, v: ReturnType<typeof largeVariants>): void {
  const got = (x: Variant): Measured => m.get(x)!;
  const mb = (x: Variant): string => `${fmt(got(x).mbps, 0)} MB/s`;
  const perRound = (x: Variant, b: Variant): number => median(got(x).rounds.map((mbps, i) => mbps / got(b).rounds[i]!));
  for (const g of [v.s3, v.c]) {
    const ratio = perRound(g, v.bare);
    row(`${kind} ${LARGE / MiB} MiB ${g.name}`, mb(g), `bare HTTP ${mb(v.bare)}`, ratio, `≥ ${target}×`, ratio >= target);
  }
  row(`  (info) SSE-C HTTPS vs bare HTTPS`, mb(v.c), `bare HTTPS ${mb(v.bareTls)}`, perRound(v.c, v.bareTls), '', undefined);
  if (m.has(v.bareSync))
    row(`  (info) SSE-S3 vs bare HTTP+fsync`, mb(v.s3), `bare+fsync ${mb(v.bareSync)}`, perRound(v.s3, v.bareSync), '', undefined);
  // CPU per MiB does not depend on how busy the machine is: the ratio says what the gateway costs.
  const cpu = (x: Variant): string =>
    `${fmt(got(x).cpuPerMiB, 2)} ms CPU/MiB (main thread ${fmt(got(x).loopCpuPerMiB, 2)}, ${fmt(got(x).writesPerMiB, 1)} writes)`;
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
  console.log(
    `\n[put] ${LARGE / MiB} MiB PUT, UNSIGNED-PAYLOAD, a warm-up round then ${ROUNDS} interleaved rounds, medians; ratios: median of per-round ratios (MB/s = MiB/s)`,
  );
  const v = largeVariants(e);
  const m = await interleaved('PUT', e, [v.bare, v.s3, v.bareTls, v.c, v.bareSync]);
  throughputRows('PUT', 0.8, m, v);
  // Whether a transfer was bound by the machine's CPU (the client shares the two cores with the servers): its cores'
  // busy share, and the whole machine's CPU per MiB (client, server, kernel; anything else running counts too).
  const bare = m.get(v.bare)!;
  const s3 = m.get(v.s3)!;
  const busy = (x: Measured): string => `${fmt(x.machinePerMiB, 2)} ms/MiB, cores ${fmt(x.busy * 100, 0)}% busy`;
  row(
    `  (info) PUT machine CPU (client + server + kernel)`,
    `SSE-S3 ${busy(s3)}`,
    `bare HTTP ${busy(bare)}`,
    s3.machinePerMiB / bare.machinePerMiB,
    '',
    undefined,
  );
}

async function getPhase(e: Env, putDone: boolean): Promise<void> {
  console.log(
    `\n[get] ${LARGE / MiB} MiB GET, a warm-up round then ${ROUNDS} interleaved rounds, medians; ratios: median of per-round ratios (MB/s = MiB/s)`,
  );
  const v = largeVariants(e);
  if (!putDone) for (const x of [v.bare, v.bareTls, v.s3, v.c]) await timedPut(x.client, BUCKET, x.key, LARGE, e.block, x.putHeaders);
  throughputRows('GET', 0.95, await interleaved('GET', e, [v.bare, v.s3, v.bareTls, v.c]), v);
}

/** One way of writing the small objects to the gateway: what its PUTs (and GETs) send, and the ratios it aims at. */
interface SmallCase {
  name: string;
  /** Key prefix of its objects. */
  prefix: string;
  put?: Record<string, string>;
  get?: Record<string, string>;
  target: { put: number; get: number };
}

const BENCH_KMS_KEY = 'bench-kms';

function smallCases(): SmallCase[] {
  const all = [
    { name: 'SSE-S3 (a data key per object)', prefix: 'per-object', target: { put: 0.8, get: 0.9 } },
    { name: 'SSE-S3 bucket key', prefix: 'sse-s3-bk', put: bucketKey(sseS3()), get: {}, target: { put: 1, get: 1 } },
    { name: 'SSE-KMS bucket key', prefix: 'sse-kms-bk', put: bucketKey(sseKms(BENCH_KMS_KEY)), get: {}, target: { put: 1, get: 1 } },
  ];
  const wanted = process.env.BENCH_SMALL_CASES?.split(',').map((c) => c.trim());
  if (!wanted) return all;
  const unknown = wanted.filter((w) => !all.some((c) => c.prefix === w));
  if (unknown.length)
    throw new Error(`BENCH_SMALL_CASES: unknown case ${unknown.join(', ')}; expected some of ${all.map((c) => c.prefix).join(',')}`);
  return all.filter((c) => wanted.includes(c.prefix));
}

/** Lines appended to kes's audit log since the last call: one per request that touched a key (a bulk request is one). */
function auditLineCounter(path: string): () => number {
  let offset = 0;
  return () => {
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return 0;
    }
    if (size <= offset) return 0;
    const chunk = Buffer.alloc(size - offset);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, chunk, 0, chunk.length, offset);
    } finally {
      closeSync(fd);
    }
    offset = size;
    let n = 0;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) n++;
    return n;
  };
}

/** What one side (s3rver, or the gateway in one case) did in one operation over all rounds. */
interface OpTotals {
  result: LoopResult;
  /** ops/s of each round, for the per-round ratios. */
  rates: number[];
  /** CPU seconds of the serving processes: the gateway's and kes's (s3rver: its own in `server`). */
  server: number;
  kes: number;
  /** Data keys the gateway asked of its KMS client, and requests kes received (its audit lines). */
  dataKeyCalls: number;
  kesRequests: number;
}

const opTotals = (): OpTotals => ({ result: emptyResult(), rates: [], server: 0, kes: 0, dataKeyCalls: 0, kesRequests: 0 });

async function smallPhase(e: Env): Promise<void> {
  const cases = smallCases();
  console.log(
    `\n[small] 4 KiB objects, ${CLIENTS} keep-alive clients, ${ROUNDS} interleaved rounds of ${SMALL_SECONDS} s of PUTs then ${SMALL_SECONDS} s of GETs per case, vs s3rver`,
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
    const audit = auditLineCounter(join(e.stack.dir, 'data/audit.log'));
    const dataKeys = async () => Object.values(await kesCalls(e.stack.url)).reduce((n, v) => n + v.count, 0);
    const s3rverPid = child.pid!;
    type Side = {
      name: string;
      client: RawS3;
      put: Record<string, string> | undefined;
      get: Record<string, string> | undefined;
      prefix: string;
    };
    const sides: Side[] = [
      { name: 's3rver', client: base, put: undefined, get: undefined, prefix: 's3rver' },
      ...cases.map((c) => ({ name: c.name, client: e.gw, put: c.put, get: c.get, prefix: c.prefix })),
    ];
    const totals = new Map(sides.map((s) => [s, { PUT: opTotals(), GET: opTotals() }]));
    // One measured operation of one side: its loop, with the CPU of the processes serving it and kes's traffic.
    const measure = async <T extends { result: LoopResult }>(side: Side, op: 'PUT' | 'GET', run: () => Promise<T>): Promise<T> => {
      const gw = side.client !== base;
      const [s0, k0] = gw ? [procCpuSeconds(e.stack.gatewayPid), procCpuSeconds(e.stack.kesPid)] : [procCpuSeconds(s3rverPid), 0];
      const d0 = gw ? await dataKeys() : 0;
      audit();
      const out = await run();
      const t = totals.get(side)![op];
      if (gw) {
        t.server += procCpuSeconds(e.stack.gatewayPid) - s0;
        t.kes += procCpuSeconds(e.stack.kesPid) - k0;
        t.dataKeyCalls += (await dataKeys()) - d0;
        await sleep(20); // kes appends its audit lines off the request path: let the last ones land
        t.kesRequests += audit();
      } else t.server += procCpuSeconds(s3rverPid) - s0;
      mergeInto(t.result, out.result);
      t.rates.push(out.result.ops / out.result.seconds);
      return out;
    };
    // Warm-up: connections, JIT, the first writes.
    for (const s of sides) {
      const w = await putLoop(s.client, 'small', { ...opts, seconds: 1, prefix: s.prefix, ...(s.put ? { headers: s.put } : {}) });
      await getLoop(s.client, 'small', w.written, { seconds: 0.5, ...(s.get ? { headers: s.get } : {}) });
    }
    for (let r = 0; r < ROUNDS; r++) {
      const line: string[] = [];
      for (const s of sides) {
        const loopOpts = { ...opts, seconds: SMALL_SECONDS, prefix: s.prefix, ...(s.put ? { headers: s.put } : {}) };
        const w = await measure(s, 'PUT', () => putLoop(s.client, 'small', loopOpts));
        const g = await measure(s, 'GET', async () => ({
          result: await getLoop(s.client, 'small', w.written, { seconds: SMALL_SECONDS, ...(s.get ? { headers: s.get } : {}) }),
        }));
        const rate = (x: LoopResult) => fmt(x.ops / x.seconds, 0);
        line.push(`${s.name} PUT ${rate(w.result)} GET ${rate(g.result)}`);
      }
      console.log(`  round ${r + 1} (ops/s): ${line.join(', ')}`);
    }
    base.close();
    // The gateway must not fail a request; s3rver drops a few keep-alive connections on a loaded machine (ECONNRESET):
    // those are said, and its rates count only what it answered.
    for (const [s, t] of totals)
      for (const op of ['PUT', 'GET'] as const) {
        if (Object.keys(t[op].result.errors).length === 0) continue;
        const what = `small objects: ${s.name} ${op} had errors: ${JSON.stringify(t[op].result.errors)}`;
        if (s.client !== base) throw new Error(what);
        console.log(`  ${what}`);
      }
    const b = totals.get(sides[0]!)!;
    const rate = (t: OpTotals) => t.result.ops / t.result.seconds;
    const lat = (t: OpTotals, op: string) =>
      `${fmt(percentile(t.result.latencies[op]!, 50), 1)}/${fmt(percentile(t.result.latencies[op]!, 99), 1)}`;
    const micros = (seconds: number, t: OpTotals) => (seconds * 1e6) / t.result.ops;
    for (const [i, c] of cases.entries()) {
      const m = totals.get(sides[i + 1]!)!;
      for (const op of ['PUT', 'GET'] as const) {
        const ratios = m[op].rates.map((g, r) => g / b[op].rates[r]!);
        const ratio = median(ratios);
        const target = op === 'PUT' ? c.target.put : c.target.get;
        row(
          `${op} 4 KiB ${c.name}`,
          `${fmt(rate(m[op]), 0)} ops/s`,
          `s3rver ${fmt(rate(b[op]), 0)} ops/s`,
          ratio,
          `≥ ${fmt(target, 1)}×`,
          ratio >= target,
        );
      }
      const cpu = (op: 'PUT' | 'GET') => `${fmt(micros(m[op].server, m[op]), 0)}+${fmt(micros(m[op].kes, m[op]), 0)}`;
      row(
        '  (info) CPU µs per op, gateway+kes: PUT · GET',
        `${cpu('PUT')} · ${cpu('GET')}`,
        `s3rver ${fmt(micros(b.PUT.server, b.PUT), 0)} · ${fmt(micros(b.GET.server, b.GET), 0)}`,
        undefined,
        '',
        undefined,
      );
      const per1000 = (n: number, t: OpTotals) => fmt((n * 1000) / t.result.ops, 0);
      row(
        '  (info) per 1,000 PUT · GET: data keys, kes requests',
        `${per1000(m.PUT.dataKeyCalls, m.PUT)}, ${per1000(m.PUT.kesRequests, m.PUT)} · ${per1000(m.GET.dataKeyCalls, m.GET)}, ${per1000(m.GET.kesRequests, m.GET)}`,
        `p50/p99 ms PUT ${lat(m.PUT, 'PUT')} GET ${lat(m.GET, 'GET')}`,
        undefined,
        '',
        undefined,
      );
    }
    console.log(
      `  s3rver p50/p99 ms: PUT ${lat(b.PUT, 'PUT')}, GET ${lat(b.GET, 'GET')}; ratios are medians of the ${ROUNDS} rounds' ratios`,
    );
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
    ...(process.env.BENCH_KES_BULK === '0' ? { kesBulk: false } : {}),
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
