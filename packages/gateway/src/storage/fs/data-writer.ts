// Writes one data file: into tmp/ under a fresh id, then — once complete — fsync, rename into
// data/<xx>/ and fsync that directory, so a data file under its final name is always whole and
// durable before any metadata can reference it.
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import type { DataWriter } from '../types.js';
import { fsyncDir, type Layout } from './layout.js';

/** What the writer reports back to the store's bookkeeping of uncommitted data. */
export interface WriterRegistry {
  markReady(id: string, size: number): void;
  isPending(id: string): boolean;
  discard(ids: readonly string[]): Promise<void>;
}

export class FsDataWriter implements DataWriter {
  readonly stream: WriteStream;
  private finishing?: Promise<number>;
  private aborted = false;

  constructor(
    readonly id: string,
    private readonly layout: Layout,
    private readonly registry: WriterRegistry,
  ) {
    // flush: fsync before close, so 'close' means the bytes are on disk.
    // A large buffer lets writev gather many package pieces (header, ciphertext, tag) into one system call.
    this.stream = createWriteStream(layout.tmpPath(id), { flags: 'wx', mode: 0o600, flush: true, highWaterMark: 1024 * 1024 });
    // The error surfaces from finish(); without a listener it would crash the process when the
    // caller writes without pipeline().
    this.stream.on('error', () => {});
  }

  finish(): Promise<number> {
    this.finishing ??= this.complete();
    return this.finishing;
  }

  async abort(): Promise<void> {
    if (this.aborted || !this.registry.isPending(this.id)) return;
    this.aborted = true;
    this.stream.destroy();
    await closed(this.stream);
    await this.finishing?.catch(() => {});
    await this.registry.discard([this.id]);
  }

  private async complete(): Promise<number> {
    if (!this.stream.writableEnded) this.stream.end();
    await closed(this.stream);
    if (this.stream.errored) throw this.stream.errored;
    if (this.aborted) throw new Error(`data writer ${this.id} was aborted`);
    await rename(this.layout.tmpPath(this.id), this.layout.dataPath(this.id));
    await fsyncDir(this.layout.shardDir(this.id));
    if (this.aborted) throw new Error(`data writer ${this.id} was aborted`);
    const size = this.stream.bytesWritten;
    this.registry.markReady(this.id, size);
    return size;
  }
}

function closed(stream: WriteStream): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}
