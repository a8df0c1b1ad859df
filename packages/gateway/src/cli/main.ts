// The `kesgate` command: run the gateway, and talk to a running one through its admin API (run.ts).
import { processIO } from './io.js';
import { runKesgate } from './run.js';

process.exitCode = await runKesgate(process.argv.slice(2), processIO());
