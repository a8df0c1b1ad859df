// The data this process is writing or has written but not yet committed. A commit may only reference a
// finished writer of this store, once, with the size it wrote (so a caller can never hand in, and later
// destroy, data that belongs to a committed object); the sweep leaves these blobs alone; a failed commit
// or an aborted writer removes them. With an inline threshold, a writer keeps small data in memory (no
// blob at all) until the object store either stores it inline or has it written out to a blob (`spill`).
import type { BlobStore, BlobWriter } from './blobs/types.js';
import { MemoryFirstStream, newInlineId } from './inline-data.js';
import type { DataWriter } from './types.js';

interface Uncommitted {
  state: 'writing' | 'ready';
  size: number;
  /** The blob, or undefined while the data is in memory (`stream`). */
  blob?: BlobWriter;
  stream?: MemoryFirstStream;
}

export class UncommittedBlobs {
  private readonly pending = new Map<string, Uncommitted>();

  /** `inlineThreshold`: data of at most this many bytes stays in memory until commit; 0: every writer writes a blob. */
  constructor(
    private readonly blobs: BlobStore,
    private readonly inlineThreshold = 0,
  ) {}

  async createWriter(): Promise<DataWriter> {
    if (this.inlineThreshold > 0) {
      const id = newInlineId();
      const stream = new MemoryFirstStream(this.inlineThreshold, async () => {
        const blob = await this.blobs.createWriter();
        this.pending.set(blob.id, { state: 'writing', size: 0, blob });
        return blob;
      });
      this.pending.set(id, { state: 'writing', size: 0, stream });
      return new MemoryFirstWriter(id, stream, this);
    }
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

  /** The finished in-memory data of `id`, or undefined when it is a blob. */
  inMemory(id: string): Buffer | undefined {
    const entry = this.pending.get(id);
    return entry?.state === 'ready' && entry.stream && !entry.stream.spilled ? entry.stream.bytes() : undefined;
  }

  /**
   * The blob id to commit for the finished data `id`: a memory-first writer's data is written out to a blob now
   * (data that must not be inline: a multipart part) unless it moved to one while written; that blob's id then
   * replaces `id` as the uncommitted data. A blob writer's id is returned as is.
   */
  async spill(id: string): Promise<string> {
    const entry = this.pending.get(id);
    if (entry?.state !== 'ready' || entry.blob || !entry.stream) return id;
    const moved = entry.stream.spilled;
    if (moved) {
      // It outgrew memory while written: its blob (pending, finished) stands for it from now on.
      this.pending.delete(id);
      return moved.id;
    }
    const bytes = entry.stream!.bytes();
    const blob = await this.blobs.createWriter();
    this.pending.set(blob.id, { state: 'writing', size: 0, blob });
    try {
      blob.stream.end(bytes);
      const size = await blob.finish();
      this.pending.set(blob.id, { state: 'ready', size, blob });
    } catch (err) {
      await this.discard([blob.id]);
      throw err;
    }
    this.pending.delete(id);
    return blob.id;
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

  /** The data is now referenced by committed metadata. */
  settle(ids: readonly string[]): void {
    for (const id of ids) this.pending.delete(id);
  }

  /** Removes uncommitted data (an aborted writer, a refused commit), finished or not. */
  async discard(ids: readonly string[]): Promise<void> {
    // Only uncommitted ids: a caller passing a committed id by mistake must not destroy its data.
    const entries = ids.flatMap((id) => {
      const entry = this.pending.get(id);
      this.pending.delete(id);
      return entry ? [entry] : [];
    });
    // In-memory data has nothing to remove; one that outgrew memory has its blob, pending under its own id.
    const blobs = entries.flatMap((e) => {
      const blob = e.blob ?? e.stream?.spilled;
      if (blob) this.pending.delete(blob.id);
      return blob ? [blob] : [];
    });
    if (blobs.length === 0) return;
    // abort() stops a writer still writing; a finished blob is the store's to remove.
    await Promise.all(blobs.map((b) => b.abort().catch(() => {})));
    await this.blobs.remove(blobs.map((b) => b.id)).catch(() => {});
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

/**
 * A writer that starts in memory. Its id is its own whether the data stays in memory or outgrows it into a
 * blob; the object store resolves it to the blob's id when it commits (UncommittedBlobs.spill).
 */
class MemoryFirstWriter implements DataWriter {
  private finishing?: Promise<number>;
  private aborted = false;

  constructor(
    readonly id: string,
    readonly stream: MemoryFirstStream,
    private readonly registry: UncommittedBlobs,
  ) {}

  finish(): Promise<number> {
    this.finishing ??= this.complete();
    return this.finishing;
  }

  async abort(): Promise<void> {
    if (this.aborted) return;
    this.aborted = true;
    if (!this.stream.destroyed && !this.stream.writableFinished) this.stream.destroy();
    // A blob still being opened when the stream was destroyed is waited for, so it is discarded too.
    const moved = await this.stream.settledBlob();
    // Whichever is still pending: the memory entry (it discards the blob it moved to), or the blob alone.
    const ids = [this.id, moved?.id].filter((id): id is string => id !== undefined && this.registry.isPending(id));
    await this.registry.discard(ids);
  }

  private async complete(): Promise<number> {
    if (this.stream.errored) throw this.stream.errored;
    if (this.stream.destroyed && !this.stream.writableFinished) throw new Error(`data writer ${this.id} was destroyed before it finished`);
    if (!this.stream.writableFinished) {
      if (!this.stream.writableEnded) this.stream.end();
      await new Promise<void>((resolve, reject) => {
        this.stream.once('finish', resolve);
        this.stream.once('error', reject);
      });
    }
    if (this.aborted) throw new Error(`data writer ${this.id} was aborted`);
    const blob = this.stream.spilled;
    if (!blob) {
      this.registry.markReady(this.id, this.stream.size);
      return this.stream.size;
    }
    const size = await blob.finish();
    if (this.aborted) throw new Error(`data writer ${this.id} was aborted`);
    // Both entries are ready: the writer's id (what the caller commits) and the blob's (the sweep's view).
    this.registry.markReady(blob.id, size);
    this.registry.markReady(this.id, size);
    return size;
  }
}
