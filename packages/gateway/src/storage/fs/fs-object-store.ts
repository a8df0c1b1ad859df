// The fs backend: metadata in SQLite, each part's encrypted data in its own file.
//
// Crash safety rests on one order for every write:
//   1. data is written to tmp/<id>, fsynced, renamed to data/<xx>/<id>, the directory fsynced
//      (DataWriter.finish);
//   2. the metadata commits in one SQLite transaction (WAL, synchronous=FULL);
//   3. only then are superseded data files unlinked.
// A crash before 2 leaves an unreferenced file, a crash before 3 leaves superseded ones; the
// sweep at open removes both, and every temp file. Metadata never references a file that is not
// whole, so an object is always the old version or the new one.
//
// One process per data directory: meta.db is held with an exclusive lock (see database.ts). All
// SQL runs synchronously on the event loop thread, so each transaction is atomic with respect to
// every other request of this process. Object and part writes go through a group commit: the
// writes asked for in one turn of the event loop share one transaction (and one fsync), each in its
// own savepoint; none is acknowledged before that commit.
import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Readable } from 'node:stream';
import {
  BucketAlreadyExists,
  BucketNotEmpty,
  InvalidPart,
  InvalidPartOrder,
  NoSuchBucket,
  NoSuchKey,
  NoSuchUpload,
  PreconditionFailed,
} from '../errors.js';
import { decodeContinuationToken, encodeContinuationToken } from '../continuation-token.js';
import { keyAfter } from '../key-order.js';
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
  ObjectChecksum,
  ObjectMetadata,
  ObjectRecord,
  ObjectStore,
  PartInput,
  PartReader,
  PartRecord,
  PutObjectInput,
  SseFields,
  StoreStats,
  SweepReport,
  Tag,
  UploadedPart,
  UploadRecord,
  UploadRef,
  WritePrecondition,
} from '../types.js';
import {
  assertListArgument,
  assertMaxCount,
  assertObjectKey,
  assertPartNumber,
  assertSize,
} from '../validation.js';
import { DataFiles } from './data-files.js';
import { GroupCommit } from '../metadata/sqlite/group-commit.js';
import type { Layout } from './layout.js';
import { scanRolledUp, startPosition, type ScanPosition } from './rolled-up-scan.js';
import {
  bucketEncryption,
  bucketInfo,
  jsonOrNull,
  objectRecord,
  objectSummary,
  tagsOrNull,
  uploadedPart,
  uploadRecord,
  uploadSummary,
  type BucketRow,
  type ListedObjectRow,
  type ListedUploadRow,
  type ObjectRow,
  type UploadRow,
} from '../metadata/sqlite/rows.js';
import { Statements } from '../metadata/sqlite/statements.js';

const DEFAULT_MAX = 1000;

/** The fields an object row is written from, by putObject and completeUpload alike. */
interface NewObject extends ObjectMetadata {
  bucket: string;
  key: string;
  etag: string;
  checksum?: ObjectChecksum;
  sse: SseFields;
  parts: PartRecord[];
}

export class FsObjectStore implements ObjectStore {
  readonly backend = 'fs';
  /** What the sweep at open removed. */
  startupSweep?: SweepReport;
  private readonly s: Statements;
  private readonly files: DataFiles;
  private readonly commits: GroupCommit;
  private closed = false;

  constructor(
    readonly layout: Layout,
    private readonly db: Database,
  ) {
    this.s = new Statements(db);
    this.files = new DataFiles(layout);
    this.commits = new GroupCommit(db);
  }

  // ------------------------------------------------------------------ buckets

  async createBucket(name: string, options: CreateBucketOptions = {}): Promise<BucketInfo> {
    this.assertOpen();
    if (typeof name !== 'string' || name === '') throw new TypeError('a bucket name must be a non-empty string');
    const createdAt = Date.now();
    this.db.transaction(() => {
      if (this.s.getBucket.get(name)) throw new BucketAlreadyExists(name);
      this.s.insertBucket.run(name, createdAt, jsonOrNull(options.encryption));
    })();
    return { name, createdAt: new Date(createdAt) };
  }

  async deleteBucket(name: string): Promise<void> {
    this.assertOpen();
    const abandoned = this.db.transaction(() => {
      this.requireBucket(name);
      if (this.s.bucketHasObjects.get(name)) throw new BucketNotEmpty(name);
      const dataIds: string[] = [];
      for (const { upload_id } of this.s.bucketUploadIds.all(name)) {
        dataIds.push(...this.s.getUploadParts.all(upload_id).map((part) => part.data_id));
        this.s.deleteUpload.run(upload_id);
      }
      this.s.deleteBucketSettings.run(name);
      this.s.deleteBucket.run(name);
      return dataIds;
    })();
    await this.files.remove(abandoned);
  }

  async headBucket(name: string): Promise<BucketInfo> {
    this.assertOpen();
    return bucketInfo(this.requireBucket(name));
  }

  async listBuckets(): Promise<BucketInfo[]> {
    this.assertOpen();
    return this.s.listBuckets.all().map(bucketInfo);
  }

  async getBucketEncryption(name: string): Promise<BucketEncryption | undefined> {
    this.assertOpen();
    return bucketEncryption(this.requireBucket(name));
  }

  async putBucketEncryption(name: string, config: BucketEncryption): Promise<void> {
    this.assertOpen();
    this.setEncryption(name, JSON.stringify(config));
  }

  async deleteBucketEncryption(name: string): Promise<void> {
    this.assertOpen();
    this.setEncryption(name, null);
  }

  async getBucketSetting<K extends BucketSettingName>(name: string, setting: K): Promise<BucketSettings[K] | undefined> {
    this.assertOpen();
    this.requireBucket(name);
    const row = this.s.getBucketSetting.get(name, setting);
    return row === undefined ? undefined : (JSON.parse(row.value) as BucketSettings[K]);
  }

  async putBucketSetting<K extends BucketSettingName>(name: string, setting: K, value: BucketSettings[K] | undefined): Promise<void> {
    this.assertOpen();
    this.db.transaction(() => {
      this.requireBucket(name);
      if (value === undefined) this.s.deleteBucketSetting.run(name, setting);
      else this.s.putBucketSetting.run(name, setting, JSON.stringify(value));
    })();
  }

  // ------------------------------------------------------------------ objects

  async createDataWriter(bucket: string): Promise<DataWriter> {
    this.assertOpen();
    this.requireBucket(bucket);
    return this.files.createWriter();
  }

  async putObject(input: PutObjectInput): Promise<ObjectRecord> {
    this.assertOpen();
    const dataIds = input.parts.map((part) => part.dataId);
    let committed: { record: ObjectRecord; superseded: string[] };
    try {
      assertObjectKey(input.key);
      assertParts(input.parts);
      assertSize('size', input.size);
      const total = input.parts.reduce((sum, part) => sum + part.plainSize, 0);
      if (total !== input.size) {
        throw new TypeError(`object size ${input.size} is not the sum of its parts' plainSize (${total})`);
      }
      this.files.assertReady(input.parts);
      committed = await this.commits.run(() => {
        this.requireBucket(input.bucket);
        const existing = this.s.getObject.get(input.bucket, input.key);
        checkPrecondition(existing, input.precondition);
        const superseded = existing ? this.removeObjectRow(existing) : [];
        return { record: this.insertObjectRow(input), superseded };
      });
    } catch (err) {
      await this.files.discard(dataIds); // putObject owns the data: a failed put leaves none
      throw err;
    }
    this.files.settle(dataIds);
    await this.files.remove(committed.superseded);
    return committed.record;
  }

  async getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    this.assertOpen();
    assertObjectKey(key);
    const row = this.s.getObject.get(bucket, key);
    if (!row) {
      this.requireBucket(bucket);
      return undefined;
    }
    return objectRecord(row, this.s.getObjectParts.all(row.id));
  }

  async openPartRange(dataId: string, start: number, endExclusive: number): Promise<Readable> {
    this.assertOpen();
    return this.files.openRange(dataId, start, endExclusive);
  }

  async openPartReader(dataId: string, start: number, endExclusive: number): Promise<PartReader> {
    this.assertOpen();
    return this.files.openReader(dataId, start, endExclusive);
  }

  async deleteObject(bucket: string, key: string): Promise<boolean> {
    const [result] = await this.deleteObjects(bucket, [key]);
    return result?.deleted ?? false;
  }

  async deleteObjects(bucket: string, keys: readonly string[]): Promise<DeleteResult[]> {
    this.assertOpen();
    keys.forEach(assertObjectKey);
    const { results, superseded } = await this.commits.run(() => {
      this.requireBucket(bucket);
      const results: DeleteResult[] = [];
      const superseded: string[] = [];
      for (const key of keys) {
        const existing = this.s.getObject.get(bucket, key);
        if (existing) superseded.push(...this.removeObjectRow(existing));
        results.push({ key, deleted: existing !== undefined });
      }
      return { results, superseded };
    });
    await this.files.remove(superseded);
    return results;
  }

  async updateObjectSSE(
    bucket: string,
    key: string,
    expectRevision: string,
    sse: SseFields,
  ): Promise<ObjectRecord> {
    this.assertOpen();
    assertObjectKey(key);
    return this.commits.run(() => {
      const row = this.s.getObject.get(bucket, key);
      if (!row) {
        this.requireBucket(bucket);
        throw new NoSuchKey(bucket, key);
      }
      if (row.revision !== expectRevision) {
        throw new PreconditionFailed(
          `The object ${key} changed since it was read (revision ${row.revision}, expected ${expectRevision})`,
        );
      }
      const revision = newRevision();
      this.s.updateObjectSse.run(JSON.stringify(sse), revision, row.id);
      return objectRecord({ ...row, revision, sse: JSON.stringify(sse) }, this.s.getObjectParts.all(row.id));
    });
  }

  async putObjectTags(bucket: string, key: string, tags: Tag[]): Promise<ObjectRecord> {
    this.assertOpen();
    assertObjectKey(key);
    return this.commits.run(() => {
      const row = this.s.getObject.get(bucket, key);
      if (!row) {
        this.requireBucket(bucket);
        throw new NoSuchKey(bucket, key);
      }
      const json = tagsOrNull(tags);
      this.s.updateObjectTags.run(json, row.id);
      return objectRecord({ ...row, tags: json }, this.s.getObjectParts.all(row.id));
    });
  }

  async listObjects(query: ListObjectsQuery): Promise<ListObjectsPage> {
    this.assertOpen();
    const prefix = query.prefix ?? '';
    const delimiter = query.delimiter ?? '';
    const maxKeys = query.maxKeys ?? DEFAULT_MAX;
    assertListArgument('prefix', prefix);
    assertListArgument('delimiter', delimiter);
    assertListArgument('start-after', query.startAfter);
    assertMaxCount('max-keys', maxKeys);
    const after =
      query.continuationToken !== undefined
        ? decodeContinuationToken(query.continuationToken)
        : query.startAfter;
    this.requireBucket(query.bucket);

    const page = scanRolledUp<ListedObjectRow>({
      prefix,
      delimiter,
      maxEntries: maxKeys,
      start: startPosition(prefix, delimiter, after),
      rowsFrom: (from, upper, limit) =>
        upper === undefined
          ? this.s.listObjectsFrom.iterate(query.bucket, from.key, limit)
          : this.s.listObjectsBetween.iterate(query.bucket, from.key, upper, limit),
      positionAfter: (row) => ({ key: keyAfter(row.key), afterId: '' }),
    });
    const result: ListObjectsPage = {
      contents: page.rows.map(objectSummary),
      commonPrefixes: page.commonPrefixes,
      isTruncated: page.truncated,
    };
    if (page.truncated && page.last) {
      const last = 'row' in page.last ? page.last.row.key : page.last.prefix;
      result.nextToken = encodeContinuationToken(last);
      result.nextMarker = last;
    }
    return result;
  }

  // ------------------------------------------------------------------ multipart

  async createUpload(input: CreateUploadInput): Promise<UploadRecord> {
    this.assertOpen();
    assertObjectKey(input.key);
    const row: UploadRow = {
      upload_id: newUploadId(),
      bucket: input.bucket,
      key: input.key,
      initiated: Date.now(),
      content_type: input.contentType ?? null,
      user_metadata: JSON.stringify(input.userMetadata),
      standard_headers: JSON.stringify(input.standardHeaders),
      checksum_algorithm: input.checksumAlgorithm ?? null,
      checksum_type: input.checksumType ?? null,
      sse: JSON.stringify(input.sse),
      tags: tagsOrNull(input.tags),
    };
    this.db.transaction(() => {
      this.requireBucket(input.bucket);
      this.s.insertUpload.run(row);
    })();
    return uploadRecord(row);
  }

  async getUpload(ref: UploadRef): Promise<UploadRecord> {
    this.assertOpen();
    return uploadRecord(this.requireUpload(ref));
  }

  async putPart(ref: UploadRef, number: number, dataId: string, part: PartInput): Promise<UploadedPart> {
    this.assertOpen();
    const lastModified = Date.now();
    let committed: { uploaded: UploadedPart; superseded: string[] };
    try {
      const record: PartRecord = { number, dataId, ...part };
      assertParts([record]);
      this.files.assertReady([record]);
      committed = await this.commits.run(() => {
        this.requireUpload(ref);
        const previous = this.s.getUploadPart.get(ref.uploadId, number);
        if (previous) this.s.deleteUploadPart.run(ref.uploadId, number);
        this.s.insertUploadPart.run({ ...partInsert(ref.uploadId, record), last_modified: lastModified });
        return {
          uploaded: { ...record, lastModified: new Date(lastModified) },
          superseded: previous ? [previous.data_id] : [],
        };
      });
    } catch (err) {
      await this.files.discard([dataId]);
      throw err;
    }
    this.files.settle([dataId]);
    await this.files.remove(committed.superseded);
    return committed.uploaded;
  }

  async listParts(ref: UploadRef, query: ListPartsQuery = {}): Promise<ListPartsPage> {
    this.assertOpen();
    const marker = query.partNumberMarker ?? 0;
    const maxParts = query.maxParts ?? DEFAULT_MAX;
    assertMaxCount('part-number-marker', marker);
    assertMaxCount('max-parts', maxParts);
    this.requireUpload(ref);
    if (maxParts === 0) return { parts: [], isTruncated: false };
    const rows = this.s.listUploadParts.all(ref.uploadId, marker, maxParts + 1);
    const parts = rows.slice(0, maxParts).map(uploadedPart);
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
    this.requireBucket(query.bucket);
    // S3 ignores upload-id-marker without key-marker.
    const afterId = query.keyMarker !== undefined ? (query.uploadIdMarker ?? '') : '';

    const page = scanRolledUp<ListedUploadRow>({
      prefix,
      delimiter,
      maxEntries: maxUploads,
      start: startPosition(prefix, delimiter, query.keyMarker, afterId),
      rowsFrom: (from: ScanPosition, upper, limit) =>
        upper === undefined
          ? this.s.listUploadsFrom.iterate(query.bucket, from.key, from.afterId, limit)
          : this.s.listUploadsBetween.iterate(query.bucket, from.key, from.afterId, upper, limit),
      positionAfter: (row) => ({ key: row.key, afterId: row.upload_id }),
    });
    const result: ListUploadsPage = {
      uploads: page.rows.map(uploadSummary),
      commonPrefixes: page.commonPrefixes,
      isTruncated: page.truncated,
    };
    if (page.truncated && page.last) {
      if ('row' in page.last) {
        result.nextKeyMarker = page.last.row.key;
        result.nextUploadIdMarker = page.last.row.upload_id;
      } else {
        result.nextKeyMarker = page.last.prefix;
      }
    }
    return result;
  }

  async completeUpload(
    ref: UploadRef,
    chosen: readonly CompletePart[],
    input: CompleteUploadInput,
  ): Promise<ObjectRecord> {
    this.assertOpen();
    if (chosen.length === 0) throw new InvalidPart('You must specify at least one part');
    chosen.forEach((part, i) => {
      assertPartNumber(part.number);
      if (i > 0 && part.number <= chosen[i - 1]!.number) throw new InvalidPartOrder();
    });
    const { record, obsolete } = await this.commits.run(() => {
      const upload = this.requireUpload(ref);
      const uploaded = new Map(this.s.getUploadParts.all(ref.uploadId).map((row) => [row.number, row]));
      const parts: PartRecord[] = chosen.map(({ number, etag }) => {
        const row = uploaded.get(number);
        if (!row) throw new InvalidPart(`Part ${number} was not uploaded (upload ${ref.uploadId})`);
        if (etag !== undefined && unquote(etag) !== unquote(row.etag)) {
          throw new InvalidPart(`Part ${number} has ETag "${unquote(row.etag)}", not "${unquote(etag)}"`);
        }
        uploaded.delete(number);
        const part: PartRecord = {
          number,
          plainSize: row.plain_size,
          encSize: row.enc_size,
          etag: row.etag,
          dataId: row.data_id,
        };
        if (row.extra !== null) part.extra = JSON.parse(row.extra) as Record<string, unknown>;
        return part;
      });
      const existing = this.s.getObject.get(ref.bucket, ref.key);
      checkPrecondition(existing, input.precondition);
      const superseded = existing ? this.removeObjectRow(existing) : [];
      const metadata = uploadRecord(upload);
      const record = this.insertObjectRow({
        bucket: ref.bucket,
        key: ref.key,
        etag: input.etag,
        ...(metadata.contentType !== undefined && { contentType: metadata.contentType }),
        userMetadata: metadata.userMetadata,
        standardHeaders: metadata.standardHeaders,
        ...(metadata.tags !== undefined && { tags: metadata.tags }),
        ...(input.checksum !== undefined && { checksum: input.checksum }),
        sse: input.sse ?? metadata.sse,
        parts,
      });
      this.s.deleteUpload.run(ref.uploadId); // cascades to the upload's part rows
      const unchosen = [...uploaded.values()].map((row) => row.data_id);
      return { record, obsolete: [...superseded, ...unchosen] };
    });
    await this.files.remove(obsolete);
    return record;
  }

  async updateUploadSSE(ref: UploadRef, expect: SseFields, sse: SseFields): Promise<void> {
    this.assertOpen();
    await this.commits.run(() => {
      const row = this.requireUpload(ref);
      // Uploads have no revision: compare the fields themselves, in their stored (JSON) form.
      if (JSON.stringify(JSON.parse(row.sse)) !== JSON.stringify(expect)) {
        throw new PreconditionFailed(`The upload ${ref.uploadId} of ${ref.key} changed its encryption since it was read`);
      }
      this.s.updateUploadSse.run(JSON.stringify(sse), ref.uploadId);
    });
  }

  async abortUpload(ref: UploadRef): Promise<void> {
    this.assertOpen();
    const dataIds = this.db.transaction(() => {
      this.requireUpload(ref);
      const ids = this.s.getUploadParts.all(ref.uploadId).map((row) => row.data_id);
      this.s.deleteUpload.run(ref.uploadId);
      return ids;
    })();
    await this.files.remove(dataIds);
  }

  // ------------------------------------------------------------------ maintenance

  async sweep(): Promise<SweepReport> {
    this.assertOpen();
    return this.files.sweep((id) => this.s.dataIsReferenced.get(id, id) !== undefined);
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

  /** Closes meta.db, releasing the directory lock. Data of unfinished writers is swept at the next open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.commits.flush();
    this.db.close();
  }

  // ------------------------------------------------------------------ helpers (run inside transactions)

  private assertOpen(): void {
    if (this.closed) throw new Error(`the object store at ${this.layout.root} is closed`);
  }

  private requireBucket(name: string): BucketRow {
    const row = this.s.getBucket.get(name);
    if (!row) throw new NoSuchBucket(name);
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

  private setEncryption(name: string, json: string | null): void {
    const { changes } = this.s.setBucketEncryption.run(json, name);
    if (changes === 0) throw new NoSuchBucket(name);
  }

  /** Deletes an object row (its part rows cascade) and returns its data ids for removal after commit. */
  private removeObjectRow(row: ObjectRow): string[] {
    const dataIds = this.s.getObjectParts.all(row.id).map((part) => part.data_id);
    this.s.deleteObject.run(row.id);
    this.s.adjustBucketTotals.run(-1, -row.size, -row.stored_size, row.bucket);
    return dataIds;
  }

  private insertObjectRow(object: NewObject): ObjectRecord {
    const size = object.parts.reduce((sum, part) => sum + part.plainSize, 0);
    const storedSize = object.parts.reduce((sum, part) => sum + part.encSize, 0);
    const revision = newRevision();
    const lastModified = Date.now();
    const { lastInsertRowid } = this.s.insertObject.run({
      bucket: object.bucket,
      key: object.key,
      revision,
      size,
      stored_size: storedSize,
      etag: object.etag,
      last_modified: lastModified,
      content_type: object.contentType ?? null,
      user_metadata: JSON.stringify(object.userMetadata),
      standard_headers: JSON.stringify(object.standardHeaders),
      checksum: jsonOrNull(object.checksum),
      sse: JSON.stringify(object.sse),
      tags: tagsOrNull(object.tags),
    });
    const objectId = Number(lastInsertRowid);
    for (const part of object.parts) this.s.insertObjectPart.run(partInsert(objectId, part));
    this.s.adjustBucketTotals.run(1, size, storedSize, object.bucket);
    const record: ObjectRecord = {
      bucket: object.bucket,
      key: object.key,
      revision,
      size,
      etag: object.etag,
      lastModified: new Date(lastModified),
      userMetadata: object.userMetadata,
      standardHeaders: object.standardHeaders,
      sse: object.sse,
      parts: object.parts.map((part) => ({ ...part })),
    };
    if (object.contentType !== undefined) record.contentType = object.contentType;
    if (object.checksum !== undefined) record.checksum = object.checksum;
    if (object.tags !== undefined && object.tags.length > 0) record.tags = object.tags;
    return record;
  }
}

function partInsert(owner: number | string, part: PartRecord) {
  return {
    owner,
    number: part.number,
    plain_size: part.plainSize,
    enc_size: part.encSize,
    etag: part.etag,
    data_id: part.dataId,
    extra: jsonOrNull(part.extra),
  };
}

function assertParts(parts: readonly PartRecord[]): void {
  if (parts.length === 0) throw new TypeError('an object needs at least one part (an empty object has one empty part)');
  parts.forEach((part, i) => {
    assertPartNumber(part.number);
    if (i > 0 && part.number <= parts[i - 1]!.number) {
      throw new TypeError('parts must be in strictly ascending order of part number');
    }
    assertSize('plainSize', part.plainSize);
    assertSize('encSize', part.encSize);
  });
}

function checkPrecondition(existing: ObjectRow | undefined, condition: WritePrecondition | undefined): void {
  if (!condition) return;
  if (condition.ifNoneMatch === '*' && existing) {
    throw new PreconditionFailed(`The object ${existing.key} already exists`);
  }
  if (condition.ifMatchEtag !== undefined) {
    if (!existing || unquote(existing.etag) !== unquote(condition.ifMatchEtag)) {
      throw new PreconditionFailed('The object does not exist with the ETag given in If-Match');
    }
  }
  if (condition.ifRevision !== undefined && existing?.revision !== condition.ifRevision) {
    throw new PreconditionFailed('The object changed since it was read');
  }
}

function unquote(etag: string): string {
  return etag.replace(/"/g, '');
}

function newRevision(): string {
  return randomBytes(12).toString('hex');
}

/** Time-ordered (so ids sort in initiation order, as S3 lists them) and 128 random bits. */
function newUploadId(): string {
  return Date.now().toString(16).padStart(12, '0') + randomBytes(16).toString('hex');
}
