// The server's version (from package.json, inlined into the bundle by the build) and build commit (KESGATE_COMMIT, when set at build).
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = (pkg as { version?: string }).version ?? '0.0.0';
export const COMMIT: string = process.env.KESGATE_COMMIT ?? 'unknown';
