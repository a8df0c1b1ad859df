// Entry point of the `kes` command (bin/kes.js runs the bundle of it, or it through tsx): one run with the
// real process's arguments, streams, environment and signals.
import { processIO } from './io.js';
import { runKes } from './run.js';

process.exitCode = await runKes(process.argv.slice(2), processIO());
