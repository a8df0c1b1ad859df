// What scripts/run-tests.js starts around a run: the run-wide PostgreSQL cluster and moto_server
// (scripts/lib/test-services.ts) in a process of their own that ends with the run. The test files start at once:
// the daemon's one line (where the services listen) goes into a file named in KESGATE_TEST_SERVICES_FILE, which
// the first file that needs a service waits for (moto_server alone takes seconds to start).
import { spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Starts the run's services; resolves at once to the environment the test files need to find them, `ready` (the
 * services up, or the reason they are not) and `stop()`. The services file goes in a directory of its own under `tmp`.
 * KESGATE_TEST_SHARED_SERVICES=0 turns them off: every file then starts its own, as when run alone.
 */
export function startTestServices(root, env, tmp) {
  if (env.KESGATE_TEST_SHARED_SERVICES === '0') return { env: {}, ready: Promise.resolve(), stop: async () => {} };
  const dir = mkdtempSync(join(tmp, 'kesgate-services-'));
  const file = join(dir, 'test-services.json');
  // Whole or not at all: a test file reads it the moment it appears.
  const publish = (text) => {
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  };
  // Compiled by scripts/lib/compile-tests.js (run first), so the daemon starts without a TypeScript loader.
  const child = spawn(process.execPath, ['--enable-source-maps', join(root, '.cache/test-js/scripts/lib/test-services-daemon.js')], {
    cwd: root,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const lines = createInterface({ input: child.stdout });
  const ready = Promise.race([
    new Promise((resolve) => lines.once('line', resolve)),
    exited.then((code) => {
      throw new Error(`the test services process exited (${code}) before it said where its services are`);
    }),
  ]).then(
    (line) => {
      lines.close();
      child.stdout.resume();
      publish(line);
    },
    (err) => {
      // The files waiting for the services fail with this reason instead of waiting out their deadline.
      publish(`${JSON.stringify({ error: err.message })}\n`);
      throw err;
    },
  );
  ready.catch(() => {}); // the runner reports it after the suites
  return {
    env: { KESGATE_TEST_SERVICES_FILE: file },
    ready,
    async stop() {
      child.stdin.end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
