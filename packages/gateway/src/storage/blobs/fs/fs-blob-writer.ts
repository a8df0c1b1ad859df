// Writes one blob: into tmp/ under a fresh id, then — once complete — fsync, rename into data/<xx>/
// and fsync that directory, so a blob under its final name is always whole and durable before any
// metadata can reference it.
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import type { BlobWriter } from '../types.js';
import { fsyncDir } from '../../fsync-dir.js';
import { DataFileFs } from './data-file-fs.js';
import type { BlobLayout } from './layout.js';

export class FsBlobWriter implements BlobWriter {
  readonly stream: WriteStream;
  private finishing?: Promise<number>;
  private finished = false;
  private aborted = false;

  constructor(
    readonly id: string,
    private readonly layout: BlobLayout,
    /** Called once the writer no longer owns a temp file (finished or aborted). */
    private readonly onDone: (id: string) => void,
  ) {
    // flush: fsync before close, so 'close' means the bytes are on disk.
    // fs: package pieces (header, ciphertext, tag) gathered into 1 MiB system calls, and a large blob synced in
    // the background as it is written. The stream's 1 MiB buffer takes the next pieces while a batch is written.
    this.stream = createWriteStream(layout.tmpPath(id), {
      flags: 'wx',
      mode: 0o600,
      flush: true,
      highWaterMark: 1024 * 1024,
      fs: new DataFileFs(),
    });
    // The error surfaces from finish(); without a listener it would crash the process when the
    // caller writes without pipeline().
    this.stream.on('error', () => {});
  }

  finish(): Promise<number> {
    this.finishing ??= this.complete();
    return this.finishing;
  }

  async abort(): Promise<void> {
    if (this.aborted || this.finished) return;
    this.aborted = true;
    this.stream.destroy();
    await closed(this.stream);
    await this.finishing?.catch(() => {});
    // Wherever the bytes got to: the temp file, or data/ if the rename won the race with this abort.
    await Promise.all([unlinkQuietly(this.layout.tmpPath(this.id)), unlinkQuietly(this.layout.dataPath(this.id))]);
    this.onDone(this.id);
  }

  private async complete(): Promise<number> {
    if (!this.stream.writableEnded) this.stream.end();
    await closed(this.stream);
    if (this.stream.errored) throw this.stream.errored;
    if (this.aborted) throw new Error(`blob writer ${this.id} was aborted`);
    await rename(this.layout.tmpPath(this.id), this.layout.dataPath(this.id));
    await fsyncDir(this.layout.shardDir(this.id));
    if (this.aborted) throw new Error(`blob writer ${this.id} was aborted`);
    this.finished = true;
    this.onDone(this.id);
    return this.stream.bytesWritten;
  }
}

function closed(stream: WriteStream): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

export async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // ENOENT: already gone; anything else: left for the next sweep.
  }
}
