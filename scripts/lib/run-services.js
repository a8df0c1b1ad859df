// What scripts/run-tests.js sets up around a run: the temp directory, and the run-wide PostgreSQL cluster and
// moto_server (scripts/lib/test-services.ts) in a process of their own that ends with the run.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * /dev/shm (tmpfs) when it is a writable directory, else the usual temp directory: the stacks' SQLite files,
 * blobs and PostgreSQL clusters then cost no disk writes or fsyncs. A process kill (the crash tests' kill -9)
 * keeps what tmpfs holds, as it keeps a disk's page cache; a machine crash is not something the tests play.
 */
export function testTempDir() {
  try {
    if (statSync('/dev/shm').isDirectory()) {
      accessSync('/dev/shm', constants.W_OK);
      return '/dev/shm';
    }
  } catch {
    // no tmpfs here
  }
  return tmpdir();
}

/**
 * Starts the run's services and resolves to the environment the test files need to find them, and `stop()`.
 * KESGATE_TEST_SHARED_SERVICES=0 turns them off: every file then starts its own, as when run alone.
 */
export async function startTestServices(root, env) {
  if (env.KESGATE_TEST_SHARED_SERVICES === '0') return { env: {}, stop: async () => {} };
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/lib/test-services-daemon.ts')], {
    cwd: root,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    new Promise((resolve) => lines.once('line', resolve)),
    exited.then((code) => {
      throw new Error(`the test services process exited (${code}) before it said where its services are`);
    }),
  ]);
  lines.close();
  child.stdout.resume();
  return {
    env: { KESGATE_TEST_SERVICES: first },
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}
