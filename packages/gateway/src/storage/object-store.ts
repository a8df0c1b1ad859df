// The backend-neutral object store: the ObjectStore contract over one metadata store (SQLite, PostgreSQL)
// and one blob store (fs, s3). Every S3 rule of storage is here, once: key, part and size checks,
// preconditions, revisions and upload ids, which parts a Complete may use, the rolled-up listing and its
// continuation tokens, which blobs a commit may reference, and the sweep.
//
// Crash safety rests on one order for every write:
//   1. the blob is written and made durable under a fresh id (BlobWriter.finish);
//   2. the metadata commits in one transaction, which checks the S3 rules against the current state;
//   3. only then are the blobs it superseded reclaimed (ReclaimPolicy).
// A crash before 2 leaves an unreferenced blob, a crash before 3 superseded ones; the sweep removes both.
// Metadata never references a blob that is not whole, so an object is always the old version or the new one.
import type { Readable } from 'node:stream';
import type { BlobStore } from './blobs/types.js';
import { decodeContinuationToken, encodeContinuationToken } from './continuation-token.js';
import { InvalidArgument, InvalidPart, InvalidPartOrder, PreconditionFailed } from './errors.js';
import { keyAfter } from './key-order.js';
import { inlineRange, inlineReader } from './inline-data.js';
import { HeldLease } from './lease.js';
import type { PostgresDatabase } from './metadata/postgres/database.js';
import type { DeleteOp, MetadataStore } from './metadata/types.js';
import {
  assertParts,
  assertVersionId,
  checkPrecondition,
  chooseParts,
  newRevision,
  newUploadId,
  newVersionId,
  versionIdFor,
} from './object-rules.js';
import type { ReclaimPolicy } from './reclaim.js';
import { scanRolledUp, startPosition } from './rolled-up-scan.js';
import { sweep } from './sweep.js';
import {
  NULL_VERSION,
  type BucketVersioning,
  type DeleteTarget,
  type ListVersionsPage,
  type ListVersionsQuery,
  type VersionLookup,
  type VersionSummary,
} from './types.js';
import type {
  BucketEncryption,
  BucketInfo,
  BucketSettingName,
  BucketSettings,
  CompletePart,
  CompleteUploadInput,
  CreateBucketOptions,
  CreateUploadInput,
  DataWriter,
  DeleteResult,
  ListObjectsPage,
  ListObjectsQuery,
  ListPartsPage,
  ListPartsQuery,
  ListUploadsPage,
  ListUploadsQuery,
  ObjectRecord,
  ObjectStore,
  PartData,
  PartInput,
  PartReader,
  PartRecord,
  PutObjectInput,
  StoredSSE,
  KeyDependents,
  SseModeTotals,
  StoreStats,
  SweepReport,
  Tag,
  UploadedPart,
  UploadRecord,
  UploadRef,
} from './types.js';
import { UncommittedBlobs } from './uncommitted-blobs.js';
import { assertListArgument, assertMaxCount, assertObjectKey, assertPartNumber, assertSize } from './validation.js';

const DEFAULT_MAX = 1000;

/** A listing's prefix, delimiter and max-keys, defaulted and checked, and its marker (start-after, key-marker) checked. */
function listArguments(
  query: { prefix?: string; delimiter?: string; maxKeys?: number },
  markerName: string,
  marker: string | undefined,
): { prefix: string; delimiter: string; maxKeys: number } {
  const prefix = query.prefix ?? '';
  const delimiter = query.delimiter ?? '';
  const maxKeys = query.maxKeys ?? DEFAULT_MAX;
  assertListArgument('prefix', prefix);
  assertListArgument('delimiter', delimiter);
  assertListArgument(markerName, marker);
  assertMaxCount('max-keys', maxKeys);
  return { prefix, delimiter, maxKeys };
}

/** What a status page may show of a backend: kinds and places, never a credential. */
export interface BackendDescription {
  /** 'fs' for the embedded layout (SQLite and blobs in one directory), else `<metadata>+<blobs>`, e.g. 'postgres+s3'. */
  type: string;
  /** The embedded layout's directory. */
  path?: string;
  metadata: { kind: string } & Record<string, string | number | boolean>;
  blobs: { kind: string } & Record<string, string | number | boolean>;
}

/**
 * Where rotation jobs are kept: a SQLite file beside the embedded metadata, or tables of the PostgreSQL
 * metadata database (its pool), where every gateway sharing it sees them.
 */
export type RotationJobsHome = { sqlite: string } | { postgres: PostgresDatabase };

/** What the gateway may know of its backend besides the ObjectStore contract. */
export interface BackendInfo {
  describe(): BackendDescription;
  readonly rotationJobs: RotationJobsHome;
  /** True when several gateways may share the stores (a PostgreSQL metadata store). */
  readonly shared: boolean;
  /** The two stores, for leases, heartbeats and the status page's probes. */
  readonly metadata: MetadataStore;
  readonly blobs: BlobStore;
}

/** The metadata store's lease the sweep runs under when the stores are shared. */
export const SWEEP_LEASE = 'sweep';

export interface LayeredStoreOptions {
  metadata: MetadataStore;
  blobs: BlobStore;
  reclaim: ReclaimPolicy;
  /**
   * The sweep leaves blobs and writer leftovers younger than this alone. undefined: no bound, for stores
   * this process holds alone (the embedded SQLite lock), where its own pending writers are all there are.
   */
  orphanMinAgeMs: number | undefined;
  description: BackendDescription;
  rotationJobs: RotationJobsHome;
  /**
   * For stores several gateways share: the sweep runs under the metadata store's SWEEP_LEASE, held by
   * `holder` (this gateway's instance id), so one gateway sweeps at a time.
   */
  sweepLease?: { holder: string; ttlMs: number };
  /**
   * A single-part object whose stored (encrypted) bytes are at most this many is kept in its metadata row:
   * no blob, one commit. 0 (the default here) stores every object's data as a blob.
   */
  inlineThreshold?: number;
}

export class LayeredObjectStore implements ObjectStore, BackendInfo {
  readonly backend: string;
  readonly metadata: MetadataStore;
  readonly blobs: BlobStore;
  /** Where rotation jobs live, as the factory decided (the store itself keeps none). */
  readonly rotationJobs: RotationJobsHome;
  readonly shared: boolean;
  /** What the sweep at open removed. */
  startupSweep?: SweepReport;
  private readonly uncommitted: UncommittedBlobs;
  private readonly reclaimer: ReclaimPolicy;
  private readonly orphanMinAgeMs: number | undefined;
  private readonly description: BackendDescription;
  private readonly sweepLease: { holder: string; ttlMs: number } | undefined;
  private sweeping?: Promise<SweepReport>;
  private closed = false;

  constructor(options: LayeredStoreOptions) {
    this.metadata = options.metadata;
    this.blobs = options.blobs;
    this.reclaimer = options.reclaim;
    this.orphanMinAgeMs = options.orphanMinAgeMs;
    this.description = options.description;
    this.rotationJobs = options.rotationJobs;
    this.sweepLease = options.sweepLease;
    this.shared = options.sweepLease !== undefined;
    this.backend = options.description.type;
    this.uncommitted = new UncommittedBlobs(options.blobs, options.inlineThreshold ?? 0);
  }

  /** Kinds and places of the two stores, for status pages and logs: no credential, no password. */
  describe(): BackendDescription {
    return structuredClone(this.description);
  }

  // ------------------------------------------------------------------ buckets

  async createBucket(name: string, options: CreateBucketOptions = {}): Promise<BucketInfo> {
    this.assertOpen();
    if (typeof name !== 'string' || name === '') throw new TypeError('a bucket name must be a non-empty string');
    return this.metadata.createBucket(name, new Date(), options.encryption);
  }

  async deleteBucket(name: string): Promise<void> {
    this.assertOpen();
    await this.reclaimer.reclaim(await this.metadata.deleteBucket(name));
  }

  async headBucket(name: string): Promise<BucketInfo> {
    this.assertOpen();
    const { name: bucket, createdAt } = await this.metadata.getBucket(name);
    return { name: bucket, createdAt };
  }

  async listBuckets(): Promise<BucketInfo[]> {
    this.assertOpen();
    return this.metadata.listBuckets();
  }

  async getBucketEncryption(name: string): Promise<BucketEncryption | undefined> {
    this.assertOpen();
    return (await this.metadata.getBucket(name)).encryption;
  }

  async putBucketEncryption(name: string, config: BucketEncryption): Promise<void> {
    this.assertOpen();
    await this.metadata.setBucketEncryption(name, config);
  }

  async deleteBucketEncryption(name: string): Promise<void> {
    this.assertOpen();
    await this.metadata.setBucketEncryption(name, undefined);
  }

  async getBucketSetting<K extends BucketSettingName>(name: string, setting: K): Promise<BucketSettings[K] | undefined> {
    this.assertOpen();
    return this.metadata.getBucketSetting(name, setting);
  }

  async putBucketSetting<K extends BucketSettingName>(name: string, setting: K, value: BucketSettings[K] | undefined): Promise<void> {
    this.assertOpen();
    await this.metadata.putBucketSetting(name, setting, value);
  }

  async getBucketVersioning(name: string): Promise<BucketVersioning> {
    this.assertOpen();
    return this.metadata.getBucketVersioning(name);
  }

  async putBucketVersioning(name: string, state: 'Enabled' | 'Suspended'): Promise<void> {
    this.assertOpen();
    if (state !== 'Enabled' && state !== 'Suspended')
      throw new TypeError(`a bucket's versioning is Enabled or Suspended, not ${String(state)}`);
    await this.metadata.setBucketVersioning(name, state);
  }

  // ------------------------------------------------------------------ objects

  async createDataWriter(bucket: string): Promise<DataWriter> {
    this.assertOpen();
    await this.metadata.getBucket(bucket); // NoSuchBucket before any byte is written
    return this.uncommitted.createWriter();
  }

  async putObject(input: PutObjectInput): Promise<ObjectRecord> {
    this.assertOpen();
    // The data this put owns: the writers' ids, and the blobs data kept in memory was written out to.
    const dataIds = input.parts.map((part) => part.dataId);
    let record: ObjectRecord;
    let superseded: string[];
    try {
      assertObjectKey(input.key);
      assertParts(input.parts);
      assertSize('size', input.size);
      const total = input.parts.reduce((sum, part) => sum + part.plainSize, 0);
      if (total !== input.size) {
        throw new TypeError(`object size ${input.size} is not the sum of its parts' plainSize (${total})`);
      }
      this.uncommitted.assertReady(input.parts);
      const { precondition, ...fields } = input;
      // Data still in memory is small: a single-part object keeps it inline; parts of a larger one get blobs.
      const parts: PartRecord[] = [];
      for (const part of input.parts) {
        const { inline: _given, ...rest } = part;
        const inline = input.parts.length === 1 ? this.uncommitted.inMemory(part.dataId) : undefined;
        if (inline) {
          parts.push({ ...rest, inline });
        } else {
          const blobId = await this.uncommitted.spill(part.dataId);
          if (blobId !== part.dataId) dataIds.push(blobId);
          parts.push({ ...rest, dataId: blobId });
        }
      }
      const written = newObjectRecord({ ...fields, parts });
      superseded = await this.metadata.putObject(written, (existing, versioning) => {
        checkPrecondition(existing, precondition);
        written.versionId = versionIdFor(versioning);
        return written.versionId;
      });
      record = written;
    } catch (err) {
      await this.uncommitted.discard(dataIds); // putObject owns the data: a failed put leaves none
      throw err;
    }
    this.uncommitted.settle(dataIds);
    await this.reclaimer.reclaim(superseded);
    return record;
  }

  async getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    this.assertOpen();
    assertObjectKey(key);
    return this.metadata.getObject(bucket, key);
  }

  async getVersion(bucket: string, key: string, versionId?: string): Promise<VersionLookup> {
    this.assertOpen();
    assertObjectKey(key);
    if (versionId !== undefined) assertVersionId(versionId);
    return this.metadata.getVersion(bucket, key, versionId);
  }

  async openPartRange(part: PartData, start: number, endExclusive: number): Promise<Readable> {
    this.assertOpen();
    const { dataId, inline } = typeof part === 'string' ? { dataId: part, inline: undefined } : part;
    assertRange(dataId, start, endExclusive);
    if (inline) return inlineRange(dataId, inline, start, endExclusive);
    return this.blobs.openRange(dataId, start, endExclusive);
  }

  async openPartReader(part: PartData, start: number, endExclusive: number): Promise<PartReader> {
    this.assertOpen();
    const { dataId, inline } = typeof part === 'string' ? { dataId: part, inline: undefined } : part;
    assertRange(dataId, start, endExclusive);
    if (inline) return inlineReader(dataId, inline, start, endExclusive);
    return this.blobs.openReader(dataId, start, endExclusive);
  }

  async deleteObject(bucket: string, key: string, versionId?: string): Promise<DeleteResult> {
    const [result] = await this.deleteObjects(bucket, [{ key, ...(versionId !== undefined ? { versionId } : {}) }]);
    return result!;
  }

  async deleteObjects(bucket: string, targets: readonly (string | DeleteTarget)[]): Promise<DeleteResult[]> {
    this.assertOpen();
    const wanted = targets.map((t) => (typeof t === 'string' ? { key: t } : t));
    for (const t of wanted) {
      assertObjectKey(t.key);
      if (t.versionId !== undefined) assertVersionId(t.versionId);
    }
    let versioning: BucketVersioning = 'Unversioned';
    const { results, superseded } = await this.metadata.deleteObjects(bucket, (state) => {
      versioning = state;
      return wanted.map((t) => deleteOp(t, state));
    });
    await this.reclaimer.reclaim(superseded);
    return results.map((r, i) => {
      const named = wanted[i]!.versionId !== undefined;
      const result: DeleteResult = { key: r.key, deleted: r.removed !== 'none' || r.markerAdded, versioning };
      if (named) {
        result.versionId = r.versionId;
        // Removing a delete marker: S3 names it as the marker deleted, too.
        if (r.removed === 'marker') Object.assign(result, { deleteMarker: true, deleteMarkerVersionId: r.versionId });
      } else if (r.markerAdded) {
        result.deleteMarker = true;
        result.deleteMarkerVersionId = r.versionId;
      }
      return result;
    });
  }

  async updateObjectSSE(bucket: string, key: string, expectRevision: string, sse: StoredSSE, versionId?: string): Promise<ObjectRecord> {
    this.assertOpen();
    assertObjectKey(key);
    if (versionId !== undefined) assertVersionId(versionId);
    return this.metadata.updateObject(
      bucket,
      key,
      (existing) => {
        if (existing.revision !== expectRevision) {
          throw new PreconditionFailed(
            `The object ${key} changed since it was read (revision ${existing.revision}, expected ${expectRevision})`,
          );
        }
        return { sse, revision: newRevision() };
      },
      versionId,
    );
  }

  async putObjectTags(bucket: string, key: string, tags: Tag[], versionId?: string): Promise<ObjectRecord> {
    this.assertOpen();
    assertObjectKey(key);
    if (versionId !== undefined) assertVersionId(versionId);
    return this.metadata.updateObject(bucket, key, () => ({ tags }), versionId);
  }

  async listObjects(query: ListObjectsQuery): Promise<ListObjectsPage> {
    this.assertOpen();
    const { prefix, delimiter, maxKeys } = listArguments(query, 'start-after', query.startAfter);
    const after = query.continuationToken !== undefined ? decodeContinuationToken(query.continuationToken) : query.startAfter;

    let asked = false;
    const page = await scanRolledUp({
      prefix,
      delimiter,
      maxEntries: maxKeys,
      start: startPosition(prefix, delimiter, after),
      rowsFrom: (from, upper, limit) => {
        asked = true;
        return this.metadata.listObjects(query.bucket, from.key, upper, limit);
      },
      positionAfter: (row) => ({ key: keyAfter(row.key), afterId: '' }),
    });
    if (!asked) await this.metadata.getBucket(query.bucket); // NoSuchBucket even when nothing was read
    const result: ListObjectsPage = { contents: page.rows, commonPrefixes: page.commonPrefixes, isTruncated: page.truncated };
    if (page.truncated && page.last) {
      const last = 'row' in page.last ? page.last.row.key : page.last.prefix;
      result.nextToken = encodeContinuationToken(last);
      result.nextMarker = last;
    }
    return result;
  }

  async listVersions(query: ListVersionsQuery): Promise<ListVersionsPage> {
    this.assertOpen();
    const { prefix, delimiter, maxKeys } = listArguments(query, 'key-marker', query.keyMarker);
    if (query.versionIdMarker !== undefined) {
      if (query.keyMarker === undefined) throw new InvalidArgument('A version-id marker cannot be specified without a key marker.');
      assertVersionId(query.versionIdMarker);
    }
    // After (key, version): the key's versions older than it. A version no longer stored (deleted since the
    // page that named it) leaves nothing of that key to resume at, so the listing goes on at the next key.
    let afterId = '';
    if (query.keyMarker !== undefined && query.versionIdMarker !== undefined) {
      const seq = await this.metadata.versionSeq(query.bucket, query.keyMarker, query.versionIdMarker);
      if (seq !== undefined) afterId = String(seq);
    }

    let asked = false;
    const page = await scanRolledUp({
      prefix,
      delimiter,
      maxEntries: maxKeys,
      start: startPosition(prefix, delimiter, query.keyMarker, afterId),
      rowsFrom: (from, upper, limit) => {
        asked = true;
        return this.metadata.listVersions(
          query.bucket,
          { key: from.key, ...(from.afterId !== '' ? { beforeSeq: Number(from.afterId) } : {}) },
          upper,
          limit,
        );
      },
      positionAfter: (row) => ({ key: row.key, afterId: String(row.seq) }),
    });
    if (!asked) await this.metadata.getBucket(query.bucket);
    const result: ListVersionsPage = {
      versions: page.rows.map(({ seq: _seq, ...v }): VersionSummary => v),
      commonPrefixes: page.commonPrefixes,
      isTruncated: page.truncated,
    };
    if (page.truncated && page.last) {
      if ('row' in page.last) {
        result.nextKeyMarker = page.last.row.key;
        result.nextVersionIdMarker = page.last.row.versionId;
      } else {
        result.nextKeyMarker = page.last.prefix;
      }
    }
    return result;
  }

  // ------------------------------------------------------------------ multipart

  async createUpload(input: CreateUploadInput): Promise<UploadRecord> {
    this.assertOpen();
    assertObjectKey(input.key);
    const upload: UploadRecord = {
      bucket: input.bucket,
      key: input.key,
      uploadId: newUploadId(),
      initiated: new Date(),
      userMetadata: input.userMetadata,
      standardHeaders: input.standardHeaders,
      sse: input.sse,
    };
    if (input.contentType !== undefined) upload.contentType = input.contentType;
    if (input.checksumAlgorithm !== undefined) upload.checksumAlgorithm = input.checksumAlgorithm;
    if (input.checksumType !== undefined) upload.checksumType = input.checksumType;
    if (input.tags !== undefined && input.tags.length > 0) upload.tags = input.tags;
    await this.metadata.createUpload(upload);
    return upload;
  }

  async getUpload(ref: UploadRef): Promise<UploadRecord> {
    this.assertOpen();
    return this.metadata.getUpload(ref);
  }

  async putPart(ref: UploadRef, number: number, dataId: string, part: PartInput): Promise<UploadedPart> {
    this.assertOpen();
    let uploaded: UploadedPart;
    let superseded: string[];
    try {
      const record: PartRecord = { number, dataId, ...part };
      assertParts([record]);
      this.uncommitted.assertReady([record]);
      // Parts are never inline: data a writer kept in memory is written out to a blob first.
      record.dataId = dataId = await this.uncommitted.spill(dataId);
      uploaded = { ...record, lastModified: new Date() };
      superseded = await this.metadata.putPart(ref, uploaded);
    } catch (err) {
      await this.uncommitted.discard([dataId]);
      throw err;
    }
    this.uncommitted.settle([dataId]);
    await this.reclaimer.reclaim(superseded);
    return uploaded;
  }

  async listParts(ref: UploadRef, query: ListPartsQuery = {}): Promise<ListPartsPage> {
    this.assertOpen();
    const marker = query.partNumberMarker ?? 0;
    const maxParts = query.maxParts ?? DEFAULT_MAX;
    assertMaxCount('part-number-marker', marker);
    assertMaxCount('max-parts', maxParts);
    if (maxParts === 0) {
      await this.metadata.getUpload(ref); // NoSuchUpload still
      return { parts: [], isTruncated: false };
    }
    const rows = await this.metadata.listParts(ref, marker, maxParts + 1);
    const parts = rows.slice(0, maxParts);
    const page: ListPartsPage = { parts, isTruncated: rows.length > maxParts };
    if (page.isTruncated) page.nextPartNumberMarker = parts[parts.length - 1]?.number;
    return page;
  }

  async listUploads(query: ListUploadsQuery): Promise<ListUploadsPage> {
    this.assertOpen();
    const prefix = query.prefix ?? '';
    const delimiter = query.delimiter ?? '';
    const maxUploads = query.maxUploads ?? DEFAULT_MAX;
    assertListArgument('prefix', prefix);
    assertListArgument('delimiter', delimiter);
    assertListArgument('key-marker', query.keyMarker);
    assertMaxCount('max-uploads', maxUploads);
    // S3 ignores upload-id-marker without key-marker.
    const afterId = query.keyMarker !== undefined ? (query.uploadIdMarker ?? '') : '';

    let asked = false;
    const page = await scanRolledUp({
      prefix,
      delimiter,
      maxEntries: maxUploads,
      start: startPosition(prefix, delimiter, query.keyMarker, afterId),
      rowsFrom: (from, upper, limit) => {
        asked = true;
        return this.metadata.listUploads(query.bucket, from, upper, limit);
      },
      positionAfter: (row) => ({ key: row.key, afterId: row.uploadId }),
    });
    if (!asked) await this.metadata.getBucket(query.bucket);
    const result: ListUploadsPage = { uploads: page.rows, commonPrefixes: page.commonPrefixes, isTruncated: page.truncated };
    if (page.truncated && page.last) {
      if ('row' in page.last) {
        result.nextKeyMarker = page.last.row.key;
        result.nextUploadIdMarker = page.last.row.uploadId;
      } else {
        result.nextKeyMarker = page.last.prefix;
      }
    }
    return result;
  }

  async completeUpload(ref: UploadRef, chosen: readonly CompletePart[], input: CompleteUploadInput): Promise<ObjectRecord> {
    this.assertOpen();
    if (chosen.length === 0) throw new InvalidPart('You must specify at least one part');
    chosen.forEach((part, i) => {
      assertPartNumber(part.number);
      if (i > 0 && part.number <= chosen[i - 1]!.number) throw new InvalidPartOrder();
    });
    let record: ObjectRecord | undefined;
    const superseded = await this.metadata.completeUpload(ref, (upload, uploaded, existing, versioning) => {
      const parts = chooseParts(uploaded, chosen, ref.uploadId);
      checkPrecondition(existing, input.precondition);
      const built = newObjectRecord({
        bucket: ref.bucket,
        key: ref.key,
        size: parts.reduce((sum, part) => sum + part.plainSize, 0),
        etag: input.etag,
        ...(upload.contentType !== undefined && { contentType: upload.contentType }),
        userMetadata: upload.userMetadata,
        standardHeaders: upload.standardHeaders,
        ...(upload.tags !== undefined && { tags: upload.tags }),
        ...(input.checksum !== undefined && { checksum: input.checksum }),
        sse: input.sse ?? upload.sse,
        parts,
      });
      built.versionId = versionIdFor(versioning);
      record = built;
      return built;
    });
    await this.reclaimer.reclaim(superseded);
    return record!;
  }

  async updateUploadSSE(ref: UploadRef, expect: StoredSSE, sse: StoredSSE): Promise<void> {
    this.assertOpen();
    await this.metadata.updateUpload(ref, (upload) => {
      // Uploads have no revision: compare the fields themselves, in their stored (JSON) form.
      if (JSON.stringify(upload.sse) !== JSON.stringify(expect)) {
        throw new PreconditionFailed(`The upload ${ref.uploadId} of ${ref.key} changed its encryption since it was read`);
      }
      return { sse };
    });
  }

  async abortUpload(ref: UploadRef): Promise<void> {
    this.assertOpen();
    await this.reclaimer.reclaim(await this.metadata.abortUpload(ref));
  }

  // ------------------------------------------------------------------ maintenance

  /**
   * One sweep at a time: a call while one runs gets its report. With shared stores, one gateway at a time:
   * when another holds the sweep lease, nothing is swept and the report says so.
   */
  async sweep(): Promise<SweepReport> {
    this.assertOpen();
    this.sweeping ??= this.sweepUnderLease().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepUnderLease(): Promise<SweepReport> {
    const run = (): Promise<SweepReport> =>
      sweep({
        metadata: this.metadata,
        blobs: this.blobs,
        isPending: (id) => this.uncommitted.isPending(id),
        minAgeMs: this.orphanMinAgeMs,
      });
    if (!this.sweepLease) return run();
    const { holder, ttlMs } = this.sweepLease;
    const lease = await HeldLease.take(this.metadata, SWEEP_LEASE, holder, ttlMs);
    if (!lease) {
      return { tempFilesRemoved: 0, orphanDataFilesRemoved: 0, bytesReclaimed: 0, unknownFiles: 0, skipped: 'another gateway is sweeping' };
    }
    // Losing the lease midway (a very slow sweep) is harmless: two sweeps at once remove the same orphans,
    // and neither removes a referenced or young blob. The lease only saves the duplicate work.
    try {
      return await run();
    } finally {
      await lease.release();
    }
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    return this.metadata.stats();
  }

  async sseTotals(): Promise<SseModeTotals[]> {
    this.assertOpen();
    return this.metadata.sseTotals();
  }

  async keyDependents(masterKey: string): Promise<KeyDependents[]> {
    this.assertOpen();
    return this.metadata.keyDependents(masterKey);
  }

  /**
   * Closes both stores (the embedded metadata store releases its lock). Blobs of unfinished writers, and
   * superseded blobs still waiting to be reclaimed, are swept at a later open.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reclaimer.close();
    await this.sweeping?.catch(() => {});
    try {
      await this.metadata.close();
    } finally {
      await this.blobs.close();
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`the object store (${this.backend}) is closed`);
  }
}

/**
 * The metadata steps of one delete target: a named version is removed; otherwise the bucket's versioning
 * decides (Unversioned: remove the null version; Enabled: a new delete marker; Suspended: the null version
 * replaced by a delete marker).
 */
function deleteOp(target: DeleteTarget, versioning: BucketVersioning): DeleteOp {
  if (target.versionId !== undefined) return { key: target.key, versionId: target.versionId };
  if (versioning === 'Unversioned') return { key: target.key, versionId: NULL_VERSION };
  const marker = { lastModified: new Date() };
  return { key: target.key, versionId: versioning === 'Enabled' ? newVersionId() : NULL_VERSION, marker };
}

/**
 * A new version of an object: a fresh revision, stamped now; optional fields only when they hold something.
 * Its version id is chosen in the commit (the bucket's versioning then).
 */
function newObjectRecord(fields: Omit<PutObjectInput, 'precondition'>): ObjectRecord {
  const { contentType, checksum, tags, parts, ...rest } = fields;
  const record: ObjectRecord = {
    ...rest,
    versionId: NULL_VERSION,
    revision: newRevision(),
    lastModified: new Date(),
    parts: parts.map((part) => ({ ...part })),
  };
  if (contentType !== undefined) record.contentType = contentType;
  if (checksum !== undefined) record.checksum = checksum;
  if (tags !== undefined && tags.length > 0) record.tags = tags;
  return record;
}

function assertRange(dataId: string, start: number, endExclusive: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endExclusive) || start < 0 || endExclusive < start) {
    throw new RangeError(`invalid byte range [${start}, ${endExclusive}) of data ${dataId}`);
  }
}
