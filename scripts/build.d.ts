// Types of scripts/build.js (plain JavaScript so that `npm run build` needs no TypeScript loader).
export declare const BUNDLES: { kes: string; kesgate: string; 'kesgate-sse': string };
export declare const INPUTS: string;
export declare const GATEWAY_ENV: { UV_THREADPOOL_SIZE: string };
/** `outDir`: elsewhere than dist/ (default). */
export declare function buildBundles(outDir?: string): Promise<{ kes: string; kesgate: string; 'kesgate-sse': string }>;
export declare const CONSOLE_DIST: string;
/** Builds the operator console into packages/console/dist; resolves to that directory. */
export declare function buildConsole(): Promise<string>;
/** The bundles in dist/, built first only when missing or older than what they are built from. */
export declare function currentBundles(outDir?: string): Promise<{ kes: string; kesgate: string; 'kesgate-sse': string }>;
/** The console in packages/console/dist, built first only when missing or older than what it is built from. */
export declare function currentConsole(): Promise<string>;
/** Where `npm start`'s and `npm run cluster`'s bundles go: dist/scripts/. */
export declare const SCRIPTS_DIST: string;
/** Builds every script's bundle into `outDir` (dist/scripts/ by default). */
export declare function buildScripts(outDir?: string): Promise<void>;
/** The script bundles in `outDir`, built first only when one is missing or older than a file it was built from. */
export declare function currentScripts(outDir?: string): Promise<void>;
