// Load test: kes and the gateway as processes (`kes server`, `kesgate server`), 64 concurrent clients
// mixing PUT/GET/DELETE (sizes 0–256 KiB; SSE-S3, SSE-KMS under two keys, SSE-C over HTTPS) for a
// fixed number of operations, and midway a rotation job through the admin API that re-wraps every
// SSE-S3/SSE-KMS object under key-b while the clients keep writing. Oracles: no unexpected status
// (404 NoSuchKey for a key the client deleted is expected; anything else is counted by code), every
// GET byte-identical (SHA-256) to the client's last PUT of that key, the rotation job done with no
// failed object, and a final GET of every key after the job. Exit code 1 on any violation.
// Run: npm run load   (node --import tsx scripts/load/run.ts)
// Env: LOAD_OPS (5000), LOAD_CLIENTS (64), LOAD_KEYS_PER_CLIENT (8), LOAD_MAX_KIB (256), LOAD_GATEWAY_LOG (info).
import { AdminClient } from '@kesgate/gateway';
import { RawS3 } from '../bench/lib/s3-raw.js';
import { startBenchStack } from '../bench/lib/stack.js';
import { fmt, loadAverage, percentile, table } from '../bench/lib/stats.js';
import { rotate, type RotationOutcome } from './rotation.js';
import { KMS_KEYS, Workload } from './workload.js';
import { positiveEnv } from '../bench/lib/env.js';

const num = (name: string, dflt: number): number => positiveEnv(name, dflt, true);
const TOTAL = num('LOAD_OPS', 5000);
const CLIENTS = num('LOAD_CLIENTS', 64);
const KEYS = num('LOAD_KEYS_PER_CLIENT', 8);
const MAX_SIZE = num('LOAD_MAX_KIB', 256) * 1024;
const BUCKET = 'load';
const ROTATE_TO = 'key-b';

async function main(): Promise<number> {
  const loadBefore = await loadAverage();
  console.log(
    `load test: ${TOTAL} operations, ${CLIENTS} clients × ${KEYS} keys, sizes 0–${MAX_SIZE / 1024} KiB; load average ${loadBefore}`,
  );
  const stack = await startBenchStack({ keys: KMS_KEYS, logLevel: process.env.LOAD_GATEWAY_LOG ?? 'info' });
  const http = new RawS3({ endpoint: stack.url, creds: stack.creds, maxSockets: CLIENTS });
  const https = new RawS3({ endpoint: stack.httpsUrl, creds: stack.creds, ca: stack.caPem, maxSockets: CLIENTS });
  try {
    console.log(`kes + gateway in ${stack.dir} (gateway log ${stack.gatewayLog})`);
    await http.createBucket(BUCKET);
    const admin = new AdminClient({
      endpoint: stack.url,
      accessKey: stack.creds.accessKey,
      secretKey: stack.creds.secretKey,
      region: stack.creds.region,
    });
    let rotation: Promise<RotationOutcome> | undefined;
    const work = new Workload({
      bucket: BUCKET,
      clients: CLIENTS,
      keysPerClient: KEYS,
      maxSize: MAX_SIZE,
      totalOps: TOTAL,
      http,
      https,
      midway: () => {
        console.log(`midway: starting a rotation job (bucket ${BUCKET}, every SSE-S3/SSE-KMS object to ${ROTATE_TO})`);
        rotation = rotate(admin, { bucket: BUCKET, toKey: ROTATE_TO });
      },
    });
    const seconds = await work.run();
    const t = work.tally;
    const done = Object.values(t.count).reduce((a, b) => a + b, 0);
    const failedOps = Object.values(t.unexpected).reduce((a, b) => a + b, 0);
    const stats = Object.entries(t.latencies).map(([op, l]) => [
      op,
      String(l.length),
      fmt(percentile(l, 50), 1),
      fmt(percentile(l, 99), 1),
    ]);
    console.log(
      `\n${done + failedOps + t.mismatches.length} operations in ${fmt(seconds, 1)} s: ${fmt((done + failedOps + t.mismatches.length) / seconds, 0)} ops/s`,
    );
    console.log(table(['operation', 'count', 'p50 ms', 'p99 ms'], stats));
    console.log(`PUTs by mode: ${JSON.stringify(t.byMode)}`);

    let rotationOk = true;
    const outcome = await rotation;
    if (!outcome) {
      rotationOk = false;
      console.log('rotation: never started (fewer operations than clients?)');
    } else if (!outcome.ran) {
      console.log(`rotation: SKIPPED — ${outcome.why}`);
    } else {
      const j = outcome.job;
      rotationOk = j.state === 'done' && j.counters.failed === 0;
      console.log(
        `rotation job ${j.id}: ${j.state} in ${fmt(outcome.seconds, 1)} s; ${JSON.stringify(j.counters)}${j.failures.length ? `; failures ${JSON.stringify(j.failures)}` : ''}${j.error ? `; error ${j.error}` : ''}`,
      );
    }

    const checked = await work.verifyAll();
    console.log(`final check: GET of all ${checked} keys after the rotation`);
    const unexpected = Object.entries(t.unexpected);
    console.log(`unexpected outcomes: ${unexpected.length ? JSON.stringify(t.unexpected) : 'none'}`);
    console.log(`GET mismatches: ${t.mismatches.length}${t.mismatches.length ? `\n  ${t.mismatches.slice(0, 20).join('\n  ')}` : ''}`);
    console.log(`load average before ${loadBefore}, after ${await loadAverage()}`);
    const ok = unexpected.length === 0 && t.mismatches.length === 0 && rotationOk;
    console.log(ok ? 'PASS' : 'FAIL');
    return ok ? 0 : 1;
  } finally {
    http.close();
    https.close();
    await stack.close();
  }
}

process.exitCode = await main();
