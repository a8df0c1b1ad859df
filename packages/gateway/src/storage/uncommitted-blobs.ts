// The blobs this process is writing or has written but not yet committed. A commit may only reference a
// finished writer of this store, once, with the size it wrote (so a caller can never hand in, and later
// destroy, data that belongs to a committed object); the sweep leaves these blobs alone; a failed commit
// or an aborted writer removes them.
import type { BlobStore, BlobWriter } from './blobs/types.js';
import type { DataWriter } from './types.js';

interface Uncommitted {
  state: 'writing' | 'ready';
  size: number;
  blob: BlobWriter;
}

export class UncommittedBlobs {
  private readonly pending = new Map<string, Uncommitted>();

  constructor(private readonly blobs: BlobStore) {}

  async createWriter(): Promise<DataWriter> {
    const blob = await this.blobs.createWriter();
    this.pending.set(blob.id, { state: 'writing', size: 0, blob });
    return new TrackedWriter(blob, this);
  }

  isPending(id: string): boolean {
    return this.pending.has(id);
  }

  markReady(id: string, size: number): void {
    const entry = this.pending.get(id);
    if (entry) this.pending.set(id, { ...entry, state: 'ready', size });
  }

  /**
   * Checks that each part names a finished writer of this store, once, with the size it wrote. A
   * failure is a bug in the caller, hence a TypeError rather than an S3 error.
   */
  assertReady(parts: readonly { dataId: string; encSize: number }[]): void {
    const seen = new Set<string>();
    for (const { dataId, encSize } of parts) {
      const data = this.pending.get(dataId);
      if (data?.state !== 'ready' || seen.has(dataId)) {
        throw new TypeError(`data ${dataId} is not a finished, uncommitted data writer of this store`);
      }
      if (data.size !== encSize) {
        throw new TypeError(`data ${dataId} holds ${data.size} bytes but its part says encSize ${encSize}`);
      }
      seen.add(dataId);
    }
  }

  /** The blobs are now referenced by committed metadata. */
  settle(ids: readonly string[]): void {
    for (const id of ids) this.pending.delete(id);
  }

  /** Removes uncommitted blobs (an aborted writer, a refused commit), finished or not. */
  async discard(ids: readonly string[]): Promise<void> {
    // Only uncommitted ids: a caller passing a committed id by mistake must not destroy its data.
    const entries = ids.flatMap((id) => {
      const entry = this.pending.get(id);
      this.pending.delete(id);
      return entry ? [entry] : [];
    });
    if (entries.length === 0) return;
    // abort() stops a writer still writing; a finished blob is the store's to remove.
    await Promise.all(entries.map((e) => e.blob.abort().catch(() => {})));
    await this.blobs.remove(entries.map((e) => e.blob.id)).catch(() => {});
  }
}

/** The DataWriter handed out: the blob writer's stream itself, with the bookkeeping on finish and abort. */
class TrackedWriter implements DataWriter {
  readonly id: string;
  readonly stream: BlobWriter['stream'];
  private finishing?: Promise<number>;
  private aborted = false;

  constructor(
    private readonly blob: BlobWriter,
    private readonly registry: UncommittedBlobs,
  ) {
    this.id = blob.id;
    this.stream = blob.stream;
  }

  finish(): Promise<number> {
    this.finishing ??= this.complete();
    return this.finishing;
  }

  async abort(): Promise<void> {
    // A no-op once committed (the data belongs to an object then) or when aborted already.
    if (this.aborted || !this.registry.isPending(this.id)) return;
    this.aborted = true;
    await this.registry.discard([this.id]);
  }

  private async complete(): Promise<number> {
    const size = await this.blob.finish();
    if (this.aborted) throw new Error(`data writer ${this.id} was aborted`);
    this.registry.markReady(this.id, size);
    return size;
  }
}
