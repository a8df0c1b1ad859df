// Unwrapped data keys kept in memory for a short, bounded time, so that objects sharing a bucket key (or one
// object read again) do not cost a kes round trip each. The time bound is what keeps kes in charge: once an
// entry expires the key is asked of kes again, so sealing kes or a master key, or deleting a key, makes the
// objects under it unreadable within `ttlSeconds` (plus one request in flight).
import { LRUCache } from 'lru-cache';

export interface KeyCacheOptions {
  /** Most keys held at once (least recently used evicted first); 0 turns the cache off. */
  maxEntries: number;
  /** How long a key may be served from memory after kes last gave it out; 0 turns the cache off. */
  ttlSeconds: number;
}

export type CacheLookup = 'hit' | 'miss';

/**
 * An LRU + TTL map of plaintext keys. It hands out copies (the caller wipes its copy; the cached one lives on)
 * and wipes every key it lets go of: evicted, expired, replaced or cleared. Concurrent misses of one id share
 * a single load. Expired keys are also purged on a timer, so a key does not linger in memory unread.
 */
export class KeyCache {
  private readonly lru: LRUCache<string, Buffer> | undefined;
  private readonly loading = new Map<string, Promise<Buffer>>();
  private readonly purge: NodeJS.Timeout | undefined;

  constructor(
    options: KeyCacheOptions,
    private readonly onLookup: (result: CacheLookup) => void = () => {},
  ) {
    if (options.maxEntries > 0 && options.ttlSeconds > 0) {
      this.lru = new LRUCache<string, Buffer>({
        max: options.maxEntries,
        ttl: options.ttlSeconds * 1000,
        // Never serve past the bound, even between purges.
        allowStale: false,
        updateAgeOnGet: false,
        dispose: (key) => key.fill(0),
      });
      this.purge = setInterval(() => this.lru?.purgeStale(), Math.max(100, options.ttlSeconds * 1000));
      this.purge.unref();
    }
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  /** A copy of the key cached under `id`, else `load()`'s result (cached, and shared with concurrent callers). */
  async get(id: string, load: () => Promise<Buffer>): Promise<Buffer> {
    const cached = this.lru?.get(id);
    if (cached) {
      this.onLookup('hit');
      return Buffer.from(cached);
    }
    this.onLookup('miss');
    let pending = this.loading.get(id);
    if (!pending) {
      pending = load().then(
        (key) => {
          this.loading.delete(id);
          this.put(id, key);
          return key;
        },
        (err: unknown) => {
          this.loading.delete(id);
          throw err;
        },
      );
      this.loading.set(id, pending);
      // The loader's own buffer is wiped once every waiter has its copy (the copies are made on this tick).
      pending.then(
        (key) => setImmediate(() => key.fill(0)),
        () => {},
      );
    }
    return Buffer.from(await pending);
  }

  /** Remember a key kes just gave out (a copy is kept; the caller still owns and wipes `key`). */
  put(id: string, key: Buffer): void {
    this.lru?.set(id, Buffer.from(key));
  }

  /** Forget one key (e.g. kes refused it: the next use asks kes). */
  delete(id: string): void {
    this.lru?.delete(id);
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** Wipe and drop every key, and stop the purge timer. */
  close(): void {
    if (this.purge) clearInterval(this.purge);
    this.lru?.clear();
  }
}
