// What scripts/run-tests.js starts around a run: the run-wide PostgreSQL cluster and moto_server
// (scripts/lib/test-services.ts) in a process of their own that ends with the run.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Starts the run's services and resolves to the environment the test files need to find them, and `stop()`.
 * KESGATE_TEST_SHARED_SERVICES=0 turns them off: every file then starts its own, as when run alone.
 */
export async function startTestServices(root, env) {
  if (env.KESGATE_TEST_SHARED_SERVICES === '0') return { env: {}, stop: async () => {} };
  // Compiled by scripts/lib/compile-tests.js (run first), so the daemon starts without a TypeScript loader.
  const child = spawn(process.execPath, ['--enable-source-maps', join(root, '.cache/test-js/scripts/lib/test-services-daemon.js')], {
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
