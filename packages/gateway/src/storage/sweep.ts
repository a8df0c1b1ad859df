// The sweep: removes what crashes and failed requests left in the blob store — blobs no metadata
// references, and the leftovers of unfinished writers — while the store serves requests.
//
// A blob is removed only if, when checked, it is not being written by this process (UncommittedBlobs),
// it is older than the store's minimum age, and the metadata store does not reference it. The pending
// check comes before the reference query, and an unreferenced id never becomes referenced again (ids are
// fresh and a writer's id is pending until its commit is durable), so the check cannot race a commit of
// this process. Writers of other processes sharing the stores are unknown here: the minimum age keeps
// their blobs (whose metadata may be about to commit) safe.
import type { BlobStore, StoredBlob } from './blobs/types.js';
import type { MetadataStore } from './metadata/types.js';
import type { SweepReport } from './types.js';

/** Blobs checked against the metadata per query. */
const BATCH = 1000;

export interface SweepInput {
  metadata: MetadataStore;
  blobs: BlobStore;
  isPending(id: string): boolean;
  /** Blobs and leftovers younger than this are left alone; undefined: no age bound (this process holds the stores). */
  minAgeMs: number | undefined;
}

/** Reports how many entries its last list() skipped as not its own (the fs blob store does). */
interface CountsForeignEntries {
  readonly foreignEntriesSeen: number;
}

function countsForeignEntries(blobs: BlobStore): blobs is BlobStore & CountsForeignEntries {
  return typeof (blobs as Partial<CountsForeignEntries>).foreignEntriesSeen === 'number';
}

/** Later than any file's time: with no age bound, every leftover qualifies. */
const END_OF_TIME = new Date(8.64e15);

export async function sweep({ metadata, blobs, isPending, minAgeMs }: SweepInput): Promise<SweepReport> {
  const cutoff = minAgeMs === undefined ? END_OF_TIME : new Date(Date.now() - minAgeMs);
  const report: SweepReport = {
    tempFilesRemoved: await blobs.sweepLeftovers(cutoff),
    orphanDataFilesRemoved: 0,
    bytesReclaimed: 0,
    unknownFiles: 0,
  };
  let batch: StoredBlob[] = [];
  const settle = async (): Promise<void> => {
    const candidates = batch;
    batch = [];
    const referenced = await metadata.referencedBlobs(candidates.map((blob) => blob.id));
    const orphans = candidates.filter((blob) => !referenced.has(blob.id));
    if (orphans.length === 0) return;
    await blobs.remove(orphans.map((blob) => blob.id));
    report.orphanDataFilesRemoved += orphans.length;
    report.bytesReclaimed += orphans.reduce((sum, blob) => sum + blob.size, 0);
  };
  for await (const blob of blobs.list()) {
    if (isPending(blob.id) || blob.modified > cutoff) continue;
    batch.push(blob);
    if (batch.length >= BATCH) await settle();
  }
  await settle();
  if (countsForeignEntries(blobs)) report.unknownFiles = blobs.foreignEntriesSeen;
  return report;
}
