// What happens to blobs a commit made unreferenced (an overwritten or deleted object's, an aborted
// upload's, a replaced part's): the last step of the write order, after the metadata commit.
import type { BlobStore } from './blobs/types.js';

export interface ReclaimPolicy {
  /** Best effort: a blob left behind is an orphan the sweep removes. Never rejects. */
  reclaim(ids: readonly string[]): Promise<void>;
  /** Stops whatever is scheduled (the store is closing). */
  close(): void;
}

/**
 * Removes at once. Right for the fs blob store: a reader that opened the file before the unlink keeps
 * reading it, so a GET racing an overwrite still gets the whole old version.
 */
export class ReclaimAtOnce implements ReclaimPolicy {
  constructor(private readonly blobs: BlobStore) {}

  async reclaim(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.blobs.remove(ids).catch(() => {});
  }

  close(): void {}
}

/**
 * Removes after a grace period, for blob stores whose readers fetch ranges over time (s3: a GET that read
 * an object's metadata just before an overwrite may still be streaming the old blob, on this gateway or
 * another). The delay is kept in memory only: blobs still waiting when the process stops or crashes are
 * left as orphans for the sweep, which is the safety net. The resolved promise does not wait for the
 * removal, so the request that superseded the blob answers at once.
 */
export class ReclaimAfterGrace implements ReclaimPolicy {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly blobs: BlobStore,
    readonly graceMs: number,
  ) {}

  async reclaim(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.blobs.remove(ids).catch(() => {});
    }, this.graceMs);
    timer.unref();
    this.timers.add(timer);
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
