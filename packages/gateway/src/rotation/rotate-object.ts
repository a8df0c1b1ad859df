// Rotation of one object or unfinished multipart upload: re-read, decide, re-wrap its object key under the
// target master key, and store the new SSE fields with a compare-and-swap on what was read. Object data is
// never touched. An upload is rotated too: its parts are sealed under the upload's object key, and the object
// it completes into takes the upload's SSE fields, so an upload left under the old key would become an
// object the old key's deletion makes unreadable.
import { S3Error } from '../s3/errors.js';
import type { ObjectEncryption } from '../sse/encryption.js';
import type { StoredSSE } from '../sse/types.js';
import { NoSuchKey, NoSuchUpload, NoSuchVersion, PreconditionFailed, type ObjectStore, type UploadRef } from '../storage/index.js';
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

/** What was read of the thing to rotate, and how to store new fields if it is still as read. */
interface Read {
  sse: StoredSSE;
  write(next: StoredSSE): Promise<unknown>;
}

async function rotate(
  ctx: ObjectRotation,
  path: { bucket: string; key: string },
  read: () => Promise<Read | undefined>,
): Promise<ObjectOutcome> {
  let retries = 0;
  let current = await read();
  // One re-read when it changed between reading and writing; a second change is reported as failed.
  for (let reread = 0; ; reread++) {
    if (!current) return { result: 'skipped', reason: 'gone', retries };
    const decision = decide(current.sse, ctx.enc.mode(current.sse.sse), ctx.target, ctx.fromKey);
    if (decision.action === 'skip') return { result: 'skipped', reason: decision.reason, retries };
    if (decision.action === 'fail') return { result: 'failed', error: decision.error, retries };
    if (ctx.dryRun) return { result: 'rotated', retries };
    try {
      const next = await withRetries(
        async () =>
          ctx.enc.rewrap(decision.sse, path, ctx.target.key, ctx.target.version, await ctx.store.getBucketEncryption(path.bucket)),
        ctx.retry,
        () => retries++,
        ctx.stopped,
      );
      await current.write(next);
      return { result: 'rotated', retries };
    } catch (err) {
      if (err instanceof NoSuchKey || err instanceof NoSuchVersion || err instanceof NoSuchUpload)
        return { result: 'skipped', reason: 'gone', retries };
      if (err instanceof PreconditionFailed && reread === 0) {
        current = await read();
        continue;
      }
      return { result: 'failed', error: describeError(err), retries };
    }
  }
}

/** One version of an object (the latest when `versionId` is undefined); a delete marker has no key to rotate. */
export function rotateObject(ctx: ObjectRotation, bucket: string, key: string, versionId?: string): Promise<ObjectOutcome> {
  return rotate(ctx, { bucket, key }, async () => {
    const { version } = await ctx.store.getVersion(bucket, key, versionId);
    if (!version || version.deleteMarker) return undefined;
    return { sse: version.sse, write: (next) => ctx.store.updateObjectSSE(bucket, key, version.revision, { ...next }, version.versionId) };
  });
}

export function rotateUpload(ctx: ObjectRotation, ref: UploadRef): Promise<ObjectOutcome> {
  return rotate(ctx, ref, async () => {
    try {
      const upload = await ctx.store.getUpload(ref);
      return { sse: upload.sse, write: (next) => ctx.store.updateUploadSSE(ref, upload.sse, { ...next }) };
    } catch (err) {
      if (err instanceof NoSuchUpload) return undefined;
      throw err;
    }
  });
}
