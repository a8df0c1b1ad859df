// Cheap checks that the two stores answer, for status pages: the metadata store's schema version (one small
// query), and the first entry of the blob store's listing (one LIST request upstream, one directory read on
// fs). Each is bounded in time, so a store that hangs shows as unreachable instead of hanging the page.
import type { BlobStore } from './blobs/types.js';
import type { MetadataStore } from './metadata/types.js';

/**
 * A probe not answered within this is reported as unreachable: the same bound for the stores and for kes, on the
 * status page and for /kesgate/ready (whose caller, a load balancer, waits on it).
 */
export const PROBE_TIMEOUT_MS = 3000;

export interface StoreHealth {
  reachable: boolean;
  /** Round trip of the probe, ms. */
  latencyMs?: number;
  /** The metadata store's schema version. */
  schemaVersion?: number;
  /** Why it is unreachable: the store's own message (never a URL with a password, never a key). */
  error?: string;
}

export function probeMetadata(metadata: MetadataStore, timeoutMs = PROBE_TIMEOUT_MS): Promise<StoreHealth> {
  return timed(async () => ({ schemaVersion: await metadata.schemaVersion() }), timeoutMs);
}

export function probeBlobs(blobs: BlobStore, timeoutMs = PROBE_TIMEOUT_MS): Promise<StoreHealth> {
  return timed(async () => {
    const listing = blobs.list()[Symbol.asyncIterator]();
    try {
      await listing.next();
    } finally {
      await listing.return?.();
    }
    return {};
  }, timeoutMs);
}

async function timed(probe: () => Promise<Omit<StoreHealth, 'reachable'>>, timeoutMs: number): Promise<StoreHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const found = await Promise.race([probe(), timeout]);
    return { reachable: true, latencyMs: Math.round(performance.now() - started), ...found };
  } catch (err) {
    return { reachable: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
