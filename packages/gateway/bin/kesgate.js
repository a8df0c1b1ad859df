#!/usr/bin/env node
// The built bundle (dist/kesgate.mjs) while it is current, else the TypeScript sources through tsx: see scripts/run-cli.js.
import { runCli } from '../../../scripts/run-cli.js';
await runCli('kesgate', new URL('../src/cli/main.ts', import.meta.url));
