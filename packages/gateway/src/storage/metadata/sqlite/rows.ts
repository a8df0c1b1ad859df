// Row shapes of meta.db beyond the shared ones (rows.ts one level up): what an insert writes.
import type { ObjectRecord, PartRecord, UploadRecord } from '../../types.js';
import { jsonOrNull, tagsOrNull, type ObjectRow, type PartRow, type UploadRow } from '../rows.js';

export * from '../rows.js';

/** The columns of a new object row (all but its rowid). */
export function objectInsert(object: ObjectRecord): Omit<ObjectRow, 'id'> {
  return {
    bucket: object.bucket,
    key: object.key,
    version_id: object.versionId,
    is_latest: 1,
    delete_marker: 0,
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

/** A delete marker's row: no data, no metadata. */
export function markerInsert(bucket: string, key: string, versionId: string, revision: string, lastModified: Date): Omit<ObjectRow, 'id'> {
  return {
    bucket,
    key,
    version_id: versionId,
    is_latest: 1,
    delete_marker: 1,
    revision,
    size: 0,
    stored_size: 0,
    etag: '',
    last_modified: lastModified.getTime(),
    content_type: null,
    user_metadata: '{}',
    standard_headers: '{}',
    checksum: null,
    sse: '{}',
    tags: null,
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

/** An object's part row: a part row and, for an inline part, its encrypted bytes. */
export function objectPartInsert(objectId: number, part: PartRecord): PartRow & { owner: number; inline_data: Buffer | null } {
  return { ...partInsert(objectId, part), owner: objectId, inline_data: part.inline ?? null };
}

export function storedSize(parts: readonly { encSize: number }[]): number {
  return parts.reduce((sum, part) => sum + part.encSize, 0);
}
