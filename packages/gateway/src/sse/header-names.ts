// The SSE request headers the modes share (each mode's own are in its file: the SSE-C triple in sse-c.ts).
export const SSE = 'x-amz-server-side-encryption';
export const KMS_KEY_ID = 'x-amz-server-side-encryption-aws-kms-key-id';
export const KMS_CONTEXT = 'x-amz-server-side-encryption-context';
export const BUCKET_KEY = 'x-amz-server-side-encryption-bucket-key-enabled';
