// Cluster benchmark: a gateway on the scale-out layout (metadata in PostgreSQL, encrypted blobs in an
// upstream S3 bucket) against the same client talking straight to that upstream, in the same run. The
// upstream is moto_server (the one S3 server that runs here; MinIO or Ceph would be faster, and the
// gateway's overhead would weigh more). Measurements of gateway and upstream are interleaved in rounds and
// the median kept, so load from other processes on a shared machine weighs on both.
//
// Figures (BENCH_ONLY=put,get,small picks a subset; default all, in this order):
//   put    PUT of a BENCH_LARGE_MIB object (SSE-S3, UNSIGNED-PAYLOAD), MB/s: gateway vs direct   target ≥ 0.6×
//   get    GET of the same objects, MB/s                                                       target ≥ 0.6×
//   small  PUT+GET of 4 KiB objects, 32 concurrent keep-alive clients, ops/s                   target ≥ 0.5×
// Beside each figure: the upstream requests one client request cost, and the CPU every server spent on it
// (gateway, kes, PostgreSQL, moto); for PUT also the gateway's upstream pattern (parts) sent directly.
// Env: BENCH_LARGE_MIB (256), BENCH_ROUNDS (3), BENCH_SMALL_SECONDS (3 per slot), BENCH_GATEWAY_LOG (info),
//      BENCH_GATEWAY_PROFILE=<dir> (CPU profiles of the gateway process, node --cpu-prof),
//      BENCH_PG_FSYNC (on; off: commits not flushed, as moto keeps its bucket in memory), BENCH_KEEP=1 (keep
//      the temp directories). Needs PostgreSQL and moto_server; says so and measures nothing without them.
// Run: npm run bench -- cluster   (node --import tsx --expose-gc scripts/bench/cluster.ts)
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { motoMissing, startMotoServer, type MotoServer } from '../lib/moto.js';
import { postgresMissing, startPostgres, type PostgresCluster } from '../lib/postgres.js';
import { positiveEnv } from './lib/env.js';
import { procCpuSeconds, treeCpuSeconds } from './lib/processes.js';
import { RawS3 } from './lib/s3-raw.js';
import { sseS3 } from './lib/sse-headers.js';
import { timedMultipartPut } from './lib/multipart.js';
import { PART_SIZE, PARTS_IN_FLIGHT } from '@kesgate/gateway';
import { startBenchStack, type BenchStack } from './lib/stack.js';
import { MiB, fmt, loadAverage, median, percentile, table } from './lib/stats.js';
import { emptyResult, mergeInto, putGetLoop, timedGet, timedPut, type LoopResult } from './lib/transfer.js';

// The SDK's notice that its 2027 releases will need Node 22 is not a result of this benchmark.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const PHASES = ['put', 'get', 'small'] as const;
type Phase = (typeof PHASES)[number];
const only = new Set((process.env.BENCH_ONLY ?? PHASES.join(',')).split(',').map((s) => s.trim()));
for (const p of only)
  if (!PHASES.includes(p as Phase)) throw new Error(`BENCH_ONLY: unknown figure "${p}"; expected some of ${PHASES.join(',')}`);
const want = (p: Phase): boolean => only.has(p);

const LARGE = positiveEnv('BENCH_LARGE_MIB', 256) * MiB;
const ROUNDS = positiveEnv('BENCH_ROUNDS', 3, true);
const SMALL_SECONDS = positiveEnv('BENCH_SMALL_SECONDS', 3);
const PG_FSYNC = process.env.BENCH_PG_FSYNC ?? 'on';
if (PG_FSYNC !== 'on' && PG_FSYNC !== 'off') throw new Error(`BENCH_PG_FSYNC must be on or off; got ${PG_FSYNC}`);
const CLIENTS = 32;
const BUCKET = 'bench';
const UPSTREAM_BUCKET = 'kesgate-data';
const TARGET = { large: 0.6, small: 0.5 };

const rows: string[][] = [];
function row(figure: string, gateway: string, direct: string, ratio: number | undefined, target: number | undefined): void {
  const r = ratio === undefined ? '' : `${fmt(ratio, 2)}×`;
  const met = ratio === undefined || target === undefined ? '' : ratio >= target ? 'yes' : 'NO';
  rows.push([figure, gateway, direct, r, target === undefined ? '' : `≥ ${target}×`, met]);
  const sides = [gateway && `gateway ${gateway}`, direct && `direct ${direct}`].filter(Boolean).join('  |  ');
  console.log(`  ${figure.trim()}: ${sides}${r ? `  |  ${r}` : ''}${target ? ` (target ≥ ${target}×)` : ''}`);
}

interface Env {
  stack: BenchStack;
  pg: PostgresCluster;
  moto: MotoServer;
  gw: RawS3;
  direct: RawS3;
  block: Buffer;
}

/** Upstream requests between two counts of moto's, by kind, per client request. */
function perRequest(before: Record<string, number>, after: Record<string, number>, clientRequests: number): string {
  const kinds = Object.keys(after)
    .filter((k) => (after[k] ?? 0) > (before[k] ?? 0))
    .sort();
  const total = kinds.reduce((n, k) => n + after[k]! - (before[k] ?? 0), 0);
  const each = kinds.map((k) => `${k} ${fmt((after[k]! - (before[k] ?? 0)) / clientRequests, 2)}`).join(', ');
  return `${fmt(total / clientRequests, 2)} (${each})`;
}

/** CPU seconds so far of each server process (PostgreSQL: the postmaster and its backends). */
type Cpu = Record<'gateway' | 'kes' | 'postgres' | 'moto', number>;
function cpuNow(e: Env): Cpu {
  return {
    gateway: procCpuSeconds(e.stack.gatewayPid),
    kes: procCpuSeconds(e.stack.kesPid),
    postgres: treeCpuSeconds(e.pg.process!.pid!),
    moto: procCpuSeconds(e.moto.process.pid!),
  };
}
function cpuSince(before: Cpu, after: Cpu): Cpu {
  return {
    gateway: after.gateway - before.gateway,
    kes: after.kes - before.kes,
    postgres: after.postgres - before.postgres,
    moto: after.moto - before.moto,
  };
}
/** "gateway 9.0 + kes 0.1 + postgres 0.2 + moto 28.3 = 37.6 ms/MiB" for the processes that worked. */
function describeCpu(cpu: Cpu, per: number, unit: string, only?: (keyof Cpu)[]): { total: number; text: string } {
  const names = only ?? (Object.keys(cpu) as (keyof Cpu)[]);
  const ms = names.map((n) => [n, (cpu[n] * 1000) / per] as const);
  const total = ms.reduce((t, [, v]) => t + v, 0);
  return { total, text: `${ms.map(([n, v]) => `${n} ${fmt(v, 2)}`).join(' + ')}${names.length > 1 ? ` = ${fmt(total, 2)}` : ''} ${unit}` };
}

/** One way of moving the large object: through the gateway, or straight to moto. */
interface Side {
  name: string;
  put(): Promise<number>;
  get(): Promise<number>;
}

function sides(e: Env): { gw: Side; direct: Side; parts: Side } {
  return {
    gw: {
      name: 'gateway',
      put: () => timedPut(e.gw, BUCKET, 'large', LARGE, e.block, sseS3()),
      get: () => timedGet(e.gw, BUCKET, 'large', LARGE),
    },
    direct: {
      name: 'direct',
      put: () => timedPut(e.direct, BUCKET, 'large', LARGE, e.block),
      get: () => timedGet(e.direct, BUCKET, 'large', LARGE),
    },
    // What the gateway's s3 blob store sends upstream for the same object, without the gateway.
    parts: {
      name: 'direct in parts',
      put: () =>
        timedMultipartPut(e.direct, BUCKET, 'large-parts', { size: LARGE, block: e.block, partSize: PART_SIZE, inFlight: PARTS_IN_FLIGHT }),
      get: () => timedGet(e.direct, BUCKET, 'large-parts', LARGE),
    },
  };
}

async function large(kind: 'PUT' | 'GET', e: Env): Promise<void> {
  const { gw, direct, parts } = sides(e);
  const measured = kind === 'PUT' ? [direct, gw, parts] : [direct, gw];
  console.log(`\n[${kind.toLowerCase()}] ${LARGE / MiB} MiB ${kind}, ${ROUNDS} interleaved rounds, medians (MB/s = MiB/s)`);
  const mbps = new Map<Side, number[]>(measured.map((s) => [s, []]));
  const cpu = new Map<Side, Cpu[]>(measured.map((s) => [s, []]));
  const upstream = new Map<Side, string>();
  for (let r = 0; r < ROUNDS; r++) {
    const line: string[] = [];
    for (const s of measured) {
      const [c0, q0] = [cpuNow(e), e.moto.requests()];
      const v = kind === 'PUT' ? await s.put() : await s.get();
      const [c1, q1] = [cpuNow(e), e.moto.requests()];
      mbps.get(s)!.push(v);
      cpu.get(s)!.push(cpuSince(c0, c1));
      upstream.set(s, perRequest(q0, q1, 1));
      line.push(`${s.name} ${fmt(v, 0)} MB/s`);
    }
    console.log(`  round ${r + 1}: ${line.join(', ')}`);
  }
  const m = (s: Side) => median(mbps.get(s)!);
  row(`${kind} ${LARGE / MiB} MiB`, `${fmt(m(gw), 0)} MB/s`, `${fmt(m(direct), 0)} MB/s`, m(gw) / m(direct), TARGET.large);
  if (kind === 'PUT') {
    row(
      `  (info) PUT vs direct as ${PART_SIZE / MiB} MiB parts, ${PARTS_IN_FLIGHT} at a time (the gateway's upstream pattern)`,
      `${fmt(m(gw), 0)} MB/s`,
      `${fmt(m(parts), 0)} MB/s`,
      m(gw) / m(parts),
      undefined,
    );
  }
  // Server CPU per MiB does not depend on how busy the machine is: it says where the time goes.
  const medianCpu = (s: Side): Cpu => {
    const all = cpu.get(s)!;
    return {
      gateway: median(all.map((c) => c.gateway)),
      kes: median(all.map((c) => c.kes)),
      postgres: median(all.map((c) => c.postgres)),
      moto: median(all.map((c) => c.moto)),
    };
  };
  const g = describeCpu(medianCpu(gw), LARGE / MiB, 'ms/MiB');
  const d = describeCpu(medianCpu(direct), LARGE / MiB, 'ms/MiB', ['moto']);
  console.log(`  server CPU per MiB: gateway side ${g.text}; direct ${d.text}`);
  if (kind === 'PUT')
    console.log(`  server CPU per MiB, direct in parts: ${describeCpu(medianCpu(parts), LARGE / MiB, 'ms/MiB', ['moto']).text}`);
  row(`  (info) ${kind} server CPU per MiB, all servers`, `${fmt(g.total, 2)} ms`, `${fmt(d.total, 2)} ms`, g.total / d.total, undefined);
  console.log(`  upstream requests per ${kind}: gateway ${upstream.get(gw)}; direct ${upstream.get(direct)}`);
}

function describeLoop(r: LoopResult): string {
  const lat = (op: string) =>
    `${op} p50 ${fmt(percentile(r.latencies[op] ?? [], 50), 1)} / p99 ${fmt(percentile(r.latencies[op] ?? [], 99), 1)} ms`;
  return `${fmt(r.ops / r.seconds, 0)} ops/s; ${lat('PUT')}; ${lat('GET')}`;
}

async function small(e: Env): Promise<void> {
  console.log(`\n[small] 4 KiB PUT+GET, ${CLIENTS} keep-alive clients, ${ROUNDS} interleaved rounds of ${SMALL_SECONDS} s each`);
  const opts = { clients: CLIENTS, size: 4096, keysPerClient: 64, pool: e.block };
  // Warm-up: connections, JIT, the first writes of every key.
  await putGetLoop(e.direct, BUCKET, { ...opts, seconds: 1 });
  await putGetLoop(e.gw, BUCKET, { ...opts, seconds: 1 });
  const totals = { direct: emptyResult(), gw: emptyResult() };
  const upstream = { direct: '', gw: '' };
  const zero: Cpu = { gateway: 0, kes: 0, postgres: 0, moto: 0 };
  const cpu = { direct: { ...zero }, gw: { ...zero } };
  const add = (into: Cpu, c: Cpu) => {
    for (const k of Object.keys(c) as (keyof Cpu)[]) into[k] += c[k];
  };
  for (let r = 0; r < ROUNDS; r++) {
    const [q0, c0] = [e.moto.requests(), cpuNow(e)];
    const d = await putGetLoop(e.direct, BUCKET, { ...opts, seconds: SMALL_SECONDS });
    const [q1, c1] = [e.moto.requests(), cpuNow(e)];
    const g = await putGetLoop(e.gw, BUCKET, { ...opts, seconds: SMALL_SECONDS });
    add(cpu.direct, cpuSince(c0, c1));
    add(cpu.gw, cpuSince(c1, cpuNow(e)));
    upstream.direct = perRequest(q0, q1, d.ops);
    upstream.gw = perRequest(q1, e.moto.requests(), g.ops);
    mergeInto(totals.direct, d);
    mergeInto(totals.gw, g);
    console.log(`  round ${r + 1}: direct ${fmt(d.ops / d.seconds, 0)} ops/s, gateway ${fmt(g.ops / g.seconds, 0)} ops/s`);
  }
  for (const [name, t] of Object.entries(totals)) {
    if (Object.keys(t.errors).length > 0) throw new Error(`small objects: ${name} had errors: ${JSON.stringify(t.errors)}`);
  }
  console.log(`  gateway (SSE-S3 by default): ${describeLoop(totals.gw)}\n  direct to moto:              ${describeLoop(totals.direct)}`);
  // A superseded blob is deleted upstream after a grace period: the DELETEs of one round may land in the next.
  console.log(`  upstream requests per client request (last round): gateway ${upstream.gw}; direct ${upstream.direct}`);
  const [g, d] = [totals.gw.ops / totals.gw.seconds, totals.direct.ops / totals.direct.seconds];
  row(`PUT+GET 4 KiB, ${CLIENTS} clients`, `${fmt(g, 0)} ops/s`, `${fmt(d, 0)} ops/s`, g / d, TARGET.small);
  const p = (t: LoopResult, op: string) => `${fmt(percentile(t.latencies[op]!, 50), 1)}/${fmt(percentile(t.latencies[op]!, 99), 1)} ms`;
  row('  (info) 4 KiB PUT p50/p99', p(totals.gw, 'PUT'), p(totals.direct, 'PUT'), undefined, undefined);
  row('  (info) 4 KiB GET p50/p99', p(totals.gw, 'GET'), p(totals.direct, 'GET'), undefined, undefined);
  const gc = describeCpu(cpu.gw, totals.gw.ops, 'ms/request');
  const dc = describeCpu(cpu.direct, totals.direct.ops, 'ms/request', ['moto']);
  console.log(`  server CPU per request: gateway side ${gc.text}; direct ${dc.text}`);
  row(
    '  (info) 4 KiB server CPU per request, all servers',
    `${fmt(gc.total, 2)} ms`,
    `${fmt(dc.total, 2)} ms`,
    gc.total / dc.total,
    undefined,
  );
}

async function main(): Promise<void> {
  const missing = postgresMissing() ?? motoMissing();
  if (missing) {
    console.log(`cluster benchmark skipped: ${missing}`);
    return;
  }
  const loadBefore = await loadAverage();
  console.log(`cluster benchmark: ${[...only].join(', ')}; PostgreSQL fsync ${PG_FSYNC}; load average ${loadBefore}`);
  let pg: PostgresCluster | undefined;
  let moto: MotoServer | undefined;
  let stack: BenchStack | undefined;
  const clients: RawS3[] = [];
  try {
    // PostgreSQL with its default durability (fsync on), as a deployment runs it, unless BENCH_PG_FSYNC=off; WAL for
    // replicas and autovacuum as a deployment has them (startPostgres turns both off for throwaway test clusters).
    pg = await startPostgres({
      settings: { fsync: PG_FSYNC, full_page_writes: PG_FSYNC, wal_level: 'replica', max_wal_senders: '10', autovacuum: 'on' },
    });
    const url = await pg.createDatabase('kesgate', { user: 'kesgate', password: randomBytes(12).toString('hex') });
    moto = await startMotoServer();
    const creds = { accessKey: 'moto-access', secretKey: 'moto-secret', region: 'us-east-1' };
    const admin = new S3Client({
      endpoint: moto.endpoint,
      region: creds.region,
      forcePathStyle: true,
      credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey },
    });
    await admin.send(new CreateBucketCommand({ Bucket: UPSTREAM_BUCKET }));
    admin.destroy();
    const profileDir = process.env.BENCH_GATEWAY_PROFILE;
    stack = await startBenchStack({
      logLevel: process.env.BENCH_GATEWAY_LOG ?? 'info',
      ...(profileDir ? { gatewayProfileDir: profileDir } : {}),
      backend: {
        metadata: { postgres: { url } },
        blobs: {
          s3: {
            endpoint: moto.endpoint,
            bucket: UPSTREAM_BUCKET,
            region: creds.region,
            accessKey: creds.accessKey,
            secretKey: creds.secretKey,
            pathStyle: true,
          },
        },
      },
    });
    const make = (endpoint: string, c = stack!.creds) => {
      const client = new RawS3({ endpoint, creds: c, maxSockets: CLIENTS });
      clients.push(client);
      return client;
    };
    const e: Env = { stack, pg, moto, gw: make(stack.url), direct: make(moto.endpoint, creds), block: randomBytes(MiB) };
    await e.gw.createBucket(BUCKET);
    await e.direct.createBucket(BUCKET);
    console.log(
      `kes + gateway in ${stack.dir} (gateway pid ${stack.gatewayPid}); PostgreSQL on port ${pg.port}; moto_server pid ${moto.process.pid} at ${moto.endpoint}`,
    );
    if (want('put')) await large('PUT', e);
    if (want('get')) {
      if (!want('put')) for (const x of [sides(e).gw, sides(e).direct]) await x.put();
      await large('GET', e);
    }
    if (want('small')) await small(e);
  } finally {
    for (const c of clients) c.close();
    await stack?.close();
    await moto?.close();
    await pg?.close();
  }
  console.log(`\nload average before ${loadBefore}, after ${await loadAverage()}\n`);
  console.log(table(['figure', 'gateway (postgres + moto)', 'direct to moto (same run)', 'ratio', 'target', 'met'], rows));
}

await main();
