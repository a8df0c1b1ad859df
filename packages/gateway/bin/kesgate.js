#!/usr/bin/env node
// Runs the TypeScript sources through tsx's loader, so there is no build step between a checkout and a working CLI.
// Every object write is open + write + fsync + close + rename + fsync(dir) on libuv's thread pool; its
// default of 4 threads serialises concurrent PUTs behind each other's fsyncs. Set before first use.
process.env.UV_THREADPOOL_SIZE ??= '16';
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
