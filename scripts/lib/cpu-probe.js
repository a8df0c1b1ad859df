// Loaded into every test file's process when KESGATE_TEST_CPU_LOG names a file (scripts/run-tests.js
// --profile): at exit, appends the file's wall seconds and CPU seconds, its own and its reaped children's (kes, gateways and
// CLIs it spawned), read from /proc/self/stat, as one JSON line. Linux only; elsewhere it records nothing.
import { appendFileSync, readFileSync } from 'node:fs';

const log = process.env.KESGATE_TEST_CPU_LOG;
const file = process.argv[1];
if (log && file) {
  process.once('exit', () => {
    let fields;
    try {
      // After the command, which may hold spaces and parentheses: state is field 3, utime/stime/cutime/cstime 14–17.
      fields = readFileSync('/proc/self/stat', 'utf8').split(') ').pop().split(' ');
    } catch {
      return;
    }
    const ticks = (i) => Number(fields[i - 3]) / 100; // USER_HZ is 100 on Linux
    const own = ticks(14) + ticks(15);
    const children = ticks(16) + ticks(17);
    appendFileSync(log, `${JSON.stringify({ file, wall: process.uptime(), own, children })}\n`);
  });
}
