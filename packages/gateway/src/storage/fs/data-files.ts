// The data files of the fs backend: creating writers, tracking data that is written but not yet
// committed, reading byte ranges, removing superseded files and sweeping orphans.
import { open, readdir, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DataUnavailable } from '../errors.js';
import type { DataWriter, PartReader, SweepReport } from '../types.js';
import { FsDataWriter, type WriterRegistry } from './data-writer.js';
import { isDataId, isShardName, newDataId, type Layout } from './layout.js';

/** Read size for object data: 8 DARE packages of 65568 bytes (≈ 512 KiB). */
const READ_CHUNK = 8 * 65568;

interface PendingData {
  state: 'writing' | 'ready';
  size: number;
}

export class DataFiles implements WriterRegistry {
  /** Data written in this process and not yet referenced by a commit: the sweep leaves it be. */
  private readonly pending = new Map<string, PendingData>();

  constructor(private readonly layout: Layout) {}

  createWriter(): DataWriter {
    const id = newDataId();
    this.pending.set(id, { state: 'writing', size: 0 });
    return new FsDataWriter(id, this.layout, this);
  }

  markReady(id: string, size: number): void {
    if (this.pending.has(id)) this.pending.set(id, { state: 'ready', size });
  }

  isPending(id: string): boolean {
    return this.pending.has(id);
  }

  /**
   * Checks that each part names a finished writer of this store, once, with the size its data
   * file has. A failure is a bug in the caller, hence a TypeError rather than an S3 error.
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

  /** Removes uncommitted data (an aborted writer, a failed commit), wherever it is. */
  async discard(ids: readonly string[]): Promise<void> {
    // Only uncommitted ids: a caller passing a committed id by mistake must not destroy its data.
    const uncommitted = ids.filter((id) => this.pending.delete(id));
    await Promise.all(
      uncommitted.flatMap((id) => [this.layout.tmpPath(id), this.layout.dataPath(id)].map(unlinkQuietly)),
    );
  }

  /**
   * Removes data no longer referenced after a commit. A failure only leaves an orphan, which the
   * next sweep removes, so it is not reported to the request that caused it.
   */
  async remove(ids: readonly string[]): Promise<void> {
    await Promise.all(ids.map((id) => unlinkQuietly(this.layout.dataPath(id))));
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

  /** Opens a data file after checking the id and that it holds the range; undefined for an empty range. */
  private async openChecked(id: string, start: number, endExclusive: number): Promise<FileHandle | undefined> {
    if (!isDataId(id)) throw new DataUnavailable(id, 'not a data id of this store');
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
    if (size < endExclusive || start === endExclusive) {
      await handle.close();
      if (start === endExclusive) return undefined;
      throw new DataUnavailable(id, `its file holds ${size} bytes, bytes up to ${endExclusive} were asked for`);
    }
    return handle;
  }

  /**
   * Removes every temp file and every data file that `isReferenced` does not claim, except data
   * written by this process and not yet committed. The reference check and the pending check run
   * in the same tick as each other, and an unreferenced id never becomes referenced again (ids
   * are fresh), so this is safe while the store serves requests.
   */
  async sweep(isReferenced: (id: string) => boolean): Promise<SweepReport> {
    const report: SweepReport = { tempFilesRemoved: 0, orphanDataFilesRemoved: 0, bytesReclaimed: 0, unknownFiles: 0 };
    for (const name of await readdir(this.layout.tmpDir)) {
      if (this.pending.has(name)) continue;
      await rm(join(this.layout.tmpDir, name), { force: true, recursive: true });
      report.tempFilesRemoved++;
    }
    for (const shard of await readdir(this.layout.dataDir)) {
      if (!isShardName(shard)) {
        report.unknownFiles++;
        continue;
      }
      const shardDir = join(this.layout.dataDir, shard);
      for (const name of await readdir(shardDir)) {
        if (!isDataId(name) || !name.startsWith(shard)) {
          report.unknownFiles++;
          continue;
        }
        if (this.pending.has(name) || isReferenced(name)) continue;
        const path = join(shardDir, name);
        const size = await stat(path).then((s) => s.size, () => 0);
        await unlinkQuietly(path);
        report.orphanDataFilesRemoved++;
        report.bytesReclaimed += size;
      }
    }
    return report;
  }
}

async function unlinkQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // ENOENT: already gone; anything else: left for the next sweep.
  }
}
