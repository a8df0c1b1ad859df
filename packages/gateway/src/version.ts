// The gateway's version, from its package.json (inlined into the bundle by the build).
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = (pkg as { version?: string }).version ?? '0.0.0';
