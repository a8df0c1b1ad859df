// Types of scripts/lib/script-bundles.js (plain JavaScript: it builds what runs without a TypeScript loader).
export declare const SCRIPTS_DIST: string;
export declare const SCRIPTS: string[];
export declare function scriptBundle(name: string, outDir?: string): string;
export declare function scriptInputs(outDir?: string): string;
/** Builds every script's bundle into `outDir` (dist/scripts/ by default). */
export declare function buildScripts(outDir?: string): Promise<void>;
/** Builds the bundles in `outDir` only when one is missing or older than a file it was built from. */
export declare function currentScripts(outDir?: string): Promise<void>;
