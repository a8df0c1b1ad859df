// Typed storage errors. Each carries the S3 error code and HTTP status it stands for, so the
// handler layer maps them 1:1 without knowing the backend.

export abstract class StorageError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class NoSuchBucket extends StorageError {
  readonly code = 'NoSuchBucket';
  readonly status = 404;
  constructor(readonly bucket: string) {
    super(`The specified bucket does not exist: ${bucket}`);
  }
}

export class NoSuchKey extends StorageError {
  readonly code = 'NoSuchKey';
  readonly status = 404;
  constructor(
    readonly bucket: string,
    readonly key: string,
  ) {
    super(`The specified key does not exist: ${key}`);
  }
}

export class BucketNotEmpty extends StorageError {
  readonly code = 'BucketNotEmpty';
  readonly status = 409;
  constructor(readonly bucket: string) {
    super(`The bucket you tried to delete is not empty: ${bucket}`);
  }
}

/**
 * Creating a bucket that exists. Every bucket of a gateway belongs to the same account, so the code
 * is S3's `BucketAlreadyOwnedByYou` (what MinIO answers too; rclone and others treat it as "done").
 */
export class BucketAlreadyExists extends StorageError {
  readonly code = 'BucketAlreadyOwnedByYou';
  readonly status = 409;
  constructor(readonly bucket: string) {
    super(`The bucket already exists and is owned by you: ${bucket}`);
  }
}

export class NoSuchUpload extends StorageError {
  readonly code = 'NoSuchUpload';
  readonly status = 404;
  constructor(readonly uploadId: string) {
    super(`The specified multipart upload does not exist (it may have been aborted or completed): ${uploadId}`);
  }
}

/** A part listed in CompleteMultipartUpload was not uploaded, or its ETag does not match. */
export class InvalidPart extends StorageError {
  readonly code = 'InvalidPart';
  readonly status = 400;
}

/** The parts listed in CompleteMultipartUpload are not in ascending order of part number. */
export class InvalidPartOrder extends StorageError {
  readonly code = 'InvalidPartOrder';
  readonly status = 400;
  constructor() {
    super('The list of parts was not in ascending order; parts must be ordered by part number');
  }
}

/** A compare-and-swap or conditional write found the object changed (or present/absent). */
export class PreconditionFailed extends StorageError {
  readonly code = 'PreconditionFailed';
  readonly status = 412;
}

/** A malformed argument: a continuation token this store did not issue, a key that is not valid UTF-8, … */
export class InvalidArgument extends StorageError {
  readonly code = 'InvalidArgument';
  readonly status = 400;
}

export class KeyTooLong extends StorageError {
  readonly code = 'KeyTooLongError';
  readonly status = 400;
  constructor(readonly byteLength: number) {
    super(`Your key is too long: ${byteLength} bytes in UTF-8, the limit is 1024`);
  }
}

/**
 * The data file of a part is gone or shorter than its metadata says: either the object was
 * overwritten or deleted between reading its metadata and opening its data (re-read the object),
 * or the data directory was damaged.
 */
export class DataUnavailable extends StorageError {
  readonly code = 'InternalError';
  readonly status = 500;
  constructor(
    readonly dataId: string,
    reason: string,
  ) {
    super(`Object data ${dataId} is unavailable: ${reason}`);
  }
}

/**
 * The backend is out of space (or quota): nothing of the write was committed, and writes work again once
 * space is freed. MinIO's code and message, which S3 tools know; the status (507) is not one clients retry.
 */
export class StorageFull extends StorageError {
  readonly code = 'XMinioStorageFull';
  readonly status = 507;
  constructor(cause?: unknown) {
    super('Storage backend has reached its minimum free drive threshold. Please delete a few objects to proceed.');
    if (cause !== undefined) this.cause = cause;
  }
}

/** Error codes that mean "no space left": from the data files (ENOSPC, EDQUOT) or SQLite (SQLITE_FULL). */
const OUT_OF_SPACE = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** Whether `err` (or an error it was caused by) says the backend's disk or quota is full. */
export function isOutOfSpace(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && OUT_OF_SPACE.has(code)) return true;
  }
  return false;
}

/** Opening an embedded metadata store (its directory) that another process holds. Not an S3 error: raised at startup only. */
export class DataDirInUse extends Error {
  constructor(readonly path: string) {
    super(
      `The data directory ${path} is in use by another kesgate process (its SQLite metadata is locked). ` +
        'Only one gateway process may use an embedded SQLite metadata store; stop the other process, or put the metadata in PostgreSQL (backend.metadata.postgres) to run several gateways.',
    );
    this.name = 'DataDirInUse';
  }
}

/**
 * A database or upstream store the backend depends on is down, unreachable, throttling or too slow, after
 * bounded retries. Nothing was committed (or the commit's outcome is unknown, and the write may be retried).
 * Retryable: S3 clients retry 503 ServiceUnavailable and SlowDown with backoff. The message a client sees
 * names the part ("the metadata database", "the blob store"), never its address or a credential; `detail`
 * (the endpoint, the failed request) and `cause` (the driver's error) are for the log.
 */
export class BackendUnavailable extends StorageError {
  readonly status = 503;
  readonly code: 'ServiceUnavailable' | 'SlowDown';
  readonly detail?: string;
  constructor(what: string, options: { cause?: unknown; slowDown?: boolean; detail?: string } = {}) {
    const What = `${what.charAt(0).toUpperCase()}${what.slice(1)}`;
    super(
      options.slowDown
        ? `${What} asked to slow down; please retry`
        : `${What} is unavailable (down, unreachable or too slow); please retry`,
    );
    this.code = options.slowDown ? 'SlowDown' : 'ServiceUnavailable';
    if (options.detail !== undefined) this.detail = options.detail;
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/** A version id the key does not have (a well-formed one: a malformed id is InvalidArgument). */
export class NoSuchVersion extends StorageError {
  readonly code = 'NoSuchVersion';
  readonly status = 404;
  constructor(
    readonly key: string,
    readonly versionId: string,
  ) {
    super(`The specified version does not exist: ${versionId} of ${key}`);
  }
}
