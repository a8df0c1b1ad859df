// The per-object kes path's CPU cost: what a data key costs the kes client's process and kes, per call, with
// coalescing into bulk requests (the default) and without (one request per call), under 32 concurrent callers.
// CPU time (the client's process.cpuUsage(), kes's /proc/<pid>/stat utime+stime) does not depend on how busy a
// shared machine is the way wall-clock rates do, so this is the figure to compare across changes.
// kes runs in a child process (a real kes: TLS, SQLite, audit file); the calls are made from this one.
// Run: npm run bench -- kes-path   (node --import tsx scripts/bench/kes-path.ts)
// Env: KES_PATH_OPS (calls per measurement, default 3000), KES_PATH_ROUNDS (default 3), KES_PATH_CLIENTS (default 32).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KesClient } from '@kesgate/kes-client';
import { procCpuSeconds, stopChild } from './lib/processes.js';
import { fmt, median, table } from './lib/stats.js';
import { positiveEnv } from './lib/env.js';

const OPS = positiveEnv('KES_PATH_OPS', 3000);
const ROUNDS = positiveEnv('KES_PATH_ROUNDS', 3);
const CLIENTS = positiveEnv('KES_PATH_CLIENTS', 32);
const KEY = 'bench-key';

interface Served {
  url: string;
  ca: string;
  cert: string;
  key: string;
}

/** Child: a kes with the test PKI; prints where it is and the admin identity's PEMs. */
async function serve(): Promise<void> {
  const { startTestServer } = await import('../../packages/kes/test/helpers/server.js');
  const ts = await startTestServer({ keys: [KEY] });
  const info: Served = { url: ts.srv.url, ca: ts.pki.ca.cert, cert: ts.pki.admin.cert, key: ts.pki.admin.key };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.once('SIGTERM', () => void ts.close().then(() => process.exit(0)));
}

async function startKes(): Promise<{ child: ChildProcess; info: Served }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the kes child exited (${code}) before it was ready`)));
  });
  return { child, info: JSON.parse(line) as Served };
}

/** Requests kes answered on the data-key routes (single and bulk), from its metrics. */
async function kesRequests(admin: KesClient): Promise<number> {
  const text = await admin.metrics();
  let n = 0;
  for (const m of text.matchAll(/^kes_http_request_duration_seconds_count\{api="\/v1\/key\/(?:bulk\/)?(?:generate|decrypt)\/"\} (\d+)$/gm))
    n += Number(m[1]);
  return n;
}

/** `OPS` calls, at most `CLIENTS` at a time. */
async function drive(n: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < n) await call(next++);
    }),
  );
}

interface Sample {
  client: number;
  kes: number;
  requests: number;
}

async function main(): Promise<void> {
  const { child, info } = await startKes();
  const make = (coalesce: boolean) =>
    new KesClient({ endpoints: [info.url], ca: info.ca, cert: info.cert, key: info.key, ...(coalesce ? {} : { coalesce: false }) });
  const admin = make(false);
  const modes = [
    { name: 'one request per call', client: make(false) },
    { name: 'coalesced (bulk)', client: make(true) },
  ];
  const samples = new Map<string, Sample[]>();
  const contexts = Array.from({ length: OPS }, (_, i) => Buffer.from(`bench/object-${i}`));
  const measure = async (label: string, run: () => Promise<void>) => {
    const r0 = await kesRequests(admin);
    const c0 = process.cpuUsage();
    const k0 = procCpuSeconds(child.pid!);
    await run();
    const c = process.cpuUsage(c0);
    const kes = procCpuSeconds(child.pid!) - k0;
    const requests = (await kesRequests(admin)) - r0 - 1; // less the metrics request before this one
    const s = { client: ((c.user + c.system) / OPS) | 0, kes: (kes * 1e6) / OPS, requests: (requests * 1000) / OPS };
    const list = samples.get(label) ?? [];
    list.push(s);
    samples.set(label, list);
  };
  try {
    console.log(`kes path: ${OPS} calls per measurement, ${CLIENTS} at a time, ${ROUNDS} interleaved rounds; CPU µs per call`);
    for (const m of modes) await drive(200, (i) => m.client.generateKey(KEY, contexts[i])); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      for (const m of modes) {
        const keys: Awaited<ReturnType<KesClient['generateKey']>>[] = new Array(OPS);
        await measure(`${m.name}: generate`, () =>
          drive(OPS, async (i) => {
            keys[i] = await m.client.generateKey(KEY, contexts[i]);
          }),
        );
        await measure(`${m.name}: decrypt`, () =>
          drive(OPS, async (i) => {
            const p = await m.client.decryptKey(KEY, keys[i]!.ciphertext, contexts[i], keys[i]!.version);
            if (!p.equals(keys[i]!.plaintext)) throw new Error('decrypt gave another key back');
          }),
        );
      }
    }
  } finally {
    for (const m of modes) m.client.close();
    admin.close();
    await stopChild(child);
  }
  const rows = [...samples].map(([label, s]) => {
    const client = median(s.map((x) => x.client));
    const kes = median(s.map((x) => x.kes));
    return [label, fmt(client, 0), fmt(kes, 0), fmt(client + kes, 0), fmt(median(s.map((x) => x.requests)), 0)];
  });
  console.log(`\n${table(['calls', 'client µs', 'kes µs', 'both µs', 'kes requests per 1,000 calls'], rows)}`);
}

if (process.argv.includes('--serve')) await serve();
else await main();
