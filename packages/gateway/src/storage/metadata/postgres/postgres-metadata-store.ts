// The metadata store on PostgreSQL, for several gateways sharing one database.
//
// Concurrency: every method is one READ COMMITTED transaction. A writer locks the rows it reads before
// deciding (`SELECT … FOR UPDATE` on the object or upload), so a second writer of the same key waits and
// then reads what the first committed. Where there is no row yet to lock (a new key, a new bucket), the
// unique constraints decide: the loser of two racing INSERTs fails with a unique violation, and the
// whole transaction runs again from BEGIN (database.ts, bounded), now finding the winner's row: two
// `If-None-Match: *` PUTs of one key from two gateways let exactly one win. Rows are locked in one
// order (upload, then object rows in key order, then a bucket totals stripe and that stripe's per-SSE-mode
// rows in mode order, always last), which keeps
// deadlocks out of the common paths; the rare one left (deleteBucket against writers) is retried too.
//
// Objects are updated in place (same row id) when replaced, so a writer waiting on the row lock follows
// the update instead of finding the row gone.
import { randomBytes, randomInt } from 'node:crypto';
import {
  BucketAlreadyExists,
  BucketNotEmpty,
  InvalidArgument,
  NoSuchBucket,
  NoSuchKey,
  NoSuchUpload,
  NoSuchVersion,
} from '../../errors.js';
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
  SseModeTotals,
  StoreStats,
  StoredSSE,
  UploadedPart,
  UploadRecord,
  UploadRef,
  UploadSummary,
} from '../../types.js';
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
import * as coordination from './coordination.js';
import { PostgresDatabase, type PostgresMetadataOptions, type Tx } from './database.js';
import { lowerBound, storable, upperBound } from './key-bounds.js';
import {
  bucketEncryption,
  bucketVersioning,
  jsonOrNull,
  listedVersion,
  markerParams,
  OBJECT_COLUMNS,
  OBJECT_WRITE_COLUMNS,
  objectParams,
  objectRecord,
  objectSummary,
  objectVersion,
  partArrays,
  tagsOrNull,
  uploadedPart,
  uploadRecord,
  uploadSummary,
  type BucketRow,
  type ListedObjectRow,
  type ListedUploadRow,
  type ListedVersionRow,
  type ObjectRow,
  type UploadPartRow,
  type UploadRow,
} from './rows.js';
import { migrate, SCHEMA_VERSION_SQL } from './schema.js';

/** Rows of bucket_totals per bucket that writers spread their deltas over. */
const TOTAL_STRIPES = 16;
/** Ids per statement in referencedBlobs. */
const IDS_PER_QUERY = 5000;

const PART_COLUMNS = 'number, plain_size, enc_size, etag, data_id, extra';
const UPLOAD_PART_COLUMNS = `${PART_COLUMNS}, last_modified`;
/** An object's part rows also hold an inline part's encrypted bytes. */
const OBJECT_PART_COLUMNS = `${PART_COLUMNS}, inline_data`;
/** OBJECT_WRITE_COLUMNS' leading bucket, key, version_id, is_latest, delete_marker: what an overwrite in place keeps. */
const IDENTITY_COLUMNS = 5;

const PART_ARRAYS = (first: number): string =>
  `unnest($${first}::integer[], $${first + 1}::bigint[], $${first + 2}::bigint[], $${first + 3}::text[], ` +
  `$${first + 4}::text[], $${first + 5}::text[], $${first + 6}::bytea[])`;

interface TotalsDelta {
  objects?: number;
  plainBytes?: number;
  storedBytes?: number;
  uploads?: number;
  uploadParts?: number;
  uploadStoredBytes?: number;
  /** The object deltas again, per SSE mode (sse_totals). */
  bySse?: Record<string, ModeDelta>;
}

interface ModeDelta {
  objects: number;
  plainBytes: number;
  storedBytes: number;
}

/** Opens the store: connects, brings the schema to this release's version, and returns it. */
export async function openPostgresMetadataStore(options: PostgresMetadataOptions): Promise<PostgresMetadataStore> {
  const db = new PostgresDatabase(options);
  try {
    await db.transaction(migrate);
  } catch (err) {
    await db.close();
    const detail = err instanceof Error && err.cause instanceof Error ? err.cause.message : (err as Error).message;
    throw new Error(`Cannot open the PostgreSQL metadata database at ${PostgresDatabase.redact(options.url)}: ${detail}`, {
      cause: err,
    });
  }
  return new PostgresMetadataStore(db, PostgresDatabase.redact(options.url));
}

export class PostgresMetadataStore implements MetadataStore {
  readonly kind = 'postgres';

  /**
   * `target` is the database URL without its password, for logs and status pages. `db` is shared with the
   * rotation job store, whose tables these migrations make.
   */
  constructor(
    readonly db: PostgresDatabase,
    readonly target: string,
  ) {}

  async schemaVersion(): Promise<number> {
    const [row] = await this.db.read<{ version: number | null }>(SCHEMA_VERSION_SQL);
    return row?.version ?? 0;
  }

  // ------------------------------------------------------------------ buckets

  async createBucket(name: string, createdAt: Date, encryption: BucketEncryption | undefined): Promise<BucketInfo> {
    assertStorable('A bucket name', name);
    const at = createdAt.getTime();
    await this.db.transaction(async (tx) => {
      const { rowCount } = await tx.query(
        'INSERT INTO buckets (name, created_at, encryption) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
        [name, at, jsonOrNull(encryption)],
      );
      if (rowCount === 0) throw new BucketAlreadyExists(name);
    });
    return { name, createdAt: new Date(at) };
  }

  async deleteBucket(name: string): Promise<Superseded> {
    if (!storable(name)) throw new NoSuchBucket(name);
    return this.db.transaction(async (tx) => {
      // Locking the bucket row waits for writers holding it (foreign keys) and keeps new ones out.
      const bucket = await tx.query('SELECT 1 FROM buckets WHERE name = $1 FOR UPDATE', [name]);
      if (bucket.rowCount === 0) throw new NoSuchBucket(name);
      const objects = await tx.query('SELECT 1 FROM objects WHERE bucket = $1 LIMIT 1', [name]);
      if (objects.rowCount !== 0) throw new BucketNotEmpty(name);
      const parts = await tx.query<{ data_id: string }>(
        `DELETE FROM upload_parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = $1)
         RETURNING data_id`,
        [name],
      );
      await tx.query('DELETE FROM uploads WHERE bucket = $1', [name]);
      await tx.query('DELETE FROM buckets WHERE name = $1', [name]); // settings and totals cascade
      return parts.rows.map((row) => row.data_id);
    });
  }

  async getBucket(name: string): Promise<BucketInfo & { encryption?: BucketEncryption }> {
    const [row] = storable(name)
      ? await this.db.read<BucketRow>('SELECT name, created_at, encryption FROM buckets WHERE name = $1', [name])
      : [];
    if (!row) throw new NoSuchBucket(name);
    const encryption = bucketEncryption(row);
    return { name: row.name, createdAt: new Date(row.created_at), ...(encryption && { encryption }) };
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const rows = await this.db.read<BucketRow>('SELECT name, created_at FROM buckets ORDER BY name COLLATE "C"');
    return rows.map((row) => ({ name: row.name, createdAt: new Date(row.created_at) }));
  }

  async setBucketEncryption(name: string, encryption: BucketEncryption | undefined): Promise<void> {
    if (!storable(name)) throw new NoSuchBucket(name);
    await this.db.transaction(async (tx) => {
      const { rowCount } = await tx.query('UPDATE buckets SET encryption = $2 WHERE name = $1', [name, jsonOrNull(encryption)]);
      if (rowCount === 0) throw new NoSuchBucket(name);
    });
  }

  async getBucketSetting<K extends BucketSettingName>(name: string, setting: K): Promise<BucketSettings[K] | undefined> {
    const [row] = storable(name)
      ? await this.db.read<{ value: string | null }>(
          `SELECT s.value FROM buckets b LEFT JOIN bucket_settings s ON s.bucket = b.name AND s.name = $2
           WHERE b.name = $1`,
          [name, setting],
        )
      : [];
    if (!row) throw new NoSuchBucket(name);
    return row.value === null ? undefined : (JSON.parse(row.value) as BucketSettings[K]);
  }

  async putBucketSetting<K extends BucketSettingName>(name: string, setting: K, value: BucketSettings[K] | undefined): Promise<void> {
    if (!storable(name)) throw new NoSuchBucket(name);
    await this.db.transaction(async (tx) => {
      if (value === undefined) {
        await this.requireBucket(tx, name);
        await tx.query('DELETE FROM bucket_settings WHERE bucket = $1 AND name = $2', [name, setting]);
        return;
      }
      const { rowCount } = await tx.query(
        `INSERT INTO bucket_settings (bucket, name, value) SELECT name, $2, $3 FROM buckets WHERE name = $1
         ON CONFLICT (bucket, name) DO UPDATE SET value = excluded.value`,
        [name, setting, JSON.stringify(value)],
      );
      if (rowCount === 0) throw new NoSuchBucket(name);
    });
  }

  // ------------------------------------------------------------------ versioning

  async getBucketVersioning(name: string): Promise<BucketVersioning> {
    const [row] = storable(name)
      ? await this.db.read<{ versioning: string | null }>('SELECT versioning FROM buckets WHERE name = $1', [name])
      : [];
    if (!row) throw new NoSuchBucket(name);
    return bucketVersioning(row.versioning);
  }

  async setBucketVersioning(name: string, state: 'Enabled' | 'Suspended'): Promise<void> {
    if (!storable(name)) throw new NoSuchBucket(name);
    await this.db.transaction(async (tx) => {
      const { rowCount } = await tx.query('UPDATE buckets SET versioning = $2 WHERE name = $1', [name, state]);
      if (rowCount === 0) throw new NoSuchBucket(name);
    });
  }

  // ------------------------------------------------------------------ objects

  async getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    const { version } = await this.getVersion(bucket, key, undefined);
    return version && !version.deleteMarker ? version : undefined;
  }

  async getVersion(
    bucket: string,
    key: string,
    versionId: string | undefined,
  ): Promise<{ version: ObjectVersion | undefined; isLatest: boolean; versioning: BucketVersioning }> {
    if (!storable(bucket)) throw new NoSuchBucket(bucket);
    const findable = storable(key) && (versionId === undefined || storable(versionId));
    // One statement: the bucket's versioning, the version row and its parts from one snapshot.
    const which = versionId === undefined ? 'o.is_latest' : 'o.version_id = $3';
    const [row] = await this.db.read<Omit<ObjectRow, 'id'> & { id: number | null; bucket_name: string; bucket_versioning: string | null }>(
      `SELECT b.name AS bucket_name, b.versioning AS bucket_versioning, ${OBJECT_COLUMNS}
       FROM buckets b LEFT JOIN objects o ON o.bucket = b.name AND o.key = $2 AND ${which}
       WHERE b.name = $1`,
      versionId === undefined ? [bucket, findable ? key : ''] : [bucket, findable ? key : '', findable ? versionId : ''],
    );
    if (!row) throw new NoSuchBucket(bucket);
    const versioning = bucketVersioning(row.bucket_versioning);
    if (row.id === null || !findable) return { version: undefined, isLatest: false, versioning };
    return { version: objectVersion({ ...row, id: row.id }), isLatest: row.is_latest === true, versioning };
  }

  async putObject(object: ObjectRecord, check: PutCheck): Promise<Superseded> {
    if (!storable(object.bucket)) throw new NoSuchBucket(object.bucket);
    assertStorable('An object key', object.key);
    return this.db.transaction(async (tx) => {
      await lockKeys(tx, object.bucket, [object.key]);
      const { latest, versioning } = await this.readLatest(tx, object.bucket, object.key);
      const chosen = check(() => (latest && !latest.delete_marker ? objectRecord(latest) : undefined), versioning);
      const stored: ObjectRecord = { ...object, versionId: typeof chosen === 'string' ? chosen : object.versionId };
      const { blobs, delta } = await this.storeLatest(tx, stored, latest);
      await this.addTotals(tx, object.bucket, delta);
      return blobs;
    });
  }

  async deleteObjects(
    bucket: string,
    plan: (versioning: BucketVersioning) => DeleteOp[],
  ): Promise<{ results: DeleteOutcome[]; superseded: Superseded }> {
    if (!storable(bucket)) throw new NoSuchBucket(bucket);
    return this.db.transaction(async (tx) => {
      const versioning = bucketVersioning((await this.requireBucketRow(tx, bucket)).versioning);
      const ops = plan(versioning);
      await lockKeys(tx, bucket, ops.map((op) => op.key).filter(storable));
      const results: DeleteOutcome[] = [];
      const superseded: string[] = [];
      let delta: TotalsDelta = {};
      for (const op of ops) {
        if (!storable(op.key) || !storable(op.versionId)) {
          results.push({ key: op.key, versionId: op.versionId, removed: 'none', markerAdded: false });
          continue;
        }
        const { latest } = await this.readLatest(tx, bucket, op.key);
        const removed = await this.removeVersion(tx, bucket, op.key, op.versionId, latest);
        superseded.push(...removed.blobs);
        delta = sumDeltas(delta, removed.delta);
        if (op.marker) {
          await this.insertMarker(tx, bucket, op.key, op.versionId, op.marker.lastModified, removed.latest);
        }
        results.push({ key: op.key, versionId: op.versionId, removed: removed.kind, markerAdded: op.marker !== undefined });
      }
      await this.addTotals(tx, bucket, delta);
      return { results, superseded };
    });
  }

  async updateObject(
    bucket: string,
    key: string,
    update: (existing: ObjectRecord) => ObjectPatch,
    versionId?: string,
  ): Promise<ObjectRecord> {
    if (!storable(bucket)) throw new NoSuchBucket(bucket);
    return this.db.transaction(async (tx) => {
      const missing = (): Error => (versionId === undefined ? new NoSuchKey(bucket, key) : new NoSuchVersion(key, versionId));
      if (!storable(key) || (versionId !== undefined && !storable(versionId))) {
        await this.requireBucket(tx, bucket);
        throw missing();
      }
      await lockKeys(tx, bucket, [key]);
      const row =
        versionId === undefined ? (await this.readLatest(tx, bucket, key)).latest : await this.readVersion(tx, bucket, key, versionId);
      if (!row || row.delete_marker) throw missing();
      const patch = update(objectRecord(row));
      const changed: ObjectRow = {
        ...row,
        revision: patch.revision ?? row.revision,
        sse: patch.sse !== undefined ? JSON.stringify(patch.sse) : row.sse,
        tags: patch.tags !== undefined ? tagsOrNull(patch.tags) : row.tags,
      };
      await tx.query('UPDATE objects SET revision = $2, sse = $3, tags = $4 WHERE id = $1', [
        row.id,
        changed.revision,
        changed.sse,
        changed.tags,
      ]);
      // A re-key that changes the mode moves the object between the per-mode totals.
      const [from, to] = [sseMode(JSON.parse(row.sse) as RawSSE), sseMode(JSON.parse(changed.sse) as RawSSE)];
      if (from !== to) {
        const moved = { objects: 1, plainBytes: Number(row.size), storedBytes: Number(row.stored_size) };
        const negated = { objects: -moved.objects, plainBytes: -moved.plainBytes, storedBytes: -moved.storedBytes };
        await this.addTotals(tx, bucket, { bySse: { [from]: negated, [to]: moved } });
      }
      return objectRecord(changed);
    });
  }

  async listObjects(bucket: string, fromKey: string, upper: string | undefined, limit: number): Promise<ObjectSummary[]> {
    if (!storable(bucket)) throw new NoSuchBucket(bucket);
    const params: unknown[] = [bucket, limit];
    const range = [keyRange('key', lowerBound(fromKey), '>', params)];
    if (upper !== undefined) range.push(keyRange('key', upperBound(upper), '<', params));
    // One statement: the bucket's existence and the range scan of the objects_listed index.
    const rows = await this.db.read<{ bucket_name: string } & { [K in keyof ListedObjectRow]: ListedObjectRow[K] | null }>(
      `SELECT b.name AS bucket_name, o.* FROM buckets b LEFT JOIN LATERAL (
         SELECT key, size, etag, last_modified, checksum FROM objects
         WHERE bucket = $1 AND is_latest AND NOT delete_marker AND ${range.join(' AND ')}
         ORDER BY key COLLATE "C" LIMIT $2
       ) o ON true
       WHERE b.name = $1`,
      params,
    );
    if (rows.length === 0) throw new NoSuchBucket(bucket);
    return rows.filter((row) => row.key !== null).map((row) => objectSummary(row as ListedObjectRow));
  }

  async listVersions(bucket: string, from: VersionPosition, upper: string | undefined, limit: number): Promise<ListedVersion[]> {
    if (!storable(bucket)) throw new NoSuchBucket(bucket);
    const params: unknown[] = [bucket, limit];
    const bounds: string[] = [];
    if (upper !== undefined) bounds.push(keyRange('key', upperBound(upper), '<', params));
    const columns = 'id, key, version_id, is_latest, delete_marker, size, etag, last_modified, checksum';
    const order = 'ORDER BY key COLLATE "C", id DESC LIMIT $2';
    let versions: string;
    if (from.beforeSeq !== undefined && storable(from.key)) {
      // The rest of from.key's versions, then greater keys: two range scans of the objects_history index, each
      // at most a page long (an OR of the two would let the planner read every greater key of the bucket).
      const k = param(params, from.key);
      versions = `(SELECT ${columns} FROM objects WHERE bucket = $1 AND key = ${k} COLLATE "C" AND id < ${param(params, from.beforeSeq)}
                   ORDER BY id DESC LIMIT $2)
                  UNION ALL
                  (SELECT ${columns} FROM objects WHERE bucket = $1 AND ${[`key > ${k} COLLATE "C"`, ...bounds].join(' AND ')} ${order})`;
    } else {
      const range = [keyRange('key', lowerBound(from.key), '>', params), ...bounds];
      versions = `SELECT ${columns} FROM objects WHERE bucket = $1 AND ${range.join(' AND ')} ${order}`;
    }
    const rows = await this.db.read<{ bucket_name: string } & { [K in keyof ListedVersionRow]: ListedVersionRow[K] | null }>(
      `SELECT b.name AS bucket_name, o.* FROM buckets b LEFT JOIN LATERAL (
         SELECT * FROM (${versions}) AS v ${order}
       ) o ON true
       WHERE b.name = $1`,
      params,
    );
    if (rows.length === 0) throw new NoSuchBucket(bucket);
    return rows.filter((row) => row.key !== null).map((row) => listedVersion(row as ListedVersionRow));
  }

  async versionSeq(bucket: string, key: string, versionId: string): Promise<number | undefined> {
    if (!storable(bucket)) throw new NoSuchBucket(bucket);
    const findable = storable(key) && storable(versionId);
    const [row] = await this.db.read<{ id: number | null }>(
      `SELECT o.id FROM buckets b LEFT JOIN objects o ON o.bucket = b.name AND o.key = $2 AND o.version_id = $3
       WHERE b.name = $1`,
      [bucket, findable ? key : '', findable ? versionId : ''],
    );
    if (!row) throw new NoSuchBucket(bucket);
    return row.id === null || !findable ? undefined : row.id;
  }

  // ------------------------------------------------------------------ multipart uploads

  async createUpload(upload: UploadRecord): Promise<void> {
    if (!storable(upload.bucket)) throw new NoSuchBucket(upload.bucket);
    assertStorable('An object key', upload.key);
    assertStorable('An upload id', upload.uploadId);
    await this.db.transaction(async (tx) => {
      const { rowCount } = await tx.query(
        `INSERT INTO uploads (upload_id, bucket, key, initiated, content_type, user_metadata, standard_headers,
           checksum_algorithm, checksum_type, sse, tags)
         SELECT $1, name, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM buckets WHERE name = $2`,
        [
          upload.uploadId,
          upload.bucket,
          upload.key,
          upload.initiated.getTime(),
          upload.contentType ?? null,
          JSON.stringify(upload.userMetadata),
          JSON.stringify(upload.standardHeaders),
          upload.checksumAlgorithm ?? null,
          upload.checksumType ?? null,
          JSON.stringify(upload.sse),
          tagsOrNull(upload.tags),
        ],
      );
      if (rowCount === 0) throw new NoSuchBucket(upload.bucket);
      await this.addTotals(tx, upload.bucket, { uploads: 1 });
    });
  }

  async getUpload(ref: UploadRef): Promise<UploadRecord> {
    if (!storable(ref.bucket)) throw new NoSuchBucket(ref.bucket);
    const findable = storable(ref.key) && storable(ref.uploadId);
    const [row] = await this.db.read<{ [K in keyof UploadRow]: UploadRow[K] | null } & { bucket_name: string }>(
      `SELECT b.name AS bucket_name, u.* FROM buckets b
       LEFT JOIN uploads u ON u.upload_id = $3 AND u.bucket = b.name AND u.key = $2
       WHERE b.name = $1`,
      [ref.bucket, findable ? ref.key : '', findable ? ref.uploadId : ''],
    );
    if (!row) throw new NoSuchBucket(ref.bucket);
    if (row.upload_id === null || !findable) throw new NoSuchUpload(ref.uploadId);
    return uploadRecord(row as UploadRow);
  }

  async putPart(ref: UploadRef, part: UploadedPart): Promise<Superseded> {
    if (!storable(ref.bucket)) throw new NoSuchBucket(ref.bucket);
    return this.db.transaction(async (tx) => {
      // A share lock: parts of one upload go in side by side, but Complete and Abort wait for them.
      await this.lockUpload(tx, ref, 'FOR KEY SHARE');
      const previous = await tx.query<{ data_id: string; enc_size: number }>(
        'DELETE FROM upload_parts WHERE upload_id = $1 AND number = $2 RETURNING data_id, enc_size',
        [ref.uploadId, part.number],
      );
      await tx.query(`INSERT INTO upload_parts (upload_id, ${UPLOAD_PART_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
        ref.uploadId,
        part.number,
        part.plainSize,
        part.encSize,
        part.etag,
        part.dataId,
        jsonOrNull(part.extra),
        part.lastModified.getTime(),
      ]);
      const replaced = previous.rows[0];
      await this.addTotals(tx, ref.bucket, {
        uploadParts: replaced ? 0 : 1,
        uploadStoredBytes: part.encSize - (replaced?.enc_size ?? 0),
      });
      return replaced && replaced.data_id !== part.dataId ? [replaced.data_id] : [];
    });
  }

  async listParts(ref: UploadRef, afterNumber: number, limit: number): Promise<UploadedPart[]> {
    if (!storable(ref.bucket)) throw new NoSuchBucket(ref.bucket);
    const findable = storable(ref.key) && storable(ref.uploadId);
    const rows = await this.db.read<{ bucket_name: string; found: string | null } & UploadPartRow>(
      `SELECT b.name AS bucket_name, u.upload_id AS found, p.* FROM buckets b
       LEFT JOIN uploads u ON u.upload_id = $3 AND u.bucket = b.name AND u.key = $2
       LEFT JOIN LATERAL (
         SELECT ${UPLOAD_PART_COLUMNS} FROM upload_parts
         WHERE upload_id = u.upload_id AND number > $4 ORDER BY number LIMIT $5
       ) p ON true
       WHERE b.name = $1`,
      [ref.bucket, findable ? ref.key : '', findable ? ref.uploadId : '', afterNumber, limit],
    );
    if (rows.length === 0) throw new NoSuchBucket(ref.bucket);
    if (rows[0]!.found === null || !findable) throw new NoSuchUpload(ref.uploadId);
    return rows.filter((row) => row.number !== null).map(uploadedPart);
  }

  async listUploads(bucket: string, from: UploadPosition, upper: string | undefined, limit: number): Promise<UploadSummary[]> {
    if (!storable(bucket)) throw new NoSuchBucket(bucket);
    const params: unknown[] = [bucket, limit];
    const start = lowerBound(from.key);
    // (key, upload_id) > (from.key, afterId); a rewritten bound (the key had U+0000) takes no upload of
    // its own key, only greater keys.
    const range = [
      start.inclusive
        ? `(key, upload_id) > (${param(params, start.value)} COLLATE "C", ${param(params, from.afterId)} COLLATE "C")`
        : keyRange('key', start, '>', params),
    ];
    if (upper !== undefined) range.push(keyRange('key', upperBound(upper), '<', params));
    const rows = await this.db.read<{ bucket_name: string } & { [K in keyof ListedUploadRow]: ListedUploadRow[K] | null }>(
      `SELECT b.name AS bucket_name, u.* FROM buckets b LEFT JOIN LATERAL (
         SELECT key, upload_id, initiated FROM uploads
         WHERE bucket = $1 AND ${range.join(' AND ')}
         ORDER BY key COLLATE "C", upload_id COLLATE "C" LIMIT $2
       ) u ON true
       WHERE b.name = $1`,
      params,
    );
    if (rows.length === 0) throw new NoSuchBucket(bucket);
    return rows.filter((row) => row.key !== null).map((row) => uploadSummary(row as ListedUploadRow));
  }

  async completeUpload(
    ref: UploadRef,
    build: (upload: UploadRecord, parts: UploadedPart[], existing: ExistingObject, versioning: BucketVersioning) => ObjectRecord,
  ): Promise<Superseded> {
    if (!storable(ref.bucket)) throw new NoSuchBucket(ref.bucket);
    return this.db.transaction(async (tx) => {
      const upload = await this.lockUpload(tx, ref, 'FOR UPDATE');
      await lockKeys(tx, ref.bucket, [ref.key]);
      const { rows: parts } = await tx.query<UploadPartRow>(
        `SELECT ${UPLOAD_PART_COLUMNS} FROM upload_parts WHERE upload_id = $1 ORDER BY number`,
        [ref.uploadId],
      );
      const { latest, versioning } = await this.readLatest(tx, ref.bucket, ref.key);
      const object = build(
        uploadRecord(upload),
        parts.map(uploadedPart),
        () => (latest && !latest.delete_marker ? objectRecord(latest) : undefined),
        versioning,
      );
      if (object.bucket !== ref.bucket || object.key !== ref.key) {
        throw new TypeError(`completeUpload built an object for ${object.bucket}/${object.key}, not ${ref.bucket}/${ref.key}`);
      }
      const stored = await this.storeLatest(tx, object, latest);
      await tx.query('DELETE FROM uploads WHERE upload_id = $1', [ref.uploadId]); // its part rows cascade
      const used = new Set(object.parts.map((part) => part.dataId));
      const unused = parts.filter((part) => !used.has(part.data_id)).map((part) => part.data_id);
      await this.addTotals(tx, ref.bucket, {
        ...stored.delta,
        uploads: -1,
        uploadParts: -parts.length,
        uploadStoredBytes: -parts.reduce((sum, part) => sum + part.enc_size, 0),
      });
      return [...stored.blobs, ...unused];
    });
  }

  async abortUpload(ref: UploadRef): Promise<Superseded> {
    if (!storable(ref.bucket)) throw new NoSuchBucket(ref.bucket);
    return this.db.transaction(async (tx) => {
      await this.lockUpload(tx, ref, 'FOR UPDATE');
      const parts = await tx.query<{ data_id: string; enc_size: number }>(
        'DELETE FROM upload_parts WHERE upload_id = $1 RETURNING data_id, enc_size',
        [ref.uploadId],
      );
      await tx.query('DELETE FROM uploads WHERE upload_id = $1', [ref.uploadId]);
      await this.addTotals(tx, ref.bucket, {
        uploads: -1,
        uploadParts: -parts.rows.length,
        uploadStoredBytes: -parts.rows.reduce((sum, part) => sum + part.enc_size, 0),
      });
      return parts.rows.map((part) => part.data_id);
    });
  }

  async updateUpload(ref: UploadRef, update: (upload: UploadRecord) => { sse: StoredSSE }): Promise<void> {
    if (!storable(ref.bucket)) throw new NoSuchBucket(ref.bucket);
    await this.db.transaction(async (tx) => {
      const row = await this.lockUpload(tx, ref, 'FOR UPDATE');
      const { sse } = update(uploadRecord(row));
      await tx.query('UPDATE uploads SET sse = $2 WHERE upload_id = $1', [ref.uploadId, JSON.stringify(sse)]);
    });
  }

  // ------------------------------------------------------------------ gateways sharing the store

  tryLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return coordination.tryLease(this.db, name, holder, ttlMs);
  }

  releaseLease(name: string, holder: string): Promise<void> {
    return coordination.releaseLease(this.db, name, holder);
  }

  leaseHolder(name: string): Promise<string | undefined> {
    return coordination.leaseHolder(this.db, name);
  }

  heartbeat(instance: GatewayInstance): Promise<void> {
    return coordination.heartbeat(this.db, instance);
  }

  gateways(withinMs: number): Promise<GatewayPresence[]> {
    return coordination.gateways(this.db, withinMs);
  }

  removeGateway(id: string): Promise<void> {
    return coordination.removeGateway(this.db, id);
  }

  // ------------------------------------------------------------------ maintenance

  async referencedBlobs(ids: readonly string[]): Promise<Set<string>> {
    const wanted = [...new Set(ids.filter(storable))];
    const referenced = new Set<string>();
    for (let i = 0; i < wanted.length; i += IDS_PER_QUERY) {
      const rows = await this.db.read<{ data_id: string }>(
        `SELECT data_id FROM object_parts WHERE data_id = ANY($1::text[])
         UNION SELECT data_id FROM upload_parts WHERE data_id = ANY($1::text[])`,
        [wanted.slice(i, i + IDS_PER_QUERY)],
      );
      for (const row of rows) referenced.add(row.data_id);
    }
    return referenced;
  }

  async stats(): Promise<StoreStats> {
    const [row] = await this.db.read<Record<keyof StoreStats, number>>(
      `SELECT (SELECT count(*) FROM buckets) AS buckets,
         coalesce(sum(objects), 0) AS objects, coalesce(sum(plain_bytes), 0) AS bytes,
         coalesce(sum(stored_bytes), 0) AS "storedBytes", coalesce(sum(uploads), 0) AS uploads,
         coalesce(sum(upload_parts), 0) AS "uploadParts",
         coalesce(sum(upload_stored_bytes), 0) AS "uploadStoredBytes"
       FROM bucket_totals`,
    );
    return { ...row! };
  }

  async sseTotals(): Promise<SseModeTotals[]> {
    return this.db.read<SseModeTotals>(
      `SELECT sse, sum(objects)::bigint AS objects, sum(plain_bytes)::bigint AS bytes, sum(stored_bytes)::bigint AS "storedBytes"
       FROM sse_totals GROUP BY sse HAVING sum(objects) > 0 ORDER BY sse COLLATE "C"`,
    );
  }

  async keyDependents(masterKey: string): Promise<KeyDependents[]> {
    return this.db.read<KeyDependents>(
      `SELECT bucket, sum(o)::int AS objects, sum(v)::int AS versions, sum(u)::int AS uploads FROM (
         SELECT bucket, is_latest::int AS o, 1 AS v, 0 AS u FROM objects WHERE sse::jsonb ->> 'kmsKey' = $1
         UNION ALL
         SELECT bucket, 0, 0, 1 FROM uploads WHERE sse::jsonb ->> 'kmsKey' = $1
       ) AS dependents GROUP BY bucket ORDER BY bucket COLLATE "C"`,
      [masterKey],
    );
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  // ------------------------------------------------------------------ helpers (inside transactions)

  private async requireBucket(tx: Tx, name: string): Promise<undefined> {
    const { rowCount } = await tx.query('SELECT 1 FROM buckets WHERE name = $1', [name]);
    if (rowCount === 0) throw new NoSuchBucket(name);
    return undefined;
  }

  /** The bucket row (its versioning). → NoSuchBucket */
  private async requireBucketRow(tx: Tx, name: string): Promise<{ versioning: string | null }> {
    const { rows } = await tx.query<{ versioning: string | null }>('SELECT versioning FROM buckets WHERE name = $1', [name]);
    if (!rows[0]) throw new NoSuchBucket(name);
    return rows[0];
  }

  /** The key's latest version with its parts (the key's lock held), and the bucket's versioning. → NoSuchBucket */
  private async readLatest(tx: Tx, bucket: string, key: string): Promise<{ latest: ObjectRow | undefined; versioning: BucketVersioning }> {
    const { rows } = await tx.query<Omit<ObjectRow, 'id'> & { id: number | null; bucket_versioning: string | null }>(
      `SELECT b.versioning AS bucket_versioning, ${OBJECT_COLUMNS}
       FROM buckets b LEFT JOIN objects o ON o.bucket = b.name AND o.key = $2 AND o.is_latest
       WHERE b.name = $1`,
      [bucket, key],
    );
    const row = rows[0];
    if (!row) throw new NoSuchBucket(bucket);
    return { latest: row.id === null ? undefined : { ...row, id: row.id }, versioning: bucketVersioning(row.bucket_versioning) };
  }

  private async readVersion(tx: Tx, bucket: string, key: string, versionId: string): Promise<ObjectRow | undefined> {
    const { rows } = await tx.query<Omit<ObjectRow, 'id'> & { id: number | null }>(
      `SELECT ${OBJECT_COLUMNS} FROM buckets b LEFT JOIN objects o ON o.bucket = b.name AND o.key = $2 AND o.version_id = $3
       WHERE b.name = $1`,
      [bucket, key, versionId],
    );
    const row = rows[0];
    if (!row) throw new NoSuchBucket(bucket);
    return row.id === null ? undefined : { ...row, id: row.id };
  }

  /**
   * Deletes version `versionId` of the key if stored (its part rows too), the key's lock held. When it was the
   * latest, the newest remaining version becomes the latest. Returns its blobs, what it takes from the totals,
   * and the key's latest version's id after the removal.
   */
  private async removeVersion(
    tx: Tx,
    bucket: string,
    key: string,
    versionId: string,
    latest: ObjectRow | undefined,
  ): Promise<{ blobs: string[]; delta: TotalsDelta; kind: 'none' | 'object' | 'marker'; latest: number | undefined }> {
    const { rows } = await tx.query<{
      id: number;
      size: number;
      stored_size: number;
      is_latest: boolean;
      delete_marker: boolean;
      sse: string;
    }>('SELECT id, size, stored_size, is_latest, delete_marker, sse FROM objects WHERE bucket = $1 AND key = $2 AND version_id = $3', [
      bucket,
      key,
      versionId,
    ]);
    const gone = rows[0];
    if (!gone) return { blobs: [], delta: {}, kind: 'none', latest: latest?.id };
    // The parts first: deleting the object row would cascade to them before their blobs were read.
    const blobs = await this.deleteParts(tx, gone.id);
    await tx.query('DELETE FROM objects WHERE id = $1', [gone.id]);
    let newest = latest?.id;
    if (gone.is_latest) {
      const promoted = await tx.query<{ id: number }>(
        `UPDATE objects SET is_latest = true WHERE id = (
           SELECT id FROM objects WHERE bucket = $1 AND key = $2 ORDER BY id DESC LIMIT 1) RETURNING id`,
        [bucket, key],
      );
      newest = promoted.rows[0]?.id;
    }
    return {
      blobs,
      delta: gone.delete_marker ? {} : storedRowDelta(gone),
      kind: gone.delete_marker ? 'marker' : 'object',
      latest: newest,
    };
  }

  /**
   * Stores `object` as the key's latest version, the key's lock held, replacing the stored version of its id if
   * any; `latest` is the key's latest version read under the lock. Returns the replaced version's blobs and what
   * the write changes in the totals. When the replaced version is the latest object (an overwrite in an
   * unversioned bucket), its row is updated in place — same id, so its place in every index and in the
   * newest-first version order stays — and only its parts are written anew: two statements instead of six.
   * Otherwise (a delete marker, or an older null version under newer ones) it is removed and the object inserted.
   */
  private async storeLatest(tx: Tx, object: ObjectRecord, latest: ObjectRow | undefined): Promise<{ blobs: string[]; delta: TotalsDelta }> {
    if (!latest || latest.delete_marker || latest.version_id !== object.versionId) {
      const removed = await this.removeVersion(tx, object.bucket, object.key, object.versionId, latest);
      await this.insertLatest(tx, object, removed.latest);
      return { blobs: removed.blobs, delta: sumDeltas(removed.delta, objectDelta(object)) };
    }
    const blobs = await this.deleteParts(tx, latest.id);
    // Every written column but the indexed identity (bucket, key, version id) and the latest/marker flags.
    const values = objectParams(object).slice(IDENTITY_COLUMNS);
    const sets = OBJECT_WRITE_COLUMNS.slice(IDENTITY_COLUMNS)
      .map((column, i) => `${column} = $${i + 2}`)
      .join(', ');
    await tx.query(
      `WITH o AS (UPDATE objects SET ${sets} WHERE id = $1 RETURNING id)
       INSERT INTO object_parts (object_id, ${OBJECT_PART_COLUMNS}) SELECT o.id, p.* FROM o, ${PART_ARRAYS(values.length + 2)} AS p`,
      [latest.id, ...values, ...partArrays(object.parts)],
    );
    return { blobs, delta: sumDeltas(storedRowDelta(latest), objectDelta(object)) };
  }

  /** Deletes an object's part rows; returns the blobs they named (an inline part's data_id names none). */
  private async deleteParts(tx: Tx, objectId: number): Promise<string[]> {
    const { rows } = await tx.query<{ data_id: string; inline: boolean }>(
      'DELETE FROM object_parts WHERE object_id = $1 RETURNING data_id, inline_data IS NOT NULL AS inline',
      [objectId],
    );
    return rows.filter((row) => !row.inline).map((row) => row.data_id);
  }

  /** Stores `object` as the key's latest version; `latest` is the row id of the latest one so far. */
  private async insertLatest(tx: Tx, object: ObjectRecord, latest: number | undefined): Promise<void> {
    if (latest !== undefined) await tx.query('UPDATE objects SET is_latest = false WHERE id = $1', [latest]);
    const values = objectParams(object);
    const n = values.length;
    const parts = partArrays(object.parts);
    const columns = OBJECT_WRITE_COLUMNS.join(', ');
    const placeholders = values.map((_, i) => `$${i + 1}`).join(', ');
    await tx.query(
      `WITH o AS (INSERT INTO objects (${columns}) VALUES (${placeholders}) RETURNING id)
       INSERT INTO object_parts (object_id, ${OBJECT_PART_COLUMNS}) SELECT o.id, p.* FROM o, ${PART_ARRAYS(n + 1)} AS p`,
      [...values, ...parts],
    );
  }

  private async insertMarker(tx: Tx, bucket: string, key: string, versionId: string, at: Date, latest: number | undefined): Promise<void> {
    if (latest !== undefined) await tx.query('UPDATE objects SET is_latest = false WHERE id = $1', [latest]);
    const values = markerParams(bucket, key, versionId, randomBytes(12).toString('hex'), at);
    await tx.query(
      `INSERT INTO objects (${OBJECT_WRITE_COLUMNS.join(', ')}) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})`,
      values,
    );
  }

  /** → NoSuchBucket, NoSuchUpload */
  private async lockUpload(tx: Tx, ref: UploadRef, lock: 'FOR UPDATE' | 'FOR KEY SHARE'): Promise<UploadRow> {
    const { rows } =
      storable(ref.key) && storable(ref.uploadId)
        ? await tx.query<UploadRow>(`SELECT * FROM uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3 ${lock}`, [
            ref.uploadId,
            ref.bucket,
            ref.key,
          ])
        : { rows: [] };
    if (rows[0]) return rows[0];
    await this.requireBucket(tx, ref.bucket);
    throw new NoSuchUpload(ref.uploadId);
  }

  /** Adds to one stripe of the bucket's totals. Always a transaction's last statement (lock order). */
  private async addTotals(tx: Tx, bucket: string, delta: TotalsDelta): Promise<void> {
    const values = [
      delta.objects ?? 0,
      delta.plainBytes ?? 0,
      delta.storedBytes ?? 0,
      delta.uploads ?? 0,
      delta.uploadParts ?? 0,
      delta.uploadStoredBytes ?? 0,
    ];
    const modes = Object.entries(delta.bySse ?? {})
      .filter(([, d]) => d.objects !== 0 || d.plainBytes !== 0 || d.storedBytes !== 0)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (values.every((v) => v === 0) && modes.length === 0) return;
    const stripe = randomInt(TOTAL_STRIPES);
    await tx.query(
      `INSERT INTO bucket_totals AS t (bucket, stripe, objects, plain_bytes, stored_bytes, uploads, upload_parts,
         upload_stored_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (bucket, stripe) DO UPDATE SET
         objects = t.objects + excluded.objects, plain_bytes = t.plain_bytes + excluded.plain_bytes,
         stored_bytes = t.stored_bytes + excluded.stored_bytes, uploads = t.uploads + excluded.uploads,
         upload_parts = t.upload_parts + excluded.upload_parts,
         upload_stored_bytes = t.upload_stored_bytes + excluded.upload_stored_bytes`,
      [bucket, stripe, ...values],
    );
    if (modes.length === 0) return;
    // The same stripe, its mode rows in mode order: every writer locks rows in one order, so none waits in a cycle.
    await tx.query(
      `INSERT INTO sse_totals AS t (bucket, stripe, sse, objects, plain_bytes, stored_bytes)
       SELECT $1, $2, m.sse, m.objects, m.plain_bytes, m.stored_bytes
       FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::bigint[]) WITH ORDINALITY AS m (sse, objects, plain_bytes, stored_bytes, n)
       ORDER BY m.n
       ON CONFLICT (bucket, stripe, sse) DO UPDATE SET objects = t.objects + excluded.objects,
         plain_bytes = t.plain_bytes + excluded.plain_bytes, stored_bytes = t.stored_bytes + excluded.stored_bytes`,
      [
        bucket,
        stripe,
        modes.map(([m]) => m),
        modes.map(([, d]) => d.objects),
        modes.map(([, d]) => d.plainBytes),
        modes.map(([, d]) => d.storedBytes),
      ],
    );
  }
}

/** What storing `object` adds to the bucket's totals. */
function objectDelta(object: ObjectRecord): TotalsDelta {
  return modeDelta(sseMode(object.sse), {
    objects: 1,
    plainBytes: object.size,
    storedBytes: object.parts.reduce((sum, part) => sum + part.encSize, 0),
  });
}

/** What removing a stored object row (not a delete marker) takes from the bucket's totals. */
function storedRowDelta(row: Pick<ObjectRow, 'size' | 'stored_size' | 'sse'>): TotalsDelta {
  return modeDelta(sseMode(JSON.parse(row.sse) as RawSSE), { objects: -1, plainBytes: -row.size, storedBytes: -row.stored_size });
}

/** A stored record as the totals read it: unchecked, so that a malformed one can still be counted and removed. */
type RawSSE = { sse?: unknown };

/** The SSE mode a stored record names (its `sse` field), as the per-mode totals count it. */
function sseMode(sse: RawSSE): string {
  return typeof sse.sse === 'string' ? sse.sse : 'unknown';
}

/** An object delta, counted in the totals and again under its SSE mode. */
function modeDelta(mode: string, d: ModeDelta): TotalsDelta {
  return { ...d, bySse: { [mode]: d } };
}

function sumDeltas(a: TotalsDelta, b: TotalsDelta): TotalsDelta {
  const out: TotalsDelta = { ...a };
  for (const [name, value] of Object.entries(b) as [keyof TotalsDelta, number | Record<string, ModeDelta>][]) {
    if (name === 'bySse') {
      const modes: Record<string, ModeDelta> = { ...a.bySse };
      for (const [mode, d] of Object.entries(value as Record<string, ModeDelta>)) {
        const was = modes[mode] ?? { objects: 0, plainBytes: 0, storedBytes: 0 };
        modes[mode] = {
          objects: was.objects + d.objects,
          plainBytes: was.plainBytes + d.plainBytes,
          storedBytes: was.storedBytes + d.storedBytes,
        };
      }
      out.bySse = modes;
    } else {
      out[name] = (out[name] ?? 0) + (value as number);
    }
  }
  return out;
}

/**
 * Takes the advisory locks of the keys (in one order, so two writers of several keys never wait in a cycle):
 * every writer of a key holds its lock until its commit, so a key's versions change one transaction at a time
 * and a later version gets a greater row id.
 */
async function lockKeys(tx: Tx, bucket: string, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await tx.query(
    `SELECT pg_advisory_xact_lock(h) FROM (
       SELECT DISTINCT hashtextextended($1 || '/' || k, 0) AS h FROM unnest($2::text[]) AS k ORDER BY h) AS locks`,
    [bucket, [...keys]],
  );
}

/** Adds `value` as the next parameter and returns its placeholder. */
function param(params: unknown[], value: unknown): string {
  params.push(value);
  return `$${params.length}`;
}

/** `column > bound` (or >=, < , <= as the bound says), compared bytewise. */
function keyRange(column: string, bound: { value: string; inclusive: boolean }, op: '>' | '<', params: unknown[]): string {
  return `${column} ${op}${bound.inclusive ? '=' : ''} ${param(params, bound.value)} COLLATE "C"`;
}

function assertStorable(what: string, value: string): void {
  if (!storable(value)) {
    throw new InvalidArgument(`${what} must be valid UTF-8 without U+0000 characters (PostgreSQL cannot store them)`);
  }
}
