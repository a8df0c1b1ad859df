// Key rotation jobs: re-wrap SSE-S3/SSE-KMS objects under a new data key, metadata only.
export { RotationManager, RotationConflict, UnknownJob, type RotationOptions } from './manager.js';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export type { RotationJob, RotationRequest, JobCounters, JobState, SkipReason, ObjectFailure } from './types.js';
