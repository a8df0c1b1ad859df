// Rotation benchmark: a rotation job over BENCH_ROTATION_OBJECTS SSE-S3 objects, objects/s,
// beside the baseline of kes generate+decrypt pairs/s alone — measured against the same kes process, with
// the gateway's identity, at the job's concurrency. Rotating an object is one decrypt (unseal the object key
// under the old master key) and one generate (seal it under the new one) plus a metadata update, so the
// ratio shows what the gateway adds around kes. Processes as in the gateway benchmark (kes server, kesgate
// server); rounds alternate baseline and rotation (to key-b, then back to the default key), each round gives a
// ratio and the median ratio is the figure, so load from other processes weighs on both sides alike.
// Run: npm run bench -- rotation   (node --import tsx scripts/bench/rotation.ts)
// Env: BENCH_ROTATION_OBJECTS (10000), BENCH_ROTATION_CONCURRENCY (8, the gateway's default),
//      BENCH_ROUNDS (3), BENCH_BASELINE_SECONDS (5), BENCH_KEEP=1 (keep the temp directory),
//      BENCH_GATEWAY_PROFILE=<dir> (CPU profiles of the gateway process, node --cpu-prof).
import { randomBytes } from 'node:crypto';
import { KesClient } from '@kesgate/kes-client';
import { AdminClient } from '@kesgate/gateway';
import { rotate } from '../load/rotation.js';
import { procCpuSeconds } from './lib/processes.js';
import { expectStatus, RawS3 } from './lib/s3-raw.js';
import { sseS3 } from './lib/sse-headers.js';
import { DEFAULT_KEY, startBenchStack, type BenchStack } from './lib/stack.js';
import { fmt, loadAverage, median, table } from './lib/stats.js';
import { positiveEnv } from './lib/env.js';

const num = (name: string, dflt: number): number => positiveEnv(name, dflt, true);
const OBJECTS = num('BENCH_ROTATION_OBJECTS', 10_000);
const CONCURRENCY = num('BENCH_ROTATION_CONCURRENCY', 8);
const ROUNDS = num('BENCH_ROUNDS', 3);
const BASELINE_SECONDS = num('BENCH_BASELINE_SECONDS', 5);
const BUCKET = 'rotation';
const OTHER_KEY = 'key-b';

async function populate(s3: RawS3): Promise<void> {
  let next = 0;
  const body = randomBytes(64);
  const worker = async (): Promise<void> => {
    while (next < OBJECTS) {
      const i = next++;
      expectStatus(await s3.put(BUCKET, `obj/${String(i).padStart(6, '0')}`, body, sseS3()), 200, `PUT object ${i}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

interface Measured {
  perSecond: number;
  kesCpuPerOp: number;
  gatewayCpuPerOp: number;
}

/** generate+decrypt pairs against kes for BASELINE_SECONDS at CONCURRENCY, as the gateway's identity. */
async function baseline(stack: BenchStack, kes: KesClient): Promise<Measured> {
  const context = Buffer.from(JSON.stringify({ bucket: BUCKET, key: 'obj/000000' }));
  const cpu0 = procCpuSeconds(stack.kesPid);
  const start = performance.now();
  const end = start + BASELINE_SECONDS * 1000;
  let pairs = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const dk = await kes.generateKey(OTHER_KEY, context);
      const plain = await kes.decryptKey(OTHER_KEY, dk.ciphertext, context);
      if (!plain.equals(dk.plaintext)) throw new Error('kes decrypted a data key to other bytes than it generated');
      pairs++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - start) / 1000;
  return { perSecond: pairs / seconds, kesCpuPerOp: (procCpuSeconds(stack.kesPid) - cpu0) / pairs, gatewayCpuPerOp: 0 };
}

async function rotation(stack: BenchStack, admin: AdminClient, toKey: string): Promise<Measured> {
  const [k0, g0] = [procCpuSeconds(stack.kesPid), procCpuSeconds(stack.gatewayPid)];
  const outcome = await rotate(admin, { bucket: BUCKET, toKey });
  if (!outcome.ran) throw new Error(`rotation did not run: ${outcome.why}`);
  const { job, seconds } = outcome;
  if (job.state !== 'done' || job.counters.rotated !== OBJECTS) {
    throw new Error(`rotation job ${job.id} ended ${job.state}: ${JSON.stringify(job.counters)} ${job.error ?? ''}`);
  }
  return {
    perSecond: OBJECTS / seconds,
    kesCpuPerOp: (procCpuSeconds(stack.kesPid) - k0) / OBJECTS,
    gatewayCpuPerOp: (procCpuSeconds(stack.gatewayPid) - g0) / OBJECTS,
  };
}

async function main(): Promise<void> {
  const loadBefore = await loadAverage();
  console.log(`rotation benchmark: ${OBJECTS} SSE-S3 objects, concurrency ${CONCURRENCY}, ${ROUNDS} rounds; load average ${loadBefore}`);
  const profileDir = process.env.BENCH_GATEWAY_PROFILE;
  const stack = await startBenchStack({
    keys: [OTHER_KEY],
    rotationConcurrency: CONCURRENCY,
    ...(profileDir ? { gatewayProfileDir: profileDir } : {}),
  });
  const s3 = new RawS3({ endpoint: stack.url, creds: stack.creds, maxSockets: 32 });
  const kes = new KesClient({
    endpoints: [stack.kesUrl],
    cert: stack.gatewayIdentity.cert,
    key: stack.gatewayIdentity.key,
    ca: stack.caPem,
  });
  const admin = new AdminClient({
    endpoint: stack.url,
    accessKey: stack.creds.accessKey,
    secretKey: stack.creds.secretKey,
    region: stack.creds.region,
  });
  const base: Measured[] = [];
  const rot: Measured[] = [];
  try {
    await s3.createBucket(BUCKET);
    const t0 = performance.now();
    await populate(s3);
    console.log(`populated ${OBJECTS} objects in ${fmt((performance.now() - t0) / 1000, 1)} s (kes + gateway in ${stack.dir})`);
    for (let round = 0; round < ROUNDS; round++) {
      const b = await baseline(stack, kes);
      base.push(b);
      const r = await rotation(stack, admin, round % 2 === 0 ? OTHER_KEY : DEFAULT_KEY);
      rot.push(r);
      console.log(
        `  round ${round + 1}: kes pairs ${fmt(b.perSecond, 0)}/s (kes ${fmt(b.kesCpuPerOp * 1000, 2)} ms CPU/pair); ` +
          `rotation ${fmt(r.perSecond, 0)} objects/s = ${fmt(r.perSecond / b.perSecond, 2)}× (kes ${fmt(r.kesCpuPerOp * 1000, 2)}, gateway ${fmt(r.gatewayCpuPerOp * 1000, 2)} ms CPU/object)`,
      );
    }
  } finally {
    s3.close();
    kes.close();
    await stack.close();
  }
  const pairs = median(base.map((m) => m.perSecond));
  const objects = median(rot.map((m) => m.perSecond));
  const ratio = median(rot.map((r, i) => r.perSecond / base[i]!.perSecond));
  console.log(`\nload average before ${loadBefore}, after ${await loadAverage()}\n`);
  console.log(
    table(
      ['figure', 'gateway', 'baseline (same run)', 'ratio', 'target', 'met'],
      [
        [
          `rotation of ${OBJECTS} SSE-S3 objects`,
          `${fmt(objects, 0)} objects/s`,
          `kes generate+decrypt ${fmt(pairs, 0)} pairs/s`,
          `${fmt(ratio, 2)}×`,
          '≥ 0.5×',
          ratio >= 0.5 ? 'yes' : 'NO',
        ],
        [
          '  (info) CPU per object vs per pair',
          `gw ${fmt(median(rot.map((m) => m.gatewayCpuPerOp)) * 1000, 2)} + kes ${fmt(median(rot.map((m) => m.kesCpuPerOp)) * 1000, 2)} ms`,
          `kes ${fmt(median(base.map((m) => m.kesCpuPerOp)) * 1000, 2)} ms`,
          '',
          '',
          '',
        ],
      ],
    ),
  );
}

await main();
