// Every SQL statement of the SQLite metadata store, prepared once.
import type { Database, Statement } from 'better-sqlite3';
import type {
  BucketRow,
  ListedObjectRow,
  ListedUploadRow,
  ListedVersionRow,
  ObjectRow,
  PartRow,
  UploadPartRow,
  UploadRow,
} from './rows.js';

/** A new object row: the columns of ObjectRow but its rowid. */
export type ObjectInsert = Omit<ObjectRow, 'id'>;

/** A part row, owned by an object (rowid) or an upload (id). */
export interface PartInsert extends PartRow {
  owner: number | string;
}

export type UploadInsert = UploadRow;

interface BucketTotals {
  buckets: number;
  objects: number | null;
  bytes: number | null;
  stored: number | null;
}

interface UploadTotals {
  uploads: number;
  parts: number;
  stored: number | null;
}

export class Statements {
  readonly getBucket: Statement<[string], BucketRow>;
  readonly listBuckets: Statement<[], BucketRow>;
  readonly insertBucket: Statement<[string, number, string | null]>;
  readonly deleteBucket: Statement<[string]>;
  readonly setBucketEncryption: Statement<[string | null, string]>;
  readonly adjustBucketTotals: Statement<[number, number, number, string]>;
  readonly bucketHasObjects: Statement<[string], { one: number }>;
  readonly bucketTotals: Statement<[], BucketTotals>;
  readonly getBucketSetting: Statement<[string, string], { value: string }>;
  readonly putBucketSetting: Statement<[string, string, string]>;
  readonly deleteBucketSetting: Statement<[string, string]>;
  readonly deleteBucketSettings: Statement<[string]>;

  readonly setBucketVersioning: Statement<[string, string]>;
  readonly getObject: Statement<[string, string], ObjectRow>;
  readonly getVersion: Statement<[string, string, string], ObjectRow>;
  readonly unsetLatest: Statement<[number]>;
  readonly newestVersion: Statement<[string, string], { id: number }>;
  readonly setLatest: Statement<[number]>;
  readonly listVersionsOfKey: Statement<[string, string, number, number], ListedVersionRow>;
  readonly listVersionsFrom: Statement<[string, string, number], ListedVersionRow>;
  readonly listVersionsBetween: Statement<[string, string, string, number], ListedVersionRow>;
  readonly listVersionsAfterFrom: Statement<[string, string, number], ListedVersionRow>;
  readonly listVersionsAfterBetween: Statement<[string, string, string, number], ListedVersionRow>;
  readonly getObjectParts: Statement<[number], PartRow>;
  readonly objectBlobIds: Statement<[number], { data_id: string }>;
  readonly insertObject: Statement<[ObjectInsert]>;
  readonly insertObjectPart: Statement<[PartInsert & { inline_data: Buffer | null }]>;
  readonly deleteObject: Statement<[number]>;
  readonly updateObject: Statement<[string, string, string | null, number]>;
  readonly replaceObject: Statement<[Omit<ObjectRow, 'bucket' | 'key' | 'version_id' | 'is_latest' | 'delete_marker'>]>;
  readonly deleteObjectParts: Statement<[number]>;
  readonly updateUploadSse: Statement<[string, string]>;
  readonly listObjectsFrom: Statement<[string, string, number], ListedObjectRow>;
  readonly listObjectsBetween: Statement<[string, string, string, number], ListedObjectRow>;
  readonly dataIsReferenced: Statement<[string, string], { one: number }>;

  readonly insertUpload: Statement<[UploadInsert]>;
  readonly getUpload: Statement<[string, string, string], UploadRow>;
  readonly deleteUpload: Statement<[string]>;
  readonly bucketUploadIds: Statement<[string], { upload_id: string }>;
  readonly getUploadParts: Statement<[string], UploadPartRow>;
  readonly getUploadPart: Statement<[string, number], UploadPartRow>;
  readonly listUploadParts: Statement<[string, number, number], UploadPartRow>;
  readonly insertUploadPart: Statement<[PartInsert & { last_modified: number }]>;
  readonly deleteUploadPart: Statement<[string, number]>;
  readonly listUploadsFrom: Statement<[string, string, string, number], ListedUploadRow>;
  readonly listUploadsBetween: Statement<[string, string, string, string, number], ListedUploadRow>;
  readonly uploadTotals: Statement<[], UploadTotals>;
  readonly sseTotals: Statement<[], { sse: string; objects: number; bytes: number; storedBytes: number }>;
  readonly keyDependents: Statement<[{ key: string }], { bucket: string; objects: number; versions: number; uploads: number }>;

  constructor(db: Database) {
    this.getBucket = db.prepare('SELECT name, created_at, encryption, versioning FROM buckets WHERE name = ?');
    this.listBuckets = db.prepare('SELECT name, created_at, encryption FROM buckets ORDER BY name');
    this.insertBucket = db.prepare('INSERT INTO buckets (name, created_at, encryption) VALUES (?, ?, ?)');
    this.deleteBucket = db.prepare('DELETE FROM buckets WHERE name = ?');
    this.setBucketEncryption = db.prepare('UPDATE buckets SET encryption = ? WHERE name = ?');
    this.adjustBucketTotals = db.prepare(
      `UPDATE buckets SET object_count = object_count + ?, plain_bytes = plain_bytes + ?,
         stored_bytes = stored_bytes + ? WHERE name = ?`,
    );
    this.bucketHasObjects = db.prepare('SELECT 1 AS one FROM objects WHERE bucket = ? LIMIT 1');
    this.bucketTotals = db.prepare(
      `SELECT COUNT(*) AS buckets, SUM(object_count) AS objects, SUM(plain_bytes) AS bytes,
         SUM(stored_bytes) AS stored FROM buckets`,
    );
    this.getBucketSetting = db.prepare('SELECT value FROM bucket_settings WHERE bucket = ? AND name = ?');
    this.putBucketSetting = db.prepare(
      `INSERT INTO bucket_settings (bucket, name, value) VALUES (?, ?, ?)
       ON CONFLICT (bucket, name) DO UPDATE SET value = excluded.value`,
    );
    this.deleteBucketSetting = db.prepare('DELETE FROM bucket_settings WHERE bucket = ? AND name = ?');
    this.deleteBucketSettings = db.prepare('DELETE FROM bucket_settings WHERE bucket = ?');

    this.setBucketVersioning = db.prepare('UPDATE buckets SET versioning = ? WHERE name = ?');
    this.getObject = db.prepare('SELECT * FROM objects WHERE bucket = ? AND key = ? AND is_latest = 1');
    this.getVersion = db.prepare('SELECT * FROM objects WHERE bucket = ? AND key = ? AND version_id = ?');
    this.unsetLatest = db.prepare('UPDATE objects SET is_latest = 0 WHERE id = ?');
    this.newestVersion = db.prepare('SELECT id FROM objects WHERE bucket = ? AND key = ? ORDER BY id DESC LIMIT 1');
    this.setLatest = db.prepare('UPDATE objects SET is_latest = 1 WHERE id = ?');
    // The objects_history index (bucket, key, id) serves each: a key's versions newest first, then greater keys.
    const listedVersion = 'SELECT id, key, version_id, is_latest, delete_marker, size, etag, last_modified, checksum FROM objects';
    this.listVersionsOfKey = db.prepare(`${listedVersion} WHERE bucket = ? AND key = ? AND id < ? ORDER BY id DESC LIMIT ?`);
    this.listVersionsFrom = db.prepare(`${listedVersion} WHERE bucket = ? AND key >= ? ORDER BY key, id DESC LIMIT ?`);
    this.listVersionsBetween = db.prepare(`${listedVersion} WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key, id DESC LIMIT ?`);
    this.listVersionsAfterFrom = db.prepare(`${listedVersion} WHERE bucket = ? AND key > ? ORDER BY key, id DESC LIMIT ?`);
    this.listVersionsAfterBetween = db.prepare(`${listedVersion} WHERE bucket = ? AND key > ? AND key < ? ORDER BY key, id DESC LIMIT ?`);
    this.getObjectParts = db.prepare(
      `SELECT number, plain_size, enc_size, etag, data_id, extra, inline_data FROM object_parts
         WHERE object_id = ? ORDER BY number`,
    );
    // The blobs an object's parts name: an inline part's data_id names none.
    this.objectBlobIds = db.prepare('SELECT data_id FROM object_parts WHERE object_id = ? AND inline_data IS NULL');
    this.insertObject = db.prepare(
      `INSERT INTO objects (bucket, key, version_id, is_latest, delete_marker, revision, size, stored_size, etag,
         last_modified, content_type, user_metadata, standard_headers, checksum, sse, tags)
       VALUES (@bucket, @key, @version_id, @is_latest, @delete_marker, @revision, @size, @stored_size, @etag, @last_modified,
         @content_type, @user_metadata, @standard_headers, @checksum, @sse, @tags)`,
    );
    this.insertObjectPart = db.prepare(
      `INSERT INTO object_parts (object_id, number, plain_size, enc_size, etag, data_id, extra, inline_data)
       VALUES (@owner, @number, @plain_size, @enc_size, @etag, @data_id, @extra, @inline_data)`,
    );
    this.deleteObject = db.prepare('DELETE FROM objects WHERE id = ?');
    this.updateObject = db.prepare('UPDATE objects SET revision = ?, sse = ?, tags = ? WHERE id = ?');
    // Everything but the columns an index is on (bucket, key, version id, latest, marker; the id stays).
    this.replaceObject = db.prepare(
      `UPDATE objects SET revision = @revision, size = @size, stored_size = @stored_size, etag = @etag,
         last_modified = @last_modified, content_type = @content_type, user_metadata = @user_metadata,
         standard_headers = @standard_headers, checksum = @checksum, sse = @sse, tags = @tags WHERE id = @id`,
    );
    this.deleteObjectParts = db.prepare('DELETE FROM object_parts WHERE object_id = ?');
    this.updateUploadSse = db.prepare('UPDATE uploads SET sse = ? WHERE upload_id = ?');
    // The objects_listed partial index serves these (its WHERE terms are repeated for the planner).
    const listedObject = 'SELECT key, size, etag, last_modified, checksum FROM objects';
    const current = 'is_latest = 1 AND delete_marker = 0';
    this.listObjectsFrom = db.prepare(`${listedObject} WHERE bucket = ? AND key >= ? AND ${current} ORDER BY key LIMIT ?`);
    this.listObjectsBetween = db.prepare(`${listedObject} WHERE bucket = ? AND key >= ? AND key < ? AND ${current} ORDER BY key LIMIT ?`);
    this.dataIsReferenced = db.prepare(
      `SELECT 1 AS one FROM object_parts WHERE data_id = ?
       UNION ALL SELECT 1 FROM upload_parts WHERE data_id = ? LIMIT 1`,
    );

    this.insertUpload = db.prepare(
      `INSERT INTO uploads (upload_id, bucket, key, initiated, content_type, user_metadata,
         standard_headers, checksum_algorithm, checksum_type, sse, tags)
       VALUES (@upload_id, @bucket, @key, @initiated, @content_type, @user_metadata,
         @standard_headers, @checksum_algorithm, @checksum_type, @sse, @tags)`,
    );
    this.getUpload = db.prepare('SELECT * FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?');
    this.deleteUpload = db.prepare('DELETE FROM uploads WHERE upload_id = ?');
    this.bucketUploadIds = db.prepare('SELECT upload_id FROM uploads WHERE bucket = ?');
    const uploadPart = 'SELECT number, plain_size, enc_size, etag, data_id, extra, last_modified FROM upload_parts';
    this.getUploadParts = db.prepare(`${uploadPart} WHERE upload_id = ? ORDER BY number`);
    this.getUploadPart = db.prepare(`${uploadPart} WHERE upload_id = ? AND number = ?`);
    this.listUploadParts = db.prepare(`${uploadPart} WHERE upload_id = ? AND number > ? ORDER BY number LIMIT ?`);
    this.insertUploadPart = db.prepare(
      `INSERT INTO upload_parts (upload_id, number, plain_size, enc_size, etag, data_id, extra, last_modified)
       VALUES (@owner, @number, @plain_size, @enc_size, @etag, @data_id, @extra, @last_modified)`,
    );
    this.deleteUploadPart = db.prepare('DELETE FROM upload_parts WHERE upload_id = ? AND number = ?');
    // Row values order (key, upload_id) pairs; the uploads_by_key index serves the seek.
    const listedUpload = 'SELECT key, upload_id, initiated FROM uploads';
    this.listUploadsFrom = db.prepare(`${listedUpload} WHERE bucket = ? AND (key, upload_id) > (?, ?) ORDER BY key, upload_id LIMIT ?`);
    this.listUploadsBetween = db.prepare(
      `${listedUpload} WHERE bucket = ? AND (key, upload_id) > (?, ?) AND key < ?
       ORDER BY key, upload_id LIMIT ?`,
    );
    this.uploadTotals = db.prepare(
      `SELECT (SELECT COUNT(*) FROM uploads) AS uploads, COUNT(*) AS parts, SUM(enc_size) AS stored
       FROM upload_parts`,
    );
    this.sseTotals = db.prepare(
      `SELECT sse, SUM(objects) AS objects, SUM(plain_bytes) AS bytes, SUM(stored_bytes) AS storedBytes
       FROM sse_totals GROUP BY sse HAVING SUM(objects) > 0 ORDER BY sse`,
    );
    this.keyDependents = db.prepare(
      `SELECT bucket, SUM(o) AS objects, SUM(v) AS versions, SUM(u) AS uploads FROM (
         SELECT bucket, is_latest AS o, 1 AS v, 0 AS u FROM objects WHERE json_extract(sse, '$.kmsKey') = @key
         UNION ALL
         SELECT bucket, 0, 0, 1 FROM uploads WHERE json_extract(sse, '$.kmsKey') = @key
       ) GROUP BY bucket ORDER BY bucket`,
    );
  }
}
