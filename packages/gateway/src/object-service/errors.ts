import { ErrInvalidPartNumber, ErrInvalidRange, ErrTampered, SSEError } from '@kesgate/dare';
import { S3Error, S3_ERRORS, type S3ErrorCode } from '../s3/errors.js';
import { objectTampered } from '../sse/kms-backed.js';
import { isOutOfSpace, StorageError, StorageFull } from '../storage/errors.js';

/** Any error of the layers below (storage, sse format) as the S3 error a client should see. */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  // A full disk is the same condition whichever file (data, SQLite) met it first.
  if (!(err instanceof StorageError) && isOutOfSpace(err)) err = new StorageFull(err);
  if (err instanceof StorageError) {
    const code = (err.code in S3_ERRORS ? err.code : 'InternalError') as S3ErrorCode;
    return new S3Error(code, code === 'InternalError' ? undefined : err.message, { cause: err });
  }
  if (err instanceof ErrInvalidRange) {
    const size = err.size;
    return new S3Error('InvalidRange', undefined, {
      cause: err,
      ...(size !== undefined ? { extra: { ActualObjectSize: String(size) } } : {}),
    });
  }
  if (err instanceof ErrInvalidPartNumber) return new S3Error('InvalidPartNumber', undefined, { cause: err });
  if (err instanceof ErrTampered) return objectTampered('the object data failed authentication', err);
  if (err instanceof SSEError) return new S3Error('InternalError', undefined, { cause: err });
  return new S3Error('InternalError', undefined, { cause: err });
}
