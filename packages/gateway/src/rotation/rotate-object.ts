// Rotation of one object: re-read, decide, re-wrap its object key under the target master key, and
// store the new SSE fields with a compare-and-swap on the revision read. Object data is never touched.
import { S3Error } from '../s3/errors.js';
import type { ObjectEncryption } from '../sse/encryption.js';
import { NoSuchKey, PreconditionFailed, type ObjectRecord, type ObjectStore } from '../storage/index.js';
import { decide, type RotationTarget } from './plan.js';
import { withRetries, type RetryPolicy } from './retry.js';
import type { ObjectOutcome } from './types.js';

export interface ObjectRotation {
  store: ObjectStore;
  enc: ObjectEncryption;
  target: RotationTarget;
  fromKey?: string;
  dryRun: boolean;
  retry: RetryPolicy;
  /** True once the job is being stopped: no more waiting between retries. */
  stopped(): boolean;
}

/** A failure reason fit for an operator: the S3 error code and message, never a stack or key material. */
export function describeError(err: unknown): string {
  if (err instanceof S3Error) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

export async function rotateObject(ctx: ObjectRotation, bucket: string, key: string): Promise<ObjectOutcome> {
  let retries = 0;
  let record: ObjectRecord | undefined = await ctx.store.getObject(bucket, key);
  // One re-read when the object changed between reading and writing; a second change is reported as failed.
  for (let reread = 0; ; reread++) {
    if (!record) return { result: 'skipped', reason: 'gone', retries };
    const decision = decide(record.sse, ctx.target, ctx.fromKey);
    if (decision.action === 'skip') return { result: 'skipped', reason: decision.reason, retries };
    if (decision.action === 'fail') return { result: 'failed', error: decision.error, retries };
    if (ctx.dryRun) return { result: 'rotated', retries };
    try {
      const current = record;
      const next = await withRetries(
        () => ctx.enc.rewrap(decision.sse, { bucket, key }, ctx.target.key),
        ctx.retry,
        () => retries++,
        ctx.stopped,
      );
      await ctx.store.updateObjectSSE(bucket, key, current.revision, { ...next });
      return { result: 'rotated', retries };
    } catch (err) {
      if (err instanceof NoSuchKey) return { result: 'skipped', reason: 'gone', retries };
      if (err instanceof PreconditionFailed && reread === 0) {
        record = await ctx.store.getObject(bucket, key);
        continue;
      }
      return { result: 'failed', error: describeError(err), retries };
    }
  }
}
