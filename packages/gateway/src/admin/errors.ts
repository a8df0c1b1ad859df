// Admin API errors as JSON: `{"error": code, "message": ..., "requestId": ...}` with the right status.
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { S3Error } from '../s3/errors.js';
import { StorageError } from '../storage/errors.js';

/** A refused admin request; the message says what to change. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string): AdminError => new AdminError(400, 'InvalidRequest', message);

/** Errors that carry their own status and a message meant for the caller. */
function known(err: unknown): { status: number; code: string; message: string } | undefined {
  if (err instanceof AdminError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof S3Error) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof StorageError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof Error && typeof (err as { status?: unknown }).status === 'number') {
    const status = (err as Error & { status: number }).status;
    if (status >= 400 && status < 500) return { status, code: err.name, message: err.message };
  }
  return undefined;
}

export function adminErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const requestId = res.locals.requestId as string | undefined;
    const k = known(err);
    if (!k || k.status >= 500)
      logger.error({ err, requestId, method: req.method, path: req.originalUrl.split('?')[0] }, 'admin request failed');
    if (res.headersSent) {
      res.destroy(err instanceof Error ? err : undefined);
      return;
    }
    const body = k ?? { status: 500, code: 'InternalError', message: 'The admin request failed; the gateway log has the details.' };
    res.status(body.status).json({ error: body.code, message: body.message, ...(requestId ? { requestId } : {}) });
  };
}
