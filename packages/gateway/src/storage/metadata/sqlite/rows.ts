// Row shapes of meta.db and their mapping to and from the storage records.
import type {
  BucketEncryption,
  BucketInfo,
  ChecksumAlgorithm,
  ChecksumType,
  ObjectChecksum,
  ObjectRecord,
  ObjectSummary,
  PartRecord,
  StandardHeaders,
  Tag,
  UploadedPart,
  UploadRecord,
  UploadSummary,
} from '../../types.js';

export interface BucketRow {
  name: string;
  created_at: number;
  encryption: string | null;
}

export interface ObjectRow {
  id: number;
  bucket: string;
  key: string;
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

export interface ListedUploadRow {
  key: string;
  upload_id: string;
  initiated: number;
}

export function bucketInfo(row: BucketRow): BucketInfo {
  return { name: row.name, createdAt: new Date(row.created_at) };
}

export function bucketEncryption(row: BucketRow): BucketEncryption | undefined {
  return row.encryption === null ? undefined : (JSON.parse(row.encryption) as BucketEncryption);
}

export function partRecord(row: PartRow): PartRecord {
  const part: PartRecord = {
    number: row.number,
    plainSize: row.plain_size,
    encSize: row.enc_size,
    etag: row.etag,
    dataId: row.data_id,
  };
  if (row.extra !== null) part.extra = JSON.parse(row.extra) as Record<string, unknown>;
  return part;
}

export function uploadedPart(row: UploadPartRow): UploadedPart {
  return { ...partRecord(row), lastModified: new Date(row.last_modified) };
}

export function objectRecord(row: ObjectRow, parts: PartRow[]): ObjectRecord {
  const record: ObjectRecord = {
    bucket: row.bucket,
    key: row.key,
    revision: row.revision,
    size: row.size,
    etag: row.etag,
    lastModified: new Date(row.last_modified),
    userMetadata: JSON.parse(row.user_metadata) as Record<string, string>,
    standardHeaders: JSON.parse(row.standard_headers) as StandardHeaders,
    sse: JSON.parse(row.sse) as Record<string, unknown>,
    parts: parts.map(partRecord),
  };
  if (row.content_type !== null) record.contentType = row.content_type;
  if (row.checksum !== null) record.checksum = JSON.parse(row.checksum) as ObjectChecksum;
  if (row.tags !== null) record.tags = JSON.parse(row.tags) as Tag[];
  return record;
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
    sse: JSON.parse(row.sse) as Record<string, unknown>,
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

/** The columns of a new object row (all but its rowid). */
export function objectInsert(object: ObjectRecord): Omit<ObjectRow, 'id'> {
  return {
    bucket: object.bucket,
    key: object.key,
    revision: object.revision,
    size: object.size,
    stored_size: storedSize(object.parts),
    etag: object.etag,
    last_modified: object.lastModified.getTime(),
    content_type: object.contentType ?? null,
    user_metadata: JSON.stringify(object.userMetadata),
    standard_headers: JSON.stringify(object.standardHeaders),
    checksum: jsonOrNull(object.checksum),
    sse: JSON.stringify(object.sse),
    tags: tagsOrNull(object.tags),
  };
}

export function uploadInsert(upload: UploadRecord): UploadRow {
  return {
    upload_id: upload.uploadId,
    bucket: upload.bucket,
    key: upload.key,
    initiated: upload.initiated.getTime(),
    content_type: upload.contentType ?? null,
    user_metadata: JSON.stringify(upload.userMetadata),
    standard_headers: JSON.stringify(upload.standardHeaders),
    checksum_algorithm: upload.checksumAlgorithm ?? null,
    checksum_type: upload.checksumType ?? null,
    sse: JSON.stringify(upload.sse),
    tags: tagsOrNull(upload.tags),
  };
}

/** A part row, owned by an object (rowid) or an upload (id). */
export function partInsert(owner: number | string, part: PartRecord): PartRow & { owner: number | string } {
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

export function storedSize(parts: readonly { encSize: number }[]): number {
  return parts.reduce((sum, part) => sum + part.encSize, 0);
}

export function jsonOrNull(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

/** An empty tag set is stored as none, so both read back as absent. */
export function tagsOrNull(tags: readonly Tag[] | undefined): string | null {
  return tags === undefined || tags.length === 0 ? null : JSON.stringify(tags);
}
