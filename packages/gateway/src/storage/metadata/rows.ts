// The row shapes both metadata databases share (SQLite and PostgreSQL have one logical schema) and their
// mapping to the storage records; JSON columns are text, parsed here.
import type { ListedVersion } from './types.js';
import type {
  BucketEncryption,
  BucketInfo,
  BucketVersioning,
  DeleteMarker,
  ChecksumAlgorithm,
  ChecksumType,
  ObjectChecksum,
  ObjectRecord,
  ObjectSummary,
  ObjectVersion,
  PartRecord,
  StandardHeaders,
  Tag,
  UploadedPart,
  UploadRecord,
  UploadSummary,
} from '../types.js';
import { parseStoredSSE } from '../sse-record.js';

export interface BucketRow {
  name: string;
  created_at: number;
  encryption: string | null;
  versioning?: string | null;
}

export interface ObjectRow {
  id: number;
  bucket: string;
  key: string;
  version_id: string;
  /** 0/1 in SQLite, a boolean in PostgreSQL. */
  is_latest: number | boolean;
  delete_marker: number | boolean;
  revision: string;
  size: number;
  stored_size: number;
  etag: string;
  last_modified: number;
  content_type: string | null;
  user_metadata: string;
  standard_headers: string;
  checksum: string | null;
  sse: string;
  tags: string | null;
}

export interface PartRow {
  number: number;
  plain_size: number;
  enc_size: number;
  etag: string;
  data_id: string;
  extra: string | null;
  /**
   * An inline part's encrypted package: a Buffer from SQLite, hex text from PostgreSQL's JSON of the parts;
   * null (or not selected, as for upload parts) when the bytes are in a blob.
   */
  inline_data?: Buffer | string | null;
}

export interface UploadPartRow extends PartRow {
  last_modified: number;
}

export interface UploadRow {
  upload_id: string;
  bucket: string;
  key: string;
  initiated: number;
  content_type: string | null;
  user_metadata: string;
  standard_headers: string;
  checksum_algorithm: string | null;
  checksum_type: string | null;
  sse: string;
  tags: string | null;
}

export interface ListedObjectRow {
  key: string;
  size: number;
  etag: string;
  last_modified: number;
  checksum: string | null;
}

export interface ListedVersionRow extends ListedObjectRow {
  id: number;
  version_id: string;
  is_latest: number | boolean;
  delete_marker: number | boolean;
}

export interface ListedUploadRow {
  key: string;
  upload_id: string;
  initiated: number;
}

export function bucketInfo(row: BucketRow): BucketInfo {
  return { name: row.name, createdAt: new Date(row.created_at) };
}

export function bucketEncryption(row: Pick<BucketRow, 'encryption'>): BucketEncryption | undefined {
  return row.encryption === null ? undefined : (JSON.parse(row.encryption) as BucketEncryption);
}

/** The versioning column: NULL for a bucket never versioned. */
export function bucketVersioning(value: string | null | undefined): BucketVersioning {
  return value === 'Enabled' || value === 'Suspended' ? value : 'Unversioned';
}

function partRecord(row: PartRow): PartRecord {
  const part: PartRecord = {
    number: row.number,
    plainSize: row.plain_size,
    encSize: row.enc_size,
    etag: row.etag,
    dataId: row.data_id,
  };
  if (row.extra !== null) part.extra = JSON.parse(row.extra) as Record<string, unknown>;
  if (row.inline_data !== undefined && row.inline_data !== null) part.inline = inlineBytes(row.inline_data);
  return part;
}

/** Inline bytes arrive as a Buffer from a column, as hex text (encode(…, 'hex')) from PostgreSQL's JSON of the parts. */
function inlineBytes(value: Buffer | string): Buffer {
  if (typeof value !== 'string') return value;
  if (value.length % 2 !== 0 || !/^[0-9a-f]*$/.test(value)) throw new Error("an inline part's data is neither bytes nor hex");
  return Buffer.from(value, 'hex');
}

export function uploadedPart(row: UploadPartRow): UploadedPart {
  return { ...partRecord(row), lastModified: new Date(row.last_modified) };
}

export function objectRecord(row: ObjectRow, parts: PartRow[]): ObjectRecord {
  const record: ObjectRecord = {
    bucket: row.bucket,
    key: row.key,
    versionId: row.version_id,
    revision: row.revision,
    size: row.size,
    etag: row.etag,
    lastModified: new Date(row.last_modified),
    userMetadata: JSON.parse(row.user_metadata) as Record<string, string>,
    standardHeaders: JSON.parse(row.standard_headers) as StandardHeaders,
    sse: parseStoredSSE(row.sse, `object ${row.bucket}/${row.key} (version ${row.version_id})`),
    parts: parts.map(partRecord),
  };
  if (row.content_type !== null) record.contentType = row.content_type;
  if (row.checksum !== null) record.checksum = JSON.parse(row.checksum) as ObjectChecksum;
  if (row.tags !== null) record.tags = JSON.parse(row.tags) as Tag[];
  return record;
}

/** A stored version: a delete marker, or an object with its parts. */
export function objectVersion(row: ObjectRow, parts: PartRow[]): ObjectVersion {
  if (row.delete_marker === 1 || row.delete_marker === true) {
    const marker: DeleteMarker = {
      bucket: row.bucket,
      key: row.key,
      versionId: row.version_id,
      deleteMarker: true,
      lastModified: new Date(row.last_modified),
    };
    return marker;
  }
  return objectRecord(row, parts);
}

export function listedVersion(row: ListedVersionRow): ListedVersion {
  return {
    ...objectSummary(row),
    versionId: row.version_id,
    seq: row.id,
    isLatest: row.is_latest === 1 || row.is_latest === true,
    deleteMarker: row.delete_marker === 1 || row.delete_marker === true,
  };
}

export function objectSummary(row: ListedObjectRow): ObjectSummary {
  const summary: ObjectSummary = {
    key: row.key,
    size: row.size,
    etag: row.etag,
    lastModified: new Date(row.last_modified),
  };
  if (row.checksum !== null) {
    const checksum = JSON.parse(row.checksum) as ObjectChecksum;
    summary.checksumAlgorithm = checksum.algorithm;
    summary.checksumType = checksum.type;
  }
  return summary;
}

export function uploadRecord(row: UploadRow): UploadRecord {
  const upload: UploadRecord = {
    bucket: row.bucket,
    key: row.key,
    uploadId: row.upload_id,
    initiated: new Date(row.initiated),
    userMetadata: JSON.parse(row.user_metadata) as Record<string, string>,
    standardHeaders: JSON.parse(row.standard_headers) as StandardHeaders,
    sse: parseStoredSSE(row.sse, `multipart upload ${row.upload_id} of ${row.bucket}/${row.key}`),
  };
  if (row.content_type !== null) upload.contentType = row.content_type;
  if (row.checksum_algorithm !== null) upload.checksumAlgorithm = row.checksum_algorithm as ChecksumAlgorithm;
  if (row.checksum_type !== null) upload.checksumType = row.checksum_type as ChecksumType;
  if (row.tags !== null) upload.tags = JSON.parse(row.tags) as Tag[];
  return upload;
}

export function uploadSummary(row: ListedUploadRow): UploadSummary {
  return { key: row.key, uploadId: row.upload_id, initiated: new Date(row.initiated) };
}

export function jsonOrNull(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** An empty tag set is stored as none, so both read back as absent. */
export function tagsOrNull(tags: readonly Tag[] | undefined): string | null {
  return tags === undefined || tags.length === 0 ? null : JSON.stringify(tags);
}
