// The fs blob store: each blob a file in a directory (sharded by id), written through a temp file and a
// rename, read by byte range from an open file handle.
import { open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DataUnavailable } from '../../errors.js';
import type { PartReader } from '../../types.js';
import type { BlobStore, BlobWriter, StoredBlob } from '../types.js';
import { FsBlobWriter, unlinkQuietly } from './fs-blob-writer.js';
import { isBlobId, newBlobId } from '../blob-id.js';
import { BlobLayout, isShardName } from './layout.js';

/** Files stat'ed at once while listing. */
const STAT_BATCH = 64;
/** Read size for object data: 8 DARE packages of 65568 bytes (≈ 512 KiB). */
const READ_CHUNK = 8 * 65568;

export interface FsBlobStoreOptions {
  /** The directory (created if missing); blobs go to its data/ and tmp/ subdirectories. */
  path: string;
}

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs';
  readonly layout: BlobLayout;
  /**
   * Entries under data/ the last list() skipped because this store never creates such names (a README, a
   * file in the wrong shard): left alone, and counted for the sweep's report.
   */
  foreignEntriesSeen = 0;
  /** Writers of this store whose temp file is still in use: sweepLeftovers leaves those alone. */
  private readonly writing = new Set<string>();

  constructor(options: FsBlobStoreOptions) {
    this.layout = new BlobLayout(options.path);
  }

  /** Creates the directories (durably). */
  open(): this {
    this.layout.create();
    return this;
  }

  async createWriter(): Promise<BlobWriter> {
    const id = newBlobId();
    this.writing.add(id);
    return new FsBlobWriter(id, this.layout, (done) => this.writing.delete(done));
  }

  async openRange(id: string, start: number, endExclusive: number): Promise<Readable> {
    const handle = await this.openChecked(id, start, endExclusive);
    if (!handle) return Readable.from([]);
    // Large reads: fewer trips to the thread pool. A multiple of the 65568-byte DARE package, so each read
    // ends on a package boundary and the decoder never splits a package across reads.
    return handle.createReadStream({ start, end: endExclusive - 1, highWaterMark: READ_CHUNK });
  }

  /** The same byte range as a pull reader: each read fills the caller's buffer (nothing allocated per read). */
  async openReader(id: string, start: number, endExclusive: number): Promise<PartReader> {
    const handle = await this.openChecked(id, start, endExclusive);
    let at = start;
    return {
      async read(into: Buffer): Promise<number> {
        if (!handle || at >= endExclusive) return 0;
        // A file cut short since it was opened reads 0 early: the decoder reports the truncation.
        const { bytesRead } = await handle.read(into, 0, Math.min(into.length, endExclusive - at), at);
        at += bytesRead;
        return bytesRead;
      },
      async close(): Promise<void> {
        await handle?.close();
      },
    };
  }

  /**
   * Unlinks at once: a reader that opened the file keeps reading it (the fs keeps an unlinked, open
   * file), so no grace period is needed here.
   */
  async remove(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.filter(isBlobId).map((id) => unlinkQuietly(this.layout.dataPath(id))));
  }

  async *list(): AsyncIterable<StoredBlob> {
    let foreign = 0;
    try {
      for (const shard of await readdir(this.layout.dataDir)) {
        if (!isShardName(shard)) {
          foreign++;
          continue;
        }
        const shardDir = join(this.layout.dataDir, shard);
        const names = (await readdir(shardDir)).filter((name) => {
          const ours = isBlobId(name) && name.startsWith(shard);
          if (!ours) foreign++;
          return ours;
        });
        // A few stats at a time: one after the other, a store of millions of files would take minutes to list.
        for (let i = 0; i < names.length; i += STAT_BATCH) {
          const batch = names.slice(i, i + STAT_BATCH);
          const infos = await Promise.all(batch.map((name) => stat(join(shardDir, name)).catch(() => undefined)));
          for (const [j, info] of infos.entries()) {
            if (info) yield { id: batch[j]!, size: info.size, modified: info.mtime }; // else: removed meanwhile
          }
        }
      }
    } finally {
      this.foreignEntriesSeen = foreign;
    }
  }

  /** Removes temp files (and anything else in tmp/) that no writer of this store is using. */
  async sweepLeftovers(olderThan: Date): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.layout.tmpDir)) {
      if (this.writing.has(name)) continue;
      const path = join(this.layout.tmpDir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info || info.mtime >= olderThan) continue;
      await rm(path, { force: true, recursive: true });
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    // Nothing held open: readers own their file handles, writers their streams.
  }

  /** Opens a blob after checking the id and that it holds the range; undefined for an empty range. */
  private async openChecked(id: string, start: number, endExclusive: number): Promise<FileHandle | undefined> {
    if (!isBlobId(id)) throw new DataUnavailable(id, 'not a data id of this store');
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endExclusive) || start < 0 || endExclusive < start) {
      throw new RangeError(`invalid byte range [${start}, ${endExclusive}) of data ${id}`);
    }
    let handle: FileHandle;
    try {
      handle = await open(this.layout.dataPath(id), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new DataUnavailable(id, 'its file does not exist (the object was overwritten or deleted: read it again)');
      }
      throw err;
    }
    let size: number;
    try {
      ({ size } = await handle.stat());
    } catch (err) {
      await handle.close();
      throw err;
    }
    // An empty range must lie within the blob too (as the contract and the s3 store have it): [n, n) of a
    // shorter blob is DataUnavailable, not an empty read.
    if (size < endExclusive || start === endExclusive) {
      await handle.close();
      if (size < endExclusive) throw new DataUnavailable(id, `its file holds ${size} bytes, bytes up to ${endExclusive} were asked for`);
      return undefined;
    }
    return handle;
  }
}
