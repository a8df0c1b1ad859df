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
// Env: BENCH_LARGE_MIB (256), BENCH_ROUNDS (3), BENCH_SMALL_SECONDS (3 per slot), BENCH_GATEWAY_LOG (warn),
//      BENCH_KEEP=1 (keep the temp directories). Needs PostgreSQL and moto_server (skipped without them).
// Run: npm run bench -- cluster   (node --import tsx --expose-gc scripts/bench/cluster.ts)
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { motoMissing, startMotoServer, type MotoServer } from '../lib/moto.js';
import { postgresMissing, startPostgres, type PostgresCluster } from '../lib/postgres.js';
import { positiveEnv } from './lib/env.js';
import { procCpuSeconds } from './lib/processes.js';
import { RawS3 } from './lib/s3-raw.js';
import { sseS3 } from './lib/sse-headers.js';
import { timedMultipartPut } from './lib/multipart.js';
import { PART_SIZE, PARTS_IN_FLIGHT } from '../../packages/gateway/src/storage/blobs/s3/writer.js';
import { startBenchStack, type BenchStack } from './lib/stack.js';
import { MiB, fmt, loadAverage, median, percentile, table } from './lib/stats.js';
import { emptyResult, mergeInto, putGetLoop, timedGet, timedPut, type LoopResult } from './lib/transfer.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const PHASES = ['put', 'get', 'small'] as const;
type Phase = (typeof PHASES)[number];
const only = new Set((process.env.BENCH_ONLY ?? PHASES.join(',')).split(',').map((s) => s.trim()));
for (const p of only) if (!PHASES.includes(p as Phase)) throw new Error(`BENCH_ONLY: unknown figure "${p}"; expected some of ${PHASES.join(',')}`);
const want = (p: Phase): boolean => only.has(p);

const LARGE = positiveEnv('BENCH_LARGE_MIB', 256) * MiB;
const ROUNDS = positiveEnv('BENCH_ROUNDS', 3, true);
const SMALL_SECONDS = positiveEnv('BENCH_SMALL_SECONDS', 3);
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
  moto: MotoServer;
  gw: RawS3;
  direct: RawS3;
  block: Buffer;
}

/** Upstream requests between two counts of moto's, by kind, per client request. */
function perRequest(before: Record<string, number>, after: Record<string, number>, clientRequests: number): string {
  const kinds = Object.keys(after).filter((k) => (after[k] ?? 0) > (before[k] ?? 0)).sort();
  const total = kinds.reduce((n, k) => n + after[k]! - (before[k] ?? 0), 0);
  const each = kinds.map((k) => `${k} ${fmt((after[k]! - (before[k] ?? 0)) / clientRequests, 2)}`).join(', ');
  return `${fmt(total / clientRequests, 2)} (${each})`;
}

/** One way of moving the large object: through the gateway, or straight to moto. */
interface Side {
  name: string;
  key: string;
  put(): Promise<number>;
  get(): Promise<number>;
  /** CPU seconds so far of the gateway (0 for the direct sides) and of moto. */
  cpu(): { gateway: number; moto: number };
}

function sides(e: Env): { gw: Side; direct: Side; parts: Side } {
  const moto = () => procCpuSeconds(e.moto.process.pid!);
  const direct = (name: string, key: string, put: () => Promise<number>): Side => ({
    name,
    key,
    put,
    get: () => timedGet(e.direct, BUCKET, key, LARGE),
    cpu: () => ({ gateway: 0, moto: moto() }),
  });
  return {
    gw: {
      name: 'gateway',
      key: 'large',
      put: () => timedPut(e.gw, BUCKET, 'large', LARGE, e.block, sseS3()),
      get: () => timedGet(e.gw, BUCKET, 'large', LARGE),
      cpu: () => ({ gateway: procCpuSeconds(e.stack.gatewayPid), moto: moto() }),
    },
    direct: direct('direct', 'large', () => timedPut(e.direct, BUCKET, 'large', LARGE, e.block)),
    // What the gateway's s3 blob store sends upstream for the same object, without the gateway.
    parts: direct('direct in parts', 'large-parts', () =>
      timedMultipartPut(e.direct, BUCKET, 'large-parts', { size: LARGE, block: e.block, partSize: PART_SIZE, inFlight: PARTS_IN_FLIGHT }),
    ),
  };
}

async function large(kind: 'PUT' | 'GET', e: Env): Promise<void> {
  const { gw, direct, parts } = sides(e);
  const measured = kind === 'PUT' ? [direct, gw, parts] : [direct, gw];
  console.log(`\n[${kind.toLowerCase()}] ${LARGE / MiB} MiB ${kind}, ${ROUNDS} interleaved rounds, medians (MB/s = MiB/s)`);
  const mbps = new Map<Side, number[]>(measured.map((s) => [s, []]));
  // CPU milliseconds per MiB moved, by process: the gateway's, and moto's on behalf of each side.
  const cpu = new Map<Side, { gateway: number[]; moto: number[] }>(measured.map((s) => [s, { gateway: [], moto: [] }]));
  const upstream = new Map<Side, string>();
  for (let r = 0; r < ROUNDS; r++) {
    const line: string[] = [];
    for (const s of measured) {
      const [c0, q0] = [s.cpu(), e.moto.requests()];
      const v = kind === 'PUT' ? await s.put() : await s.get();
      const [c1, q1] = [s.cpu(), e.moto.requests()];
      mbps.get(s)!.push(v);
      cpu.get(s)!.gateway.push(((c1.gateway - c0.gateway) * 1000) / (LARGE / MiB));
      cpu.get(s)!.moto.push(((c1.moto - c0.moto) * 1000) / (LARGE / MiB));
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
  const ms = (v: number[]) => `${fmt(median(v), 2)} ms/MiB`;
  row(`  (info) ${kind} CPU: moto's`, ms(cpu.get(gw)!.moto), ms(cpu.get(direct)!.moto), median(cpu.get(gw)!.moto) / median(cpu.get(direct)!.moto), undefined);
  if (kind === 'PUT') row("  (info) PUT CPU: moto's, direct in parts", '', ms(cpu.get(parts)!.moto), undefined, undefined);
  row(`  (info) ${kind} CPU: the gateway's`, ms(cpu.get(gw)!.gateway), '', undefined, undefined);
  console.log(`  upstream requests per ${kind}: gateway ${upstream.get(gw)}; direct ${upstream.get(direct)}`);
}

function describeLoop(r: LoopResult): string {
  const lat = (op: string) => `${op} p50 ${fmt(percentile(r.latencies[op] ?? [], 50), 1)} / p99 ${fmt(percentile(r.latencies[op] ?? [], 99), 1)} ms`;
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
  for (let r = 0; r < ROUNDS; r++) {
    const q0 = e.moto.requests();
    const d = await putGetLoop(e.direct, BUCKET, { ...opts, seconds: SMALL_SECONDS });
    const q1 = e.moto.requests();
    const g = await putGetLoop(e.gw, BUCKET, { ...opts, seconds: SMALL_SECONDS });
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
}

async function main(): Promise<void> {
  const missing = postgresMissing() ?? motoMissing();
  if (missing) {
    console.log(`cluster benchmark skipped: ${missing}`);
    return;
  }
  const loadBefore = await loadAverage();
  console.log(`cluster benchmark: ${[...only].join(', ')}; load average ${loadBefore}`);
  let pg: PostgresCluster | undefined;
  let moto: MotoServer | undefined;
  let stack: BenchStack | undefined;
  const clients: RawS3[] = [];
  try {
    // PostgreSQL with its default durability (fsync on), as a deployment runs it.
    pg = await startPostgres({ settings: { fsync: 'on', full_page_writes: 'on' } });
    const url = await pg.createDatabase('kesgate', { user: 'kesgate', password: randomBytes(12).toString('hex') });
    moto = await startMotoServer();
    const creds = { accessKey: 'moto-access', secretKey: 'moto-secret', region: 'us-east-1' };
    const admin = new S3Client({ endpoint: moto.endpoint, region: creds.region, forcePathStyle: true, credentials: { accessKeyId: creds.accessKey, secretAccessKey: creds.secretKey } });
    await admin.send(new CreateBucketCommand({ Bucket: UPSTREAM_BUCKET }));
    admin.destroy();
    stack = await startBenchStack({
      logLevel: process.env.BENCH_GATEWAY_LOG ?? 'warn',
      backend: {
        metadata: { postgres: { url } },
        blobs: { s3: { endpoint: moto.endpoint, bucket: UPSTREAM_BUCKET, region: creds.region, accessKey: creds.accessKey, secretKey: creds.secretKey, pathStyle: true } },
      },
    });
    const make = (endpoint: string, c = stack!.creds) => {
      const client = new RawS3({ endpoint, creds: c, maxSockets: CLIENTS });
      clients.push(client);
      return client;
    };
    const e: Env = { stack, moto, gw: make(stack.url), direct: make(moto.endpoint, creds), block: randomBytes(MiB) };
    await e.gw.createBucket(BUCKET);
    await e.direct.createBucket(BUCKET);
    console.log(`kes + gateway in ${stack.dir} (gateway pid ${stack.gatewayPid}); PostgreSQL on port ${pg.port}; moto_server pid ${moto.process.pid} at ${moto.endpoint}`);
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
