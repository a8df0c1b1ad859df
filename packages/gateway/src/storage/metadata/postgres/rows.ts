// Row shapes of the PostgreSQL metadata schema beyond the shared ones (rows.ts one level up): an object row
// read with its parts aggregated, and the parameters writes bind. bigint columns arrive as numbers (see
// database.ts).
import type { ObjectRecord, PartRecord } from '../../types.js';
import type { ObjectVersion } from '../../types.js';
import {
  jsonOrNull,
  objectRecord as recordOfRow,
  objectVersion as versionOfRow,
  tagsOrNull,
  type ObjectRow as ObjectColumns,
  type PartRow,
} from '../rows.js';

export * from '../rows.js';

export interface ObjectRow extends ObjectColumns {
  /** json_agg of the object's part rows in number order (null when none). */
  parts: PartRow[] | null;
}

/**
 * The columns of an object row with its parts as one JSON array, for `FROM objects o`. An inline part's bytes go
 * into the JSON as encode(…, 'hex'): a bytea turned into JSON follows the server's bytea_output, and a database
 * or role set to 'escape' would otherwise hand every inline object back in a format nothing here reads.
 */
export const OBJECT_COLUMNS = `o.*, (SELECT json_agg(json_build_object('number', p.number, 'plain_size', p.plain_size,
    'enc_size', p.enc_size, 'etag', p.etag, 'data_id', p.data_id, 'extra', p.extra, 'inline_data', encode(p.inline_data, 'hex'))
    ORDER BY p.number) FROM object_parts p WHERE p.object_id = o.id) AS parts`;

export function objectRecord(row: ObjectRow): ObjectRecord {
  return recordOfRow(row, row.parts ?? []);
}

export function objectVersion(row: ObjectRow): ObjectVersion {
  return versionOfRow(row, row.parts ?? []);
}

/** The parameters of an object row, in OBJECT_WRITE_COLUMNS order. */
export function objectParams(record: ObjectRecord): unknown[] {
  return [
    record.bucket,
    record.key,
    record.versionId,
    true,
    false,
    record.revision,
    record.size,
    record.parts.reduce((sum, part) => sum + part.encSize, 0),
    record.etag,
    record.lastModified.getTime(),
    record.contentType ?? null,
    JSON.stringify(record.userMetadata),
    JSON.stringify(record.standardHeaders),
    jsonOrNull(record.checksum),
    JSON.stringify(record.sse),
    tagsOrNull(record.tags),
  ];
}

/** The parameters of a delete marker's row, in OBJECT_WRITE_COLUMNS order. */
export function markerParams(bucket: string, key: string, versionId: string, revision: string, lastModified: Date): unknown[] {
  return [bucket, key, versionId, true, true, revision, 0, 0, '', lastModified.getTime(), null, '{}', '{}', null, '{}', null];
}

export const OBJECT_WRITE_COLUMNS = [
  'bucket',
  'key',
  'version_id',
  'is_latest',
  'delete_marker',
  'revision',
  'size',
  'stored_size',
  'etag',
  'last_modified',
  'content_type',
  'user_metadata',
  'standard_headers',
  'checksum',
  'sse',
  'tags',
] as const;

/** Parts as column arrays for `unnest`: number, plain_size, enc_size, etag, data_id, extra, inline_data. */
export function partArrays(parts: readonly PartRecord[]): unknown[][] {
  return [
    parts.map((p) => p.number),
    parts.map((p) => p.plainSize),
    parts.map((p) => p.encSize),
    parts.map((p) => p.etag),
    parts.map((p) => p.dataId),
    parts.map((p) => jsonOrNull(p.extra)),
    parts.map((p) => p.inline ?? null),
  ];
}
