// The metadata schema. Keys are TEXT under the default BINARY collation, so SQLite orders them by
// UTF-8 bytes, which is S3's order, and the (bucket, key) indexes serve listing range scans.
import type { Database } from 'better-sqlite3';

export const SCHEMA_VERSION = 7;

const SCHEMA_V1 = `
CREATE TABLE buckets (
  name          TEXT PRIMARY KEY NOT NULL,
  created_at    INTEGER NOT NULL,
  encryption    TEXT,                       -- JSON BucketEncryption, NULL when none
  -- maintained with every object write, so stats() never scans millions of rows
  object_count  INTEGER NOT NULL DEFAULT 0,
  plain_bytes   INTEGER NOT NULL DEFAULT 0,
  stored_bytes  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE objects (
  id                INTEGER PRIMARY KEY,
  bucket            TEXT NOT NULL REFERENCES buckets(name),
  key               TEXT NOT NULL,
  revision          TEXT NOT NULL,
  size              INTEGER NOT NULL,
  stored_size       INTEGER NOT NULL,
  etag              TEXT NOT NULL,
  last_modified     INTEGER NOT NULL,       -- ms since the epoch
  content_type      TEXT,
  user_metadata     TEXT NOT NULL,          -- JSON
  standard_headers  TEXT NOT NULL,          -- JSON
  checksum          TEXT,                   -- JSON ObjectChecksum
  sse               TEXT NOT NULL,          -- JSON, opaque
  UNIQUE (bucket, key)
) STRICT;

CREATE TABLE object_parts (
  object_id   INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
  number      INTEGER NOT NULL,
  plain_size  INTEGER NOT NULL,
  enc_size    INTEGER NOT NULL,
  etag        TEXT NOT NULL,
  data_id     TEXT NOT NULL UNIQUE,
  extra       TEXT,                         -- JSON, opaque
  PRIMARY KEY (object_id, number)
) STRICT, WITHOUT ROWID;

CREATE TABLE uploads (
  upload_id           TEXT PRIMARY KEY NOT NULL,
  bucket              TEXT NOT NULL REFERENCES buckets(name),
  key                 TEXT NOT NULL,
  initiated           INTEGER NOT NULL,
  content_type        TEXT,
  user_metadata       TEXT NOT NULL,
  standard_headers    TEXT NOT NULL,
  checksum_algorithm  TEXT,
  checksum_type       TEXT,
  sse                 TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX uploads_by_key ON uploads (bucket, key, upload_id);

CREATE TABLE upload_parts (
  upload_id      TEXT NOT NULL REFERENCES uploads(upload_id) ON DELETE CASCADE,
  number         INTEGER NOT NULL,
  plain_size     INTEGER NOT NULL,
  enc_size       INTEGER NOT NULL,
  etag           TEXT NOT NULL,
  data_id        TEXT NOT NULL UNIQUE,
  extra          TEXT,
  last_modified  INTEGER NOT NULL,
  PRIMARY KEY (upload_id, number)
) STRICT, WITHOUT ROWID;
`;

// Version 2: object and upload tag sets, and the bucket sub-resources stored as documents (tagging,
// CORS, ownership controls, public access block), one row per bucket and setting.
const SCHEMA_V2 = `
ALTER TABLE objects ADD COLUMN tags TEXT;   -- JSON Tag[], NULL when none
ALTER TABLE uploads ADD COLUMN tags TEXT;
CREATE TABLE bucket_settings (
  bucket  TEXT NOT NULL REFERENCES buckets(name) ON DELETE CASCADE,
  name    TEXT NOT NULL,
  value   TEXT NOT NULL,                   -- JSON, as the handler gave it
  PRIMARY KEY (bucket, name)
) STRICT, WITHOUT ROWID;
`;

// Version 3: object versions. A key has any number of rows, one per version (objects and delete markers),
// each with its version id ('null' for the version written while versioning is off); exactly one is the
// key's latest. The row id orders a key's versions (a new row's id is greater than every stored one). Every
// object stored before becomes the null version and the latest of its key. SQLite cannot drop a UNIQUE
// constraint, so the table is rebuilt (the documented way: foreign keys are off while migrate() runs, and
// object_parts keeps referring to the table by name).
const SCHEMA_V3 = `
ALTER TABLE buckets ADD COLUMN versioning TEXT;   -- NULL (never versioned), 'Enabled' or 'Suspended'
CREATE TABLE objects_v3 (
  id                INTEGER PRIMARY KEY,
  bucket            TEXT NOT NULL REFERENCES buckets(name),
  key               TEXT NOT NULL,
  version_id        TEXT NOT NULL,
  is_latest         INTEGER NOT NULL,         -- 1 for the key's latest version
  delete_marker     INTEGER NOT NULL,         -- 1 for a delete marker (no parts, no data)
  revision          TEXT NOT NULL,
  size              INTEGER NOT NULL,
  stored_size       INTEGER NOT NULL,
  etag              TEXT NOT NULL,
  last_modified     INTEGER NOT NULL,
  content_type      TEXT,
  user_metadata     TEXT NOT NULL,
  standard_headers  TEXT NOT NULL,
  checksum          TEXT,
  sse               TEXT NOT NULL,
  tags              TEXT
) STRICT;
INSERT INTO objects_v3 (id, bucket, key, version_id, is_latest, delete_marker, revision, size, stored_size, etag,
  last_modified, content_type, user_metadata, standard_headers, checksum, sse, tags)
  SELECT id, bucket, key, 'null', 1, 0, revision, size, stored_size, etag, last_modified, content_type,
    user_metadata, standard_headers, checksum, sse, tags FROM objects;
DROP TABLE objects;
ALTER TABLE objects_v3 RENAME TO objects;
CREATE UNIQUE INDEX objects_by_version ON objects (bucket, key, version_id);
-- one latest version per key; GET without a version id reads it
CREATE UNIQUE INDEX objects_latest ON objects (bucket, key) WHERE is_latest = 1;
-- ListObjects: the latest versions that are objects, in key order
CREATE INDEX objects_listed ON objects (bucket, key) WHERE is_latest = 1 AND delete_marker = 0;
-- ListObjectVersions: every version, key ascending, newest first
CREATE INDEX objects_history ON objects (bucket, key, id DESC);
`;

// Version 4: the totals per SSE mode (the console's objects and bytes by SSE-S3, SSE-KMS, SSE-C), counted as the
// bucket totals are (every stored version, delete markers aside). Triggers keep them, so every write path
// that inserts, deletes or re-keys an object row (an SSE-C re-key in place may change the mode) counts; the
// objects already stored are counted once, here.
const SCHEMA_V4 = `
CREATE TABLE sse_totals (
  bucket        TEXT NOT NULL REFERENCES buckets(name) ON DELETE CASCADE,
  sse           TEXT NOT NULL,
  objects       INTEGER NOT NULL DEFAULT 0,
  plain_bytes   INTEGER NOT NULL DEFAULT 0,
  stored_bytes  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, sse)
) STRICT, WITHOUT ROWID;
INSERT INTO sse_totals (bucket, sse, objects, plain_bytes, stored_bytes)
  SELECT bucket, coalesce(json_extract(sse, '$.sse'), 'unknown'), count(*), sum(size), sum(stored_size)
  FROM objects WHERE delete_marker = 0 GROUP BY 1, 2;
CREATE TRIGGER sse_totals_add AFTER INSERT ON objects WHEN NEW.delete_marker = 0 BEGIN
  INSERT INTO sse_totals (bucket, sse, objects, plain_bytes, stored_bytes)
    VALUES (NEW.bucket, coalesce(json_extract(NEW.sse, '$.sse'), 'unknown'), 1, NEW.size, NEW.stored_size)
    ON CONFLICT (bucket, sse) DO UPDATE SET objects = objects + 1, plain_bytes = plain_bytes + excluded.plain_bytes,
      stored_bytes = stored_bytes + excluded.stored_bytes;
END;
CREATE TRIGGER sse_totals_remove AFTER DELETE ON objects WHEN OLD.delete_marker = 0 BEGIN
  UPDATE sse_totals SET objects = objects - 1, plain_bytes = plain_bytes - OLD.size, stored_bytes = stored_bytes - OLD.stored_size
    WHERE bucket = OLD.bucket AND sse = coalesce(json_extract(OLD.sse, '$.sse'), 'unknown');
END;
CREATE TRIGGER sse_totals_rekey AFTER UPDATE OF sse ON objects
  WHEN OLD.delete_marker = 0 AND coalesce(json_extract(OLD.sse, '$.sse'), 'unknown') IS NOT coalesce(json_extract(NEW.sse, '$.sse'), 'unknown')
BEGIN
  UPDATE sse_totals SET objects = objects - 1, plain_bytes = plain_bytes - OLD.size, stored_bytes = stored_bytes - OLD.stored_size
    WHERE bucket = OLD.bucket AND sse = coalesce(json_extract(OLD.sse, '$.sse'), 'unknown');
  INSERT INTO sse_totals (bucket, sse, objects, plain_bytes, stored_bytes)
    VALUES (NEW.bucket, coalesce(json_extract(NEW.sse, '$.sse'), 'unknown'), 1, NEW.size, NEW.stored_size)
    ON CONFLICT (bucket, sse) DO UPDATE SET objects = objects + 1, plain_bytes = plain_bytes + excluded.plain_bytes,
      stored_bytes = stored_bytes + excluded.stored_bytes;
END;
`;

// Version 5: small objects inline. A part whose encrypted package is at most the gateway's inline threshold
// keeps its bytes (ciphertext, never plaintext) in its row instead of a blob; its data_id names no blob then.
// Existing parts keep NULL: their bytes stay in their blobs.
const SCHEMA_V5 = `
ALTER TABLE object_parts ADD COLUMN inline_data BLOB;   -- the part's encrypted package, NULL when in a blob
`;

// Version 6: object_parts becomes an ordinary (rowid) table. WITHOUT ROWID keeps whole rows in the primary key's
// B-tree, which SQLite recommends only for rows far smaller than a page; an inline part's row holds its package
// (a 4 KiB object's is 4,128 bytes), which then spilled into overflow pages chained from a tree of few rows per
// page. Measured on this kind of machine with writes interleaved: reading a 4 KiB object's part row took 2-3x as
// long as from a rowid table, the write ~1.5x. (object_id, number) stays unique and is the lookup index.
const SCHEMA_V6 = `
CREATE TABLE object_parts_v6 (
  object_id   INTEGER NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
  number      INTEGER NOT NULL,
  plain_size  INTEGER NOT NULL,
  enc_size    INTEGER NOT NULL,
  etag        TEXT NOT NULL,
  data_id     TEXT NOT NULL UNIQUE,
  extra       TEXT,                         -- JSON, opaque
  inline_data BLOB,                         -- the part's encrypted package, NULL when in a blob
  UNIQUE (object_id, number)
) STRICT;
INSERT INTO object_parts_v6 (object_id, number, plain_size, enc_size, etag, data_id, extra, inline_data)
  SELECT object_id, number, plain_size, enc_size, etag, data_id, extra, inline_data FROM object_parts ORDER BY object_id, number;
DROP TABLE object_parts;
ALTER TABLE object_parts_v6 RENAME TO object_parts;
`;

// Version 7: an overwrite of a key's latest object updates its row in place (same id, so no index entry moves)
// instead of deleting it and inserting another. The per-mode totals then follow any change of mode or size on
// an update, not only a change of mode (sse_totals_rekey): subtract the old row, add the new one.
const SCHEMA_V7 = `
DROP TRIGGER sse_totals_rekey;
CREATE TRIGGER sse_totals_update AFTER UPDATE OF sse, size, stored_size ON objects
  WHEN OLD.delete_marker = 0 AND (OLD.size IS NOT NEW.size OR OLD.stored_size IS NOT NEW.stored_size
    OR coalesce(json_extract(OLD.sse, '$.sse'), 'unknown') IS NOT coalesce(json_extract(NEW.sse, '$.sse'), 'unknown'))
BEGIN
  UPDATE sse_totals SET objects = objects - 1, plain_bytes = plain_bytes - OLD.size, stored_bytes = stored_bytes - OLD.stored_size
    WHERE bucket = OLD.bucket AND sse = coalesce(json_extract(OLD.sse, '$.sse'), 'unknown');
  INSERT INTO sse_totals (bucket, sse, objects, plain_bytes, stored_bytes)
    VALUES (NEW.bucket, coalesce(json_extract(NEW.sse, '$.sse'), 'unknown'), 1, NEW.size, NEW.stored_size)
    ON CONFLICT (bucket, sse) DO UPDATE SET objects = objects + 1, plain_bytes = plain_bytes + excluded.plain_bytes,
      stored_bytes = stored_bytes + excluded.stored_bytes;
END;
`;

/** Each step takes meta.db from the version before it to its own; a new database runs them all. */
export const STEPS: readonly string[] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7];

export function migrate(db: Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new Error(`meta.db has schema version ${version}, this kesgate knows ${SCHEMA_VERSION}: use a matching kesgate release`);
  }
  // Foreign keys are off while the steps run (a table rebuild must not cascade), and checked before the commit.
  db.pragma('foreign_keys = OFF');
  db.transaction(() => {
    for (const step of STEPS.slice(version)) db.exec(step);
    const broken = db.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) throw new Error(`meta.db migration left ${broken.length} rows with a broken reference`);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
