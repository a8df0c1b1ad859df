// The server's version (from package.json) and build commit (KESGATE_COMMIT, when set at build).
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };

export const VERSION: string = pkg.version ?? '0.0.0';
export const COMMIT: string = process.env.KESGATE_COMMIT ?? 'unknown';
