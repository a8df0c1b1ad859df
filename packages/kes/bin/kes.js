#!/usr/bin/env node
// The built bundle (dist/kes.mjs) while it is current, else the TypeScript sources through tsx: see scripts/run-cli.js.
import { runCli } from '../../../scripts/run-cli.js';
await runCli('kes', new URL('../src/cli/main.ts', import.meta.url));
