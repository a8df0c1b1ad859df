// The metadata schema. Keys are TEXT under the default BINARY collation, so SQLite orders them by
// UTF-8 bytes, which is S3's order, and the (bucket, key) indexes serve listing range scans.
import type { Database } from 'better-sqlite3';

export const SCHEMA_VERSION = 2;

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

/** Each step takes meta.db from the version before it to its own; a new database runs them all. */
const STEPS: readonly string[] = [SCHEMA_V1, SCHEMA_V2];

export function migrate(db: Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `meta.db has schema version ${version}, this kesgate knows ${SCHEMA_VERSION}: use a matching kesgate release`,
    );
  }
  db.transaction(() => {
    for (const step of STEPS.slice(version)) db.exec(step);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
