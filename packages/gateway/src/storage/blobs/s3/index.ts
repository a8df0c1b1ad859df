// The s3 blob store: blobs in an upstream S3-compatible bucket (MinIO, Ceph RGW, AWS S3, a second kesgate, …).
export { S3BlobStore } from './s3-blob-store.js';
export type { S3BlobStoreOptions, S3BlobTuning } from './client.js';
export { BlobUpstreamError } from './errors.js';
export { PART_SIZE } from './writer.js';
