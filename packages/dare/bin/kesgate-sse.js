#!/usr/bin/env node
// The built bundle (dist/kesgate-sse.mjs) while it is current, else the TypeScript sources through tsx: see scripts/run-cli.js.
import { runCli } from '../../../scripts/run-cli.js';
await runCli('kesgate-sse', new URL('../src/cli.ts', import.meta.url));
