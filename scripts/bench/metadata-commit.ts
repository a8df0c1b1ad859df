// What one meta.db commit costs the event loop: synchronous=FULL (better-sqlite3 fsyncs the WAL inside the commit,
// on the event loop thread: how the store committed before) against synchronous=NORMAL with the -wal file fsynced
// on the thread pool by the store's WalSync (how it commits now). Each commit is a group of 4 KiB rows, as a batch
// of small inline PUTs; the next commit starts once the previous one is durable in both cases.
// Per commit, of the synchronous part only (what every other request waits for): wall time, and of it the main
// thread's time on a CPU, waiting for one (runqueue), and blocked (in fsync: off the CPU, not runnable), from
// /proc/self/task/<pid>/schedstat — so a busy machine shows up as runqueue time, not as fsync time.
// Env: BENCH_COMMITS (300 per round), BENCH_ROUNDS (3), BENCH_ROWS (20 rows per commit).
// Run: npm run bench -- metadata-commit
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WalSync } from '../../packages/gateway/src/storage/metadata/sqlite/wal-sync.js';
import { positiveEnv } from './lib/env.js';
import { fmt, median, table } from './lib/stats.js';

const COMMITS = positiveEnv('BENCH_COMMITS', 300);
const ROUNDS = positiveEnv('BENCH_ROUNDS', 3);
const ROWS = positiveEnv('BENCH_ROWS', 20);

/** The main thread's [on CPU, waiting on the runqueue] in ms so far. */
function sched(): [number, number] {
  const [cpu, runq] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
  return [cpu! / 1e6, runq! / 1e6];
}

interface PerCommit {
  wall: number;
  cpu: number;
  runq: number;
  blocked: number;
}

async function run(mode: 'FULL' | 'NORMAL'): Promise<PerCommit> {
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-bench-commit-'));
  const db = new Database(join(dir, 'meta.db'), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN EXCLUSIVE; COMMIT; CREATE TABLE object (id INTEGER PRIMARY KEY, key TEXT NOT NULL, data BLOB NOT NULL)');
    db.pragma(`synchronous = ${mode}`);
    const sync = mode === 'NORMAL' ? new WalSync(join(dir, 'meta.db-wal')) : undefined;
    const insert = db.prepare('INSERT INTO object (key, data) VALUES (?, ?)');
    const row = Buffer.alloc(4128, 7);
    const commit = db.transaction((n: number) => {
      for (let i = 0; i < ROWS; i++) insert.run(`k${n}-${i}`, row);
    });
    let wall = 0;
    let cpu = 0;
    let runq = 0;
    for (let n = 0; n < COMMITS; n++) {
      const [cpu0, runq0] = sched();
      const t0 = performance.now();
      commit(n);
      const durable = sync?.committed(); // started here, awaited off the synchronous part
      wall += performance.now() - t0;
      const [cpu1, runq1] = sched();
      cpu += cpu1 - cpu0;
      runq += runq1 - runq0;
      await durable;
    }
    await sync?.close();
    return { wall: wall / COMMITS, cpu: cpu / COMMITS, runq: runq / COMMITS, blocked: (wall - cpu - runq) / COMMITS };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Record<'FULL' | 'NORMAL', PerCommit[]> = { FULL: [], NORMAL: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of ['FULL', 'NORMAL'] as const) results[mode].push(await run(mode));
  const line = (m: 'FULL' | 'NORMAL') => {
    const x = results[m].at(-1)!;
    return `${m} ${fmt(x.wall, 3)} ms (cpu ${fmt(x.cpu, 3)}, runqueue ${fmt(x.runq, 3)}, blocked ${fmt(x.blocked, 3)})`;
  };
  console.log(`  round ${r + 1}: ${line('FULL')}; ${line('NORMAL')}`);
}
const med = (m: 'FULL' | 'NORMAL', k: keyof PerCommit): string => fmt(median(results[m].map((x) => x[k])), 3);
console.log(
  `\nmeta.db commit of ${ROWS} rows of 4 KiB, event-loop part, ms per commit (medians of ${ROUNDS} rounds of ${COMMITS} commits)\n`,
);
console.log(
  table(
    ['commit', 'wall', 'on CPU', 'runqueue', 'blocked (I/O)'],
    [
      [
        'synchronous=FULL (fsync on the event loop, before)',
        med('FULL', 'wall'),
        med('FULL', 'cpu'),
        med('FULL', 'runq'),
        med('FULL', 'blocked'),
      ],
      [
        'synchronous=NORMAL + WalSync (fsync on the thread pool)',
        med('NORMAL', 'wall'),
        med('NORMAL', 'cpu'),
        med('NORMAL', 'runq'),
        med('NORMAL', 'blocked'),
      ],
    ],
  ),
);
