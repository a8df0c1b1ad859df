// Key rotation jobs: re-wrap SSE-S3/SSE-KMS objects under a new data key, metadata only.
export { RotationManager, type RotationOptions } from './manager.js';
export type { RotationJob, RotationRequest } from './types.js';
