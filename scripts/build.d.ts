// Types of scripts/build.js (plain JavaScript so that `npm run build` needs no TypeScript loader).
export declare const BUNDLES: { kes: string; kesgate: string };
export declare function buildBundles(): Promise<{ kes: string; kesgate: string }>;
