// The embedded metadata store: one SQLite file (WAL, synchronous=NORMAL plus an fsync of the WAL on the thread
// pool before any write resolves: wal-sync.ts), held by one process.
//
// All SQL runs synchronously on the event loop thread, so each transaction is atomic with respect to
// every other request of this process, and the object store's callbacks (check, update, build) run
// inside it. Object and part writes go through a group commit: the writes asked for in one turn of the
// event loop share one transaction (and one fsync), each in its own savepoint; none resolves before that
// commit is durable. Bucket, upload and settings changes are rare and commit on their own (commitNow), durable
// before they resolve too. A read may see a commit whose fsync is still running (see wal-sync.ts).
import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { BucketAlreadyExists, BucketNotEmpty, NoSuchBucket, NoSuchKey, NoSuchUpload, NoSuchVersion } from '../../errors.js';
import type {
  BucketEncryption,
  BucketInfo,
  BucketSettingName,
  BucketSettings,
  BucketVersioning,
  KeyDependents,
  ObjectRecord,
  ObjectSummary,
  ObjectVersion,
  StoredSSE,
  SseModeTotals,
  StoreStats,
  UploadedPart,
  UploadRecord,
  UploadRef,
  UploadSummary,
} from '../../types.js';
import { InProcessCoordination } from '../in-process-coordination.js';
import type {
  DeleteOp,
  DeleteOutcome,
  ExistingObject,
  GatewayInstance,
  GatewayPresence,
  ListedVersion,
  MetadataStore,
  ObjectPatch,
  PutCheck,
  Superseded,
  UploadPosition,
  VersionPosition,
} from '../types.js';
import { GroupCommit } from './group-commit.js';
import type { WalSync } from './wal-sync.js';
import {
  bucketEncryption,
  bucketInfo,
  bucketVersioning,
  jsonOrNull,
  listedVersion,
  markerInsert,
  objectInsert,
  objectRecord,
  objectSummary,
  objectVersion,
  objectPartInsert,
  partInsert,
  storedSize,
  tagsOrNull,
  uploadedPart,
  uploadInsert,
  uploadRecord,
  uploadSummary,
  type BucketRow,
  type ListedVersionRow,
  type ObjectRow,
  type UploadRow,
} from './rows.js';
import { Statements } from './statements.js';

/** Bucket rows kept in memory; past this many (buckets are few) the cache starts over. */
const MAX_CACHED_BUCKETS = 10_000;

export class SqliteMetadataStore implements MetadataStore {
  readonly kind = 'sqlite';
  private readonly s: Statements;
  private readonly commits: GroupCommit;
  private readonly coordination = new InProcessCoordination();
  /**
   * Bucket rows by name, read once: every object request needs its bucket's row, and only this store writes
   * them (it holds meta.db exclusively). Each bucket write drops the entry inside its transaction.
   */
  private readonly bucketRows = new Map<string, BucketRow>();
  private closed = false;

  /** `db` is open, locked and migrated (see database.ts); `path` names it in errors; `wal` syncs its -wal file. */
  constructor(
    private readonly db: Database,
    readonly path: string,
    private readonly wal: WalSync,
  ) {
    this.s = new Statements(db);
    this.commits = new GroupCommit(db, wal);
  }

  async schemaVersion(): Promise<number> {
    this.assertOpen();
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  // ------------------------------------------------------------------ buckets

  async createBucket(name: string, createdAt: Date, encryption: BucketEncryption | undefined): Promise<BucketInfo> {
    this.assertOpen();
    await this.commitNow(() => {
      if (this.s.getBucket.get(name)) throw new BucketAlreadyExists(name);
      this.s.insertBucket.run(name, createdAt.getTime(), jsonOrNull(encryption));
    });
    return { name, createdAt: new Date(createdAt.getTime()) };
  }

  async deleteBucket(name: string): Promise<Superseded> {
    this.assertOpen();
    return this.commitNow(() => {
      this.requireBucket(name);
      if (this.s.bucketHasObjects.get(name)) throw new BucketNotEmpty(name);
      const blobs: string[] = [];
      for (const { upload_id } of this.s.bucketUploadIds.all(name)) {
        blobs.push(...this.s.getUploadParts.all(upload_id).map((part) => part.data_id));
        this.s.deleteUpload.run(upload_id);
      }
      this.s.deleteBucketSettings.run(name);
      this.s.deleteBucket.run(name);
      this.bucketRows.delete(name);
      return blobs;
    });
  }

  async getBucket(name: string): Promise<BucketInfo & { encryption?: BucketEncryption }> {
    this.assertOpen();
    const row = this.requireBucket(name);
    const encryption = bucketEncryption(row);
    return { ...bucketInfo(row), ...(encryption !== undefined && { encryption }) };
  }

  async listBuckets(): Promise<BucketInfo[]> {
    this.assertOpen();
    return this.s.listBuckets.all().map(bucketInfo);
  }

  async setBucketEncryption(name: string, encryption: BucketEncryption | undefined): Promise<void> {
    this.assertOpen();
    await this.commitNow(() => {
      const { changes } = this.s.setBucketEncryption.run(jsonOrNull(encryption), name);
      this.bucketRows.delete(name);
      if (changes === 0) throw new NoSuchBucket(name);
    });
  }

  async getBucketSetting<K extends BucketSettingName>(name: string, setting: K): Promise<BucketSettings[K] | undefined> {
    this.assertOpen();
    this.requireBucket(name);
    const row = this.s.getBucketSetting.get(name, setting);
    return row === undefined ? undefined : (JSON.parse(row.value) as BucketSettings[K]);
  }

  async putBucketSetting<K extends BucketSettingName>(name: string, setting: K, value: BucketSettings[K] | undefined): Promise<void> {
    this.assertOpen();
    await this.commitNow(() => {
      this.requireBucket(name);
      if (value === undefined) this.s.deleteBucketSetting.run(name, setting);
      else this.s.putBucketSetting.run(name, setting, JSON.stringify(value));
    });
  }

  // ------------------------------------------------------------------ versioning

  async getBucketVersioning(name: string): Promise<BucketVersioning> {
    this.assertOpen();
    return bucketVersioning(this.requireBucket(name).versioning);
  }

  async setBucketVersioning(name: string, state: 'Enabled' | 'Suspended'): Promise<void> {
    this.assertOpen();
    await this.commitNow(() => {
      const { changes } = this.s.setBucketVersioning.run(state, name);
      this.bucketRows.delete(name);
      if (changes === 0) throw new NoSuchBucket(name);
    });
  }

  // ------------------------------------------------------------------ objects

  async getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    this.assertOpen();
    const row = this.s.getObject.get(bucket, key);
    if (!row) {
      this.requireBucket(bucket);
      return undefined;
    }
    const version = objectVersion(row, this.s.getObjectParts.all(row.id));
    return version.deleteMarker ? undefined : version;
  }

  async getVersion(
    bucket: string,
    key: string,
    versionId: string | undefined,
  ): Promise<{ version: ObjectVersion | undefined; isLatest: boolean; versioning: BucketVersioning }> {
    this.assertOpen();
    const versioning = bucketVersioning(this.requireBucket(bucket).versioning);
    const row = versionId === undefined ? this.s.getObject.get(bucket, key) : this.s.getVersion.get(bucket, key, versionId);
    if (!row) return { version: undefined, isLatest: false, versioning };
    return { version: objectVersion(row, this.s.getObjectParts.all(row.id)), isLatest: row.is_latest === 1, versioning };
  }

  async putObject(object: ObjectRecord, check: PutCheck): Promise<Superseded> {
    this.assertOpen();
    return this.commits.run(() => {
      const bucket = this.requireBucket(object.bucket);
      const chosen = check(() => this.latestObject(object.bucket, object.key), bucketVersioning(bucket.versioning));
      const versionId = typeof chosen === 'string' ? chosen : object.versionId;
      const stored: ObjectRecord = { ...object, versionId };
      return this.storeLatest(stored);
    });
  }

  async deleteObjects(
    bucket: string,
    plan: (versioning: BucketVersioning) => DeleteOp[],
  ): Promise<{ results: DeleteOutcome[]; superseded: Superseded }> {
    this.assertOpen();
    return this.commits.run(() => {
      const row = this.requireBucket(bucket);
      const results: DeleteOutcome[] = [];
      const superseded: string[] = [];
      for (const op of plan(bucketVersioning(row.versioning))) {
        const existing = this.s.getVersion.get(bucket, op.key, op.versionId);
        const removed = existing ? (existing.delete_marker === 1 ? 'marker' : 'object') : 'none';
        superseded.push(...this.removeVersion(bucket, op.key, op.versionId));
        if (op.marker) {
          this.insertMarker(bucket, op.key, op.versionId, op.marker.lastModified);
        }
        results.push({ key: op.key, versionId: op.versionId, removed, markerAdded: op.marker !== undefined });
      }
      return { results, superseded };
    });
  }

  async updateObject(
    bucket: string,
    key: string,
    update: (existing: ObjectRecord) => ObjectPatch,
    versionId?: string,
  ): Promise<ObjectRecord> {
    this.assertOpen();
    return this.commits.run(() => {
      const row = versionId === undefined ? this.s.getObject.get(bucket, key) : this.s.getVersion.get(bucket, key, versionId);
      if (!row || row.delete_marker === 1) {
        this.requireBucket(bucket);
        throw versionId === undefined ? new NoSuchKey(bucket, key) : new NoSuchVersion(key, versionId);
      }
      const existing = objectRecord(row, this.s.getObjectParts.all(row.id));
      const patch = update(existing);
      const { tags: _tags, ...record } = existing;
      const updated: ObjectRecord = { ...record, revision: patch.revision ?? record.revision, sse: patch.sse ?? record.sse };
      const tags = patch.tags ?? existing.tags;
      if (tags !== undefined && tags.length > 0) updated.tags = tags;
      this.s.updateObject.run(updated.revision, JSON.stringify(updated.sse), tagsOrNull(updated.tags), row.id);
      return updated;
    });
  }

  async listObjects(bucket: string, fromKey: string, upper: string | undefined, limit: number): Promise<ObjectSummary[]> {
    this.assertOpen();
    this.requireBucket(bucket);
    const rows =
      upper === undefined
        ? this.s.listObjectsFrom.all(bucket, fromKey, limit)
        : this.s.listObjectsBetween.all(bucket, fromKey, upper, limit);
    return rows.map(objectSummary);
  }

  async listVersions(bucket: string, from: VersionPosition, upper: string | undefined, limit: number): Promise<ListedVersion[]> {
    this.assertOpen();
    this.requireBucket(bucket);
    const rows: ListedVersionRow[] = [];
    if (from.beforeSeq !== undefined) {
      rows.push(...this.s.listVersionsOfKey.all(bucket, from.key, from.beforeSeq, limit));
      if (rows.length < limit) {
        const rest = limit - rows.length;
        rows.push(
          ...(upper === undefined
            ? this.s.listVersionsAfterFrom.all(bucket, from.key, rest)
            : this.s.listVersionsAfterBetween.all(bucket, from.key, upper, rest)),
        );
      }
    } else {
      rows.push(
        ...(upper === undefined
          ? this.s.listVersionsFrom.all(bucket, from.key, limit)
          : this.s.listVersionsBetween.all(bucket, from.key, upper, limit)),
      );
    }
    return rows.map(listedVersion);
  }

  async versionSeq(bucket: string, key: string, versionId: string): Promise<number | undefined> {
    this.assertOpen();
    this.requireBucket(bucket);
    return this.s.getVersion.get(bucket, key, versionId)?.id;
  }

  // ------------------------------------------------------------------ multipart uploads

  async createUpload(upload: UploadRecord): Promise<void> {
    this.assertOpen();
    await this.commitNow(() => {
      this.requireBucket(upload.bucket);
      this.s.insertUpload.run(uploadInsert(upload));
    });
  }

  async getUpload(ref: UploadRef): Promise<UploadRecord> {
    this.assertOpen();
    return uploadRecord(this.requireUpload(ref));
  }

  async putPart(ref: UploadRef, part: UploadedPart): Promise<Superseded> {
    this.assertOpen();
    return this.commits.run(() => {
      this.requireUpload(ref);
      const previous = this.s.getUploadPart.get(ref.uploadId, part.number);
      if (previous) this.s.deleteUploadPart.run(ref.uploadId, part.number);
      this.s.insertUploadPart.run({ ...partInsert(ref.uploadId, part), last_modified: part.lastModified.getTime() });
      return previous ? [previous.data_id] : [];
    });
  }

  async listParts(ref: UploadRef, afterNumber: number, limit: number): Promise<UploadedPart[]> {
    this.assertOpen();
    this.requireUpload(ref);
    return this.s.listUploadParts.all(ref.uploadId, afterNumber, limit).map(uploadedPart);
  }

  async listUploads(bucket: string, from: UploadPosition, upper: string | undefined, limit: number): Promise<UploadSummary[]> {
    this.assertOpen();
    this.requireBucket(bucket);
    const rows =
      upper === undefined
        ? this.s.listUploadsFrom.all(bucket, from.key, from.afterId, limit)
        : this.s.listUploadsBetween.all(bucket, from.key, from.afterId, upper, limit);
    return rows.map(uploadSummary);
  }

  async completeUpload(
    ref: UploadRef,
    build: (upload: UploadRecord, parts: UploadedPart[], existing: ExistingObject, versioning: BucketVersioning) => ObjectRecord,
  ): Promise<Superseded> {
    this.assertOpen();
    return this.commits.run(() => {
      const upload = uploadRecord(this.requireUpload(ref));
      const parts = this.s.getUploadParts.all(ref.uploadId).map(uploadedPart);
      const current = () => this.latestObject(ref.bucket, ref.key);
      const object = build(upload, parts, current, bucketVersioning(this.requireBucket(ref.bucket).versioning));
      const superseded = this.storeLatest(object);
      this.s.deleteUpload.run(ref.uploadId); // cascades to the upload's part rows
      const used = new Set(object.parts.map((part) => part.dataId));
      return [...superseded, ...parts.filter((part) => !used.has(part.dataId)).map((part) => part.dataId)];
    });
  }

  async abortUpload(ref: UploadRef): Promise<Superseded> {
    this.assertOpen();
    return this.commitNow(() => {
      this.requireUpload(ref);
      const blobs = this.s.getUploadParts.all(ref.uploadId).map((row) => row.data_id);
      this.s.deleteUpload.run(ref.uploadId);
      return blobs;
    });
  }

  async updateUpload(ref: UploadRef, update: (upload: UploadRecord) => { sse: StoredSSE }): Promise<void> {
    this.assertOpen();
    await this.commits.run(() => {
      const { sse } = update(uploadRecord(this.requireUpload(ref)));
      this.s.updateUploadSse.run(JSON.stringify(sse), ref.uploadId);
    });
  }

  // ------------------------------------------------------------------ gateways sharing the store
  // This process holds the database alone (its lock): leases and heartbeats need no table.

  async tryLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    this.assertOpen();
    return this.coordination.tryLease(name, holder, ttlMs);
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    this.coordination.releaseLease(name, holder);
  }

  async leaseHolder(name: string): Promise<string | undefined> {
    this.assertOpen();
    return this.coordination.leaseHolder(name);
  }

  async heartbeat(instance: GatewayInstance): Promise<void> {
    this.assertOpen();
    this.coordination.heartbeat(instance);
  }

  async gateways(withinMs: number): Promise<GatewayPresence[]> {
    this.assertOpen();
    return this.coordination.seen(withinMs);
  }

  async removeGateway(id: string): Promise<void> {
    this.coordination.remove(id);
  }

  // ------------------------------------------------------------------ maintenance

  async referencedBlobs(ids: readonly string[]): Promise<Set<string>> {
    this.assertOpen();
    // One index lookup each (data_id is UNIQUE in both tables), synchronously: cheaper than building a query.
    return new Set(ids.filter((id) => this.s.dataIsReferenced.get(id, id) !== undefined));
  }

  async stats(): Promise<StoreStats> {
    this.assertOpen();
    const buckets = this.s.bucketTotals.get()!;
    const uploads = this.s.uploadTotals.get()!;
    return {
      buckets: buckets.buckets,
      objects: buckets.objects ?? 0,
      bytes: buckets.bytes ?? 0,
      storedBytes: buckets.stored ?? 0,
      uploads: uploads.uploads,
      uploadParts: uploads.parts,
      uploadStoredBytes: uploads.stored ?? 0,
    };
  }

  async sseTotals(): Promise<SseModeTotals[]> {
    this.assertOpen();
    return this.s.sseTotals.all();
  }

  async keyDependents(masterKey: string): Promise<KeyDependents[]> {
    this.assertOpen();
    return this.s.keyDependents.all({ key: masterKey });
  }

  /** Commits what is queued and waits for its fsync, then closes meta.db, releasing the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.commits.flush();
    await this.wal.close();
    this.db.close();
  }

  /** Runs `write` as its own transaction now; resolves once it is durable (rare writes: no batching). */
  private async commitNow<T>(write: () => T): Promise<T> {
    this.wal.assertWritable();
    const value = this.db.transaction(write)();
    await this.wal.committed();
    return value;
  }

  // ------------------------------------------------------------------ helpers (run inside transactions)

  private assertOpen(): void {
    if (this.closed) throw new Error(`the metadata store ${this.path} is closed`);
  }

  private requireBucket(name: string): BucketRow {
    const cached = this.bucketRows.get(name);
    if (cached) return cached;
    const row = this.s.getBucket.get(name);
    if (!row) throw new NoSuchBucket(name);
    if (this.bucketRows.size >= MAX_CACHED_BUCKETS) this.bucketRows.clear();
    this.bucketRows.set(name, row);
    return row;
  }

  private requireUpload(ref: UploadRef): UploadRow {
    const row = this.s.getUpload.get(ref.uploadId, ref.bucket, ref.key);
    if (!row) {
      this.requireBucket(ref.bucket);
      throw new NoSuchUpload(ref.uploadId);
    }
    return row;
  }

  /** The key's latest version (object or delete marker). */
  /** The key's latest version when it is an object (not a delete marker). */
  private latestObject(bucket: string, key: string): ObjectRecord | undefined {
    const latest = this.readObject(bucket, key);
    return latest && !latest.record.deleteMarker ? (latest.record as ObjectRecord) : undefined;
  }

  private readObject(bucket: string, key: string): { row: ObjectRow; record: ObjectVersion } | undefined {
    const row = this.s.getObject.get(bucket, key);
    return row ? { row, record: objectVersion(row, this.s.getObjectParts.all(row.id)) } : undefined;
  }

  /**
   * Deletes a stored version (its part rows cascade) and returns its blobs; when it was the latest, the newest
   * remaining version of the key becomes the latest.
   */
  private removeVersion(bucket: string, key: string, versionId: string): string[] {
    const row = this.s.getVersion.get(bucket, key, versionId);
    return row ? this.removeRow(row) : [];
  }

  private removeRow(row: ObjectRow): string[] {
    const blobs = this.blobsOf(row.id);
    this.s.deleteObject.run(row.id);
    if (row.delete_marker === 0) this.s.adjustBucketTotals.run(-1, -row.size, -row.stored_size, row.bucket);
    if (row.is_latest === 1) {
      const newest = this.s.newestVersion.get(row.bucket, row.key);
      if (newest) this.s.setLatest.run(newest.id);
    }
    return blobs;
  }

  /** The blobs an object's parts name (an inline part's data_id names none). */
  private blobsOf(objectId: number): string[] {
    return this.s.objectBlobIds.all(objectId).map((part) => part.data_id);
  }

  /** The key's latest version so far stops being the latest. */
  private demoteLatest(bucket: string, key: string): void {
    const latest = this.s.getObject.get(bucket, key);
    if (latest) this.s.unsetLatest.run(latest.id);
  }

  /**
   * Stores `object` as the key's latest version, replacing the stored version of its id if any; returns the blobs
   * the replaced version named. When that version is the key's latest object (an overwrite in an unversioned
   * bucket), its row is updated in place: the id, and with it the row's place in every index and in the
   * newest-first version order, stays; only its parts are written anew. Otherwise (a delete marker, or an older
   * null version under newer ones) it is removed and the object inserted as the newest.
   */
  private storeLatest(object: ObjectRecord): string[] {
    const row = this.s.getVersion.get(object.bucket, object.key, object.versionId);
    if (!row || row.is_latest === 0 || row.delete_marker === 1) {
      const superseded = row ? this.removeRow(row) : [];
      this.insertLatest(object);
      return superseded;
    }
    const blobs = this.blobsOf(row.id);
    const {
      bucket: _bucket,
      key: _key,
      version_id: _versionId,
      is_latest: _latest,
      delete_marker: _marker,
      ...columns
    } = objectInsert(object);
    this.s.replaceObject.run({ id: row.id, ...columns });
    this.s.deleteObjectParts.run(row.id);
    for (const part of object.parts) this.s.insertObjectPart.run(objectPartInsert(row.id, part));
    this.s.adjustBucketTotals.run(0, columns.size - row.size, columns.stored_size - row.stored_size, object.bucket);
    return blobs;
  }

  /** Stores `object` as the key's latest version (a version of its id was removed before). */
  private insertLatest(object: ObjectRecord): void {
    this.demoteLatest(object.bucket, object.key);
    const row = objectInsert(object);
    const { lastInsertRowid } = this.s.insertObject.run(row);
    const objectId = Number(lastInsertRowid);
    for (const part of object.parts) this.s.insertObjectPart.run(objectPartInsert(objectId, part));
    this.s.adjustBucketTotals.run(1, row.size, storedSize(object.parts), object.bucket);
  }

  private insertMarker(bucket: string, key: string, versionId: string, lastModified: Date): void {
    this.demoteLatest(bucket, key);
    this.s.insertObject.run(markerInsert(bucket, key, versionId, randomBytes(12).toString('hex'), lastModified));
  }
}
