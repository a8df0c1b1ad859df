// The metadata store on PostgreSQL, for several gateways sharing one database.
//
// Concurrency: every method is one READ COMMITTED transaction. A writer locks the rows it reads before
// deciding (`SELECT … FOR UPDATE` on the object or upload), so a second writer of the same key waits and
// then reads what the first committed. Where there is no row yet to lock (a new key, a new bucket), the
// unique constraints decide: the loser of two racing INSERTs fails with a unique violation, and the
// whole transaction runs again from BEGIN (database.ts, bounded), now finding the winner's row: two
// `If-None-Match: *` PUTs of one key from two gateways let exactly one win. Rows are locked in one
// order (upload, then object rows in key order, then a bucket totals stripe, always last), which keeps
// deadlocks out of the common paths; the rare one left (deleteBucket against writers) is retried too.
//
// Objects are updated in place (same row id) when replaced, so a writer waiting on the row lock follows
// the update instead of finding the row gone.
import { randomInt } from 'node:crypto';
import {
  BucketAlreadyExists,
  BucketNotEmpty,
  InvalidArgument,
  NoSuchBucket,
  NoSuchKey,
  NoSuchUpload,
} from '../../errors.js';
import type {
  BucketEncryption,
  BucketInfo,
  BucketSettingName,
  BucketSettings,
  DeleteResult,
  KeyDependents,
  ObjectRecord,
  ObjectSummary,
  SseFields,
  StoreStats,
  UploadedPart,
  UploadRecord,
  UploadRef,
  UploadSummary,
} from '../../types.js';
import type { GatewayInstance, GatewayPresence, MetadataStore, ObjectPatch, Superseded, UploadPosition } from '../types.js';
import * as coordination from './coordination.js';
import { PostgresDatabase, type PostgresMetadataOptions, type Tx } from './database.js';
import { lowerBound, storable, upperBound } from './key-bounds.js';
import {
  bucketEncryption,
  jsonOrNull,
  OBJECT_COLUMNS,
  OBJECT_WRITE_COLUMNS,
  objectParams,
  objectRecord,
  objectSummary,
  partArrays,
  tagsOrNull,
  uploadedPart,
  uploadRecord,
  uploadSummary,
  type BucketRow,
  type ListedObjectRow,
  type ListedUploadRow,
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
const PART_ARRAYS = (first: number): string =>
  `unnest($${first}::integer[], $${first + 1}::bigint[], $${first + 2}::bigint[], $${first + 3}::text[], ` +
  `$${first + 4}::text[], $${first + 5}::text[])`;

interface TotalsDelta {
  objects?: number;
  plainBytes?: number;
  storedBytes?: number;
  uploads?: number;
  uploadParts?: number;
  uploadStoredBytes?: number;
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
      const { rowCount } = await tx.query('UPDATE buckets SET encryption = $2 WHERE name = $1', [
        name,
        jsonOrNull(encryption),
      ]);
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

  async putBucketSetting<K extends BucketSettingName>(
    name: string,
    setting: K,
    value: BucketSettings[K] | undefined,
  ): Promise<void> {
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

  // ------------------------------------------------------------------ objects

  async getObject(bucket: string, key: string): Promise<ObjectRecord | undefined> {
    if (!storable(bucket)) throw new NoSuchBucket(bucket);
    // One statement: the object row and its parts from one snapshot.
    const [row] = await this.db.read<Omit<ObjectRow, 'id'> & { id: number | null; bucket_name: string }>(
      `SELECT b.name AS bucket_name, ${OBJECT_COLUMNS}
       FROM buckets b LEFT JOIN objects o ON o.bucket = b.name AND o.key = $2
       WHERE b.name = $1`,
      [bucket, storable(key) ? key : ''],
    );
    if (!row) throw new NoSuchBucket(bucket);
    return row.id === null || !storable(key) ? undefined : objectRecord({ ...row, id: row.id });
  }

  async putObject(object: ObjectRecord, check: (existing: ObjectRecord | undefined) => void): Promise<Superseded> {
    if (!storable(object.bucket)) throw new NoSuchBucket(object.bucket);
    assertStorable('An object key', object.key);
    return this.db.transaction(async (tx) => {
      const existing = await this.lockObject(tx, object.bucket, object.key);
      check(existing && objectRecord(existing));
      const superseded = await this.writeObject(tx, object, existing);
      await this.addTotals(tx, object.bucket, objectDelta(object, existing));
      return superseded;
    });
  }

  async deleteObjects(
    bucket: string,
    keys: readonly string[],
  ): Promise<{ results: DeleteResult[]; superseded: Superseded }> {
    if (!storable(bucket)) throw new NoSuchBucket(bucket);
    const wanted = [...new Set(keys.filter(storable))];
    return this.db.transaction(async (tx) => {
      // Locked in key order, so two batch deletes never wait on each other in a cycle.
      const { rows } = wanted.length
        ? await tx.query<{ id: number; key: string; size: number; stored_size: number }>(
            `SELECT id, key, size, stored_size FROM objects WHERE bucket = $1 AND key = ANY($2::text[])
             ORDER BY key COLLATE "C" FOR UPDATE`,
            [bucket, wanted],
          )
        : { rows: [] };
      if (rows.length === 0) await this.requireBucket(tx, bucket);
      let superseded: string[] = [];
      if (rows.length > 0) {
        const ids = rows.map((row) => row.id);
        const parts = await tx.query<{ data_id: string }>(
          'DELETE FROM object_parts WHERE object_id = ANY($1::bigint[]) RETURNING data_id',
          [ids],
        );
        await tx.query('DELETE FROM objects WHERE id = ANY($1::bigint[])', [ids]);
        superseded = parts.rows.map((row) => row.data_id);
        await this.addTotals(tx, bucket, {
          objects: -rows.length,
          plainBytes: -rows.reduce((sum, row) => sum + row.size, 0),
          storedBytes: -rows.reduce((sum, row) => sum + row.stored_size, 0),
        });
      }
      // A key named twice is deleted once; the second time it no longer exists.
      const found = new Set(rows.map((row) => row.key));
      const results = keys.map((key) => {
        const deleted = found.delete(key);
        return { key, deleted };
      });
      return { results, superseded };
    });
  }

  async updateObject(
    bucket: string,
    key: string,
    update: (existing: ObjectRecord) => ObjectPatch,
  ): Promise<ObjectRecord> {
    if (!storable(bucket)) throw new NoSuchBucket(bucket);
    return this.db.transaction(async (tx) => {
      const row = storable(key) ? await this.lockObject(tx, bucket, key) : await this.requireBucket(tx, bucket);
      if (!row) throw new NoSuchKey(bucket, key);
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
      return objectRecord(changed);
    });
  }

  async listObjects(bucket: string, fromKey: string, upper: string | undefined, limit: number): Promise<ObjectSummary[]> {
    if (!storable(bucket)) throw new NoSuchBucket(bucket);
    const params: unknown[] = [bucket, limit];
    const range = [keyRange('key', lowerBound(fromKey), '>', params)];
    if (upper !== undefined) range.push(keyRange('key', upperBound(upper), '<', params));
    // One statement: the bucket's existence and the range scan of the (bucket, key) index.
    const rows = await this.db.read<{ bucket_name: string } & { [K in keyof ListedObjectRow]: ListedObjectRow[K] | null }>(
      `SELECT b.name AS bucket_name, o.* FROM buckets b LEFT JOIN LATERAL (
         SELECT key, size, etag, last_modified, checksum FROM objects
         WHERE bucket = $1 AND ${range.join(' AND ')}
         ORDER BY key COLLATE "C" LIMIT $2
       ) o ON true
       WHERE b.name = $1`,
      params,
    );
    if (rows.length === 0) throw new NoSuchBucket(bucket);
    return rows.filter((row) => row.key !== null).map((row) => objectSummary(row as ListedObjectRow));
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
      await tx.query(
        `INSERT INTO upload_parts (upload_id, ${UPLOAD_PART_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          ref.uploadId,
          part.number,
          part.plainSize,
          part.encSize,
          part.etag,
          part.dataId,
          jsonOrNull(part.extra),
          part.lastModified.getTime(),
        ],
      );
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

  async listUploads(
    bucket: string,
    from: UploadPosition,
    upper: string | undefined,
    limit: number,
  ): Promise<UploadSummary[]> {
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
    build: (upload: UploadRecord, parts: UploadedPart[], existing: ObjectRecord | undefined) => ObjectRecord,
  ): Promise<Superseded> {
    if (!storable(ref.bucket)) throw new NoSuchBucket(ref.bucket);
    return this.db.transaction(async (tx) => {
      const upload = await this.lockUpload(tx, ref, 'FOR UPDATE');
      const { rows: parts } = await tx.query<UploadPartRow>(
        `SELECT ${UPLOAD_PART_COLUMNS} FROM upload_parts WHERE upload_id = $1 ORDER BY number`,
        [ref.uploadId],
      );
      const existing = await this.lockObject(tx, ref.bucket, ref.key);
      const object = build(uploadRecord(upload), parts.map(uploadedPart), existing && objectRecord(existing));
      if (object.bucket !== ref.bucket || object.key !== ref.key) {
        throw new TypeError(`completeUpload built an object for ${object.bucket}/${object.key}, not ${ref.bucket}/${ref.key}`);
      }
      const superseded = await this.writeObject(tx, object, existing);
      await tx.query('DELETE FROM uploads WHERE upload_id = $1', [ref.uploadId]); // its part rows cascade
      const used = new Set(object.parts.map((part) => part.dataId));
      const unused = parts.filter((part) => !used.has(part.data_id)).map((part) => part.data_id);
      await this.addTotals(tx, ref.bucket, {
        ...objectDelta(object, existing),
        uploads: -1,
        uploadParts: -parts.length,
        uploadStoredBytes: -parts.reduce((sum, part) => sum + part.enc_size, 0),
      });
      return [...superseded, ...unused];
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

  async updateUpload(ref: UploadRef, update: (upload: UploadRecord) => { sse: SseFields }): Promise<void> {
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

  async keyDependents(masterKey: string): Promise<KeyDependents[]> {
    return this.db.read<KeyDependents>(
      `SELECT bucket, sum(o)::int AS objects, sum(u)::int AS uploads FROM (
         SELECT bucket, 1 AS o, 0 AS u FROM objects WHERE sse::jsonb ->> 'kmsKey' = $1
         UNION ALL
         SELECT bucket, 0, 1 FROM uploads WHERE sse::jsonb ->> 'kmsKey' = $1
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

  /**
   * Locks the object row, then reads it with its parts. Two statements on purpose: a statement that
   * waited for the lock sees the new row but would read the parts of the old one; the next statement
   * sees what the other writer committed. → NoSuchBucket when there is no row and no bucket.
   */
  private async lockObject(tx: Tx, bucket: string, key: string): Promise<ObjectRow | undefined> {
    const locked = await tx.query<{ id: number }>(
      'SELECT id FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE',
      [bucket, key],
    );
    const id = locked.rows[0]?.id;
    if (id === undefined) return this.requireBucket(tx, bucket);
    const { rows } = await tx.query<ObjectRow>(`SELECT ${OBJECT_COLUMNS} FROM objects o WHERE o.id = $1`, [id]);
    return rows[0];
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

  /** Stores `object` in place of `existing` (same row) or as a new row. Returns the blobs no longer used. */
  private async writeObject(tx: Tx, object: ObjectRecord, existing: ObjectRow | undefined): Promise<string[]> {
    const values = objectParams(object);
    const n = values.length;
    const parts = partArrays(object.parts);
    const columns = OBJECT_WRITE_COLUMNS.join(', ');
    const placeholders = values.map((_, i) => `$${i + 1}`).join(', ');
    if (existing) {
      await tx.query('DELETE FROM object_parts WHERE object_id = $1', [existing.id]);
      await tx.query(
        `WITH o AS (UPDATE objects SET (${columns}) = (${placeholders}) WHERE id = $${n + 1} RETURNING id)
         INSERT INTO object_parts (object_id, ${PART_COLUMNS}) SELECT o.id, p.* FROM o, ${PART_ARRAYS(n + 2)} AS p`,
        [...values, existing.id, ...parts],
      );
      const kept = new Set(object.parts.map((part) => part.dataId));
      return (existing.parts ?? []).map((part) => part.data_id).filter((id) => !kept.has(id));
    }
    await tx.query(
      `WITH o AS (INSERT INTO objects (${columns}) VALUES (${placeholders}) RETURNING id)
       INSERT INTO object_parts (object_id, ${PART_COLUMNS}) SELECT o.id, p.* FROM o, ${PART_ARRAYS(n + 1)} AS p`,
      [...values, ...parts],
    );
    return [];
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
    if (values.every((v) => v === 0)) return;
    await tx.query(
      `INSERT INTO bucket_totals AS t (bucket, stripe, objects, plain_bytes, stored_bytes, uploads, upload_parts,
         upload_stored_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (bucket, stripe) DO UPDATE SET
         objects = t.objects + excluded.objects, plain_bytes = t.plain_bytes + excluded.plain_bytes,
         stored_bytes = t.stored_bytes + excluded.stored_bytes, uploads = t.uploads + excluded.uploads,
         upload_parts = t.upload_parts + excluded.upload_parts,
         upload_stored_bytes = t.upload_stored_bytes + excluded.upload_stored_bytes`,
      [bucket, randomInt(TOTAL_STRIPES), ...values],
    );
  }
}

/** What replacing `existing` (or nothing) with `object` adds to the bucket's totals. */
function objectDelta(object: ObjectRecord, existing: ObjectRow | undefined): TotalsDelta {
  const stored = object.parts.reduce((sum, part) => sum + part.encSize, 0);
  return {
    objects: existing ? 0 : 1,
    plainBytes: object.size - (existing?.size ?? 0),
    storedBytes: stored - (existing?.stored_size ?? 0),
  };
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
