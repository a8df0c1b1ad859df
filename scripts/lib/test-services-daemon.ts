// The run-wide test services (scripts/lib/test-services.ts), as a process of their own: scripts/run-tests.js
// starts it, reads one JSON line from its stdout (what the test files get in KESGATE_TEST_SERVICES), and
// closes its stdin when the run ends. Stdin's end — also when the runner is killed — or a signal stops both
// services and removes the cluster's files. Whatever is not installed is left out, and the files that need
// it skip as they do today.
//
// The cluster is a throwaway one for tests: fsync, full-page writes and synchronous commit are off, so a
// crash of the machine (never of PostgreSQL alone: the files that kill it start their own) loses it.
import { startMotoServer, motoMissing, type MotoServer } from './moto.js';
import { postgresMissing, startPostgres, type PostgresCluster } from './postgres.js';
import type { RunServicesInfo } from './test-services.js';

let postgres: PostgresCluster | undefined;
let moto: MotoServer | undefined;
let stopping: Promise<void> | undefined;

function stop(): Promise<void> {
  stopping ??= (async () => {
    await Promise.allSettled([moto?.close(), postgres?.close()]);
    process.exit(0);
  })();
  return stopping;
}

process.stdin.on('end', () => void stop());
process.stdin.resume();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop());

try {
  const info: RunServicesInfo = {};
  const [pgResult, motoResult] = await Promise.allSettled([
    postgresMissing()
      ? undefined
      : startPostgres({ settings: { synchronous_commit: 'off', max_connections: '500' } }).then((c) => (postgres = c)),
    motoMissing() ? undefined : startMotoServer().then((m) => (moto = m)),
  ]);
  for (const r of [pgResult, motoResult]) if (r.status === 'rejected') throw r.reason;
  if (postgres) {
    const password = decodeURIComponent(new URL(postgres.url()).password);
    info.postgres = { port: postgres.port, password, dir: postgres.dir };
  }
  if (moto) info.moto = { endpoint: moto.endpoint };
  process.stdout.write(`${JSON.stringify(info)}\n`);
} catch (err) {
  process.stderr.write(`the run's test services did not start: ${err instanceof Error ? err.message : String(err)}\n`);
  await Promise.allSettled([moto?.close(), postgres?.close()]);
  process.exit(1);
}
