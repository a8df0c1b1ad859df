import { S3Error } from './errors.js';

/**
 * The storage classes a write may ask for. The gateway has one tier and lists every object as STANDARD;
 * REDUCED_REDUNDANCY is taken as STANDARD, as MinIO does. Any other class (STANDARD_IA, GLACIER, …) would
 * promise a cost or retrieval model this gateway does not have, so it is refused rather than ignored.
 */
const ACCEPTED: ReadonlySet<string> = new Set(['STANDARD', 'REDUCED_REDUNDANCY']);

/** Operations whose `x-amz-storage-class` (header, or POST form field) says where the new object goes. */
export const WRITES_WITH_STORAGE_CLASS: ReadonlySet<string> = new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload', 'PostObject']);

/** `x-amz-storage-class` of a write → 400 InvalidStorageClass unless it is one this gateway stores. */
export function checkStorageClass(value: string | undefined): void {
  if (value === undefined || ACCEPTED.has(value)) return;
  throw new S3Error(
    'InvalidStorageClass',
    `The storage class you specified is not valid: "${value.slice(0, 64)}". This gateway stores objects as STANDARD (REDUCED_REDUNDANCY is accepted as STANDARD).`,
  );
}
