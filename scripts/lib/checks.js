// `npm run check` (`npm run lint` and `npm run typecheck` in one process, on one TypeScript program: scripts/check.js)
// while the suites run (scripts/run-tests.js --checks), instead of before them: it is ~60 s of one core without its
// caches, and the suites leave a core idle much of the time (they wait on processes, sockets and timers). The check
// runs at a lower priority (nice 10), so the suites' timing-sensitive tests do not wait behind it; its output goes to
// a file and is shown at the end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHECKS = ['check'];

/** Starts the checks in `root`; `finish()` waits for them, prints what failed, and resolves to whether all passed. */
export function startChecks(root) {
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-checks-'));
  const niced = spawnSync('nice', ['-n', '0', 'true']).status === 0;
  const running = CHECKS.map((name) => {
    const out = join(dir, `${name}.log`);
    const fd = openSync(out, 'w');
    const command = niced ? ['nice', '-n', '10', 'npm', 'run', '--silent', name] : ['npm', 'run', '--silent', name];
    const child = spawn(command[0], command.slice(1), { cwd: root, stdio: ['ignore', fd, fd] });
    const started = Date.now();
    const done = new Promise((resolve) => {
      child.once('error', (err) => resolve({ name, out, status: `not started: ${err.message}`, ms: Date.now() - started }));
      child.once('exit', (code, signal) => resolve({ name, out, status: code ?? signal, ms: Date.now() - started }));
    });
    return done;
  });
  return {
    async finish() {
      const results = await Promise.all(running);
      let ok = true;
      for (const { name, out, status, ms } of results) {
        if (status === 0) {
          console.log(`npm run ${name}: passed (${(ms / 1000).toFixed(0)} s, alongside the suites)`);
          continue;
        }
        ok = false;
        console.log(`\nnpm run ${name} failed (${status}):\n${readFileSync(out, 'utf8')}`);
      }
      rmSync(dir, { recursive: true, force: true });
      return ok;
    },
  };
}
