// The PostgreSQL schema of the metadata store and its versioned migrations.
//
// Keys, bucket names and ids are `text COLLATE "C"`: PostgreSQL then compares them by their UTF-8 bytes,
// which is S3's order, and the (bucket, key) indexes serve range scans in that order whatever the
// database's default collation is. JSON fields are `text` (the exact JSON the store was given; jsonb
// would reorder keys and refuse \u0000). Timestamps are bigint milliseconds since the epoch, exact.
//
// Bucket totals live in `bucket_totals`, spread over a few stripe rows per bucket: every write adds its
// delta to one stripe in its own transaction, so stats() sums a handful of rows instead of scanning
// objects, and concurrent writers to one bucket rarely wait on the same row.
import type { Tx } from './database.js';

/** Taken (per database) while migrating, so gateways starting at the same moment migrate one at a time. */
const MIGRATION_LOCK = 0x6b65736761746531n; // 'kesgate1'

const V1 = `
CREATE TABLE buckets (
  name          text COLLATE "C" PRIMARY KEY,
  created_at    bigint NOT NULL,
  encryption    text                          -- JSON BucketEncryption, NULL when none
);

CREATE TABLE bucket_totals (
  bucket               text COLLATE "C" NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
  stripe               smallint NOT NULL,
  objects              bigint NOT NULL DEFAULT 0,
  plain_bytes          bigint NOT NULL DEFAULT 0,
  stored_bytes         bigint NOT NULL DEFAULT 0,
  uploads              bigint NOT NULL DEFAULT 0,
  upload_parts         bigint NOT NULL DEFAULT 0,
  upload_stored_bytes  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, stripe)
);

CREATE TABLE bucket_settings (
  bucket  text COLLATE "C" NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
  name    text COLLATE "C" NOT NULL,
  value   text NOT NULL,                      -- JSON, as the handler gave it
  PRIMARY KEY (bucket, name)
);

CREATE TABLE objects (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bucket            text COLLATE "C" NOT NULL REFERENCES buckets (name),
  key               text COLLATE "C" NOT NULL,
  revision          text NOT NULL,
  size              bigint NOT NULL,
  stored_size       bigint NOT NULL,
  etag              text NOT NULL,
  last_modified     bigint NOT NULL,          -- ms since the epoch
  content_type      text,
  user_metadata     text NOT NULL,            -- JSON
  standard_headers  text NOT NULL,            -- JSON
  checksum          text,                     -- JSON ObjectChecksum
  sse               text NOT NULL,            -- JSON, opaque
  tags              text,                     -- JSON Tag[], NULL when none
  UNIQUE (bucket, key)
);

CREATE TABLE object_parts (
  object_id   bigint NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
  number      integer NOT NULL,
  plain_size  bigint NOT NULL,
  enc_size    bigint NOT NULL,
  etag        text NOT NULL,
  data_id     text COLLATE "C" NOT NULL UNIQUE,
  extra       text,                           -- JSON, opaque
  PRIMARY KEY (object_id, number)
);

CREATE TABLE uploads (
  upload_id           text COLLATE "C" PRIMARY KEY,
  bucket              text COLLATE "C" NOT NULL REFERENCES buckets (name),
  key                 text COLLATE "C" NOT NULL,
  initiated           bigint NOT NULL,
  content_type        text,
  user_metadata       text NOT NULL,
  standard_headers    text NOT NULL,
  checksum_algorithm  text,
  checksum_type       text,
  sse                 text NOT NULL,
  tags                text
);
CREATE UNIQUE INDEX uploads_by_key ON uploads (bucket, key, upload_id);

CREATE TABLE upload_parts (
  upload_id      text COLLATE "C" NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE,
  number         integer NOT NULL,
  plain_size     bigint NOT NULL,
  enc_size       bigint NOT NULL,
  etag           text NOT NULL,
  data_id        text COLLATE "C" NOT NULL UNIQUE,
  extra          text,
  last_modified  bigint NOT NULL,
  PRIMARY KEY (upload_id, number)
);
`;

// Version 2: what the gateways sharing the database coordinate through. Rotation jobs (the job store of
// rotation/, here so that every gateway sees them), named leases with an expiry (one gateway runs a job or
// sweeps at a time), and one presence row per running gateway, refreshed while it runs. Lease expiries and
// presence times are the database's clock (ms since the epoch), never a gateway's.
const V2 = `
CREATE TABLE rotation_jobs (
  id                text COLLATE "C" PRIMARY KEY,
  bucket            text COLLATE "C" NOT NULL,
  prefix            text COLLATE "C" NOT NULL,
  to_key            text NOT NULL,
  from_key          text,
  dry_run           boolean NOT NULL,
  state             text NOT NULL,          -- running, done, failed, cancelled
  target_version    text,
  total             bigint,
  counters          text NOT NULL,          -- JSON JobCounters
  last_key          text COLLATE "C",
  error             text,
  failures          text NOT NULL,          -- JSON ObjectFailure[]
  cancel_requested  boolean NOT NULL DEFAULT false,
  created_at        bigint NOT NULL,        -- ms since the epoch
  finished_at       bigint
);
CREATE INDEX rotation_jobs_newest ON rotation_jobs (created_at DESC, id DESC);
CREATE INDEX rotation_jobs_running ON rotation_jobs (created_at, id) WHERE state = 'running';

CREATE TABLE leases (
  name        text COLLATE "C" PRIMARY KEY,
  holder      text NOT NULL,
  expires_at  bigint NOT NULL             -- ms, database clock
);

CREATE TABLE gateways (
  id          text COLLATE "C" PRIMARY KEY,
  address     text NOT NULL,
  started_at  bigint NOT NULL,            -- ms, the gateway's clock
  last_seen   bigint NOT NULL             -- ms, database clock
);
`;

// Version 3: object versions. A key has one row per version (objects and delete markers), each with its
// version id ('null' for the version written while versioning is off); exactly one is the key's latest. The
// row id orders a key's versions (writers of one key take its advisory lock, so a later commit has a greater
// id). Every object stored before becomes the null version and the latest of its key.
const V3 = `
ALTER TABLE buckets ADD COLUMN versioning text;     -- NULL (never versioned), 'Enabled' or 'Suspended'
ALTER TABLE objects
  ADD COLUMN version_id text COLLATE "C" NOT NULL DEFAULT 'null',
  ADD COLUMN is_latest boolean NOT NULL DEFAULT true,
  ADD COLUMN delete_marker boolean NOT NULL DEFAULT false;
ALTER TABLE objects
  ALTER COLUMN version_id DROP DEFAULT,
  ALTER COLUMN is_latest DROP DEFAULT,
  ALTER COLUMN delete_marker DROP DEFAULT,
  DROP CONSTRAINT objects_bucket_key_key;
CREATE UNIQUE INDEX objects_by_version ON objects (bucket, key, version_id);
CREATE UNIQUE INDEX objects_latest ON objects (bucket, key) WHERE is_latest;
CREATE INDEX objects_listed ON objects (bucket, key) WHERE is_latest AND NOT delete_marker;
CREATE INDEX objects_history ON objects (bucket, key, id DESC);
`;

// Version 4: the totals per SSE mode (the console's objects and bytes by SSE-S3, SSE-KMS, SSE-C), striped and
// counted as bucket_totals are (every stored version, delete markers aside) and written with them, last in a
// writer's transaction. The objects already stored are counted once, here, into stripe 0.
const V4 = `
CREATE TABLE sse_totals (
  bucket        text COLLATE "C" NOT NULL REFERENCES buckets (name) ON DELETE CASCADE,
  stripe        smallint NOT NULL,
  sse           text COLLATE "C" NOT NULL,
  objects       bigint NOT NULL DEFAULT 0,
  plain_bytes   bigint NOT NULL DEFAULT 0,
  stored_bytes  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, stripe, sse)
);
INSERT INTO sse_totals (bucket, stripe, sse, objects, plain_bytes, stored_bytes)
  SELECT bucket, 0, coalesce(sse::jsonb ->> 'sse', 'unknown'), count(*), sum(size), sum(stored_size)
  FROM objects WHERE NOT delete_marker GROUP BY 1, 3;
`;

// Version 5: small objects inline. A part whose encrypted package is at most the gateway's inline threshold
// keeps its bytes (ciphertext, never plaintext) in its row instead of a blob; its data_id names no blob then.
const V5 = `
ALTER TABLE object_parts ADD COLUMN inline_data bytea;   -- the part's encrypted package, NULL when in a blob
`;

// Version 6: inline bytes are ciphertext, which never compresses. The column's default storage (EXTENDED) makes
// PostgreSQL try pglz on every value of more than about 2 KB before moving it out of line, for nothing; EXTERNAL
// moves it out of line (TOAST) as it is. Changes the catalog only: existing values stay as they are.
const V6 = `
ALTER TABLE object_parts ALTER COLUMN inline_data SET STORAGE EXTERNAL;
`;

/** Step n takes the database from version n to n + 1. Never edit a released step: add one. */
export const STEPS: readonly string[] = [V1, V2, V3, V4, V5, V6];

export const SCHEMA_VERSION = STEPS.length;

/**
 * Brings the database to SCHEMA_VERSION, in the caller's transaction, under an advisory lock: a second
 * gateway opening at the same moment waits, then finds the schema done. Each applied version is recorded
 * in metadata_schema_migrations (whose primary key would refuse a step applied twice).
 */
export async function migrate(tx: Tx): Promise<number> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
  await tx.query(
    `CREATE TABLE IF NOT EXISTS metadata_schema_migrations (
       version     integer PRIMARY KEY,
       applied_at  bigint NOT NULL
     )`,
  );
  const current = await schemaVersion(tx);
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `the metadata database has schema version ${current}, this kesgate knows ${SCHEMA_VERSION}: ` +
        'use a kesgate release at least as new as the newest gateway that opened this database',
    );
  }
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    await tx.query(STEPS[version - 1]!);
    await tx.query('INSERT INTO metadata_schema_migrations (version, applied_at) VALUES ($1, $2)', [version, Date.now()]);
  }
  return SCHEMA_VERSION;
}

export const SCHEMA_VERSION_SQL = 'SELECT max(version) AS version FROM metadata_schema_migrations';

async function schemaVersion(tx: Tx): Promise<number> {
  const { rows } = await tx.query<{ version: number | null }>(SCHEMA_VERSION_SQL);
  return rows[0]?.version ?? 0;
}
