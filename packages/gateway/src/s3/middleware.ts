// Express glue for the S3 protocol layer: request ids, SigV4 authentication, S3 error rendering.
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { type AuthenticatorOptions, RequestAuthenticator } from './auth/authenticate.js';
import type { AuthResult } from './auth/sigv4.js';
import { renderError, S3Error } from './errors.js';
import { discardRefusedBody } from './refused-body.js';
import { newHostId, newRequestId } from './request-ids.js';

export { bodyStream, readBody } from './body.js';

/** What sigv4Auth puts on `res.locals.auth`. */
export function authOf(res: Response): AuthResult {
  const auth = res.locals.auth as AuthResult | undefined;
  if (!auth) throw new Error('res.locals.auth is not set: sigv4Auth() must run before this handler');
  return auth;
}

/** Gives every request an `x-amz-request-id` (and `x-amz-id-2`), kept in `res.locals.requestId`. */
export function requestIds(): RequestHandler {
  return (_req, res, next) => {
    const requestId = newRequestId();
    const hostId = newHostId();
    res.locals.requestId = requestId;
    res.locals.hostId = hostId;
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', hostId);
    next();
  };
}

/**
 * Refuses requests whose header section (names, values and their separators, as received) exceeds
 * `maxBytes` with RequestHeaderSectionTooLarge; AWS allows 8 KiB. Node itself answers 431 beyond
 * its own limit (16 KiB by default).
 */
export function headerSectionLimit(maxBytes = 8192): RequestHandler {
  return (req, _res, next) => {
    let size = 0;
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      size += Buffer.byteLength(req.rawHeaders[i]!, 'latin1') + Buffer.byteLength(req.rawHeaders[i + 1] ?? '', 'latin1') + 4;
    }
    if (size > maxBytes) {
      next(
        new S3Error('RequestHeaderSectionTooLarge', `Your request header section is ${size} bytes; the maximum allowed is ${maxBytes}.`, {
          extra: { MaxSizeAllowed: String(maxBytes) },
        }),
      );
      return;
    }
    next();
  };
}

export interface Sigv4AuthOptions extends AuthenticatorOptions {
  /** Requests that need no signature (e.g. a health check); by default every request is verified. */
  skip?: (req: Request) => boolean;
}

/**
 * Verifies the signature — SigV4 or SigV2, header or presigned URL — and puts the result on
 * `res.locals.auth`. A browser form POST passes without it: the PostObject handler verifies its form.
 */
export function sigv4Auth(options: Sigv4AuthOptions): RequestHandler {
  const authenticator = new RequestAuthenticator(options);
  return (req, res, next) => {
    if (options.skip?.(req)) {
      next();
      return;
    }
    try {
      const auth = authenticator.authenticate({ method: req.method, url: req.originalUrl, headers: req.headersDistinct });
      if (auth) res.locals.auth = auth;
      // Signed headers a presigned URL carries in its query apply as headers (a header sent too wins).
      for (const [name, value] of Object.entries(auth?.queryHeaders ?? {})) req.headers[name] ??= value;
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** Minimal logger shape (pino fits). */
export interface ErrorLogger {
  error(obj: object, msg?: string): void;
}

function resourceOf(req: Request): string {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  const path = q >= 0 ? url.slice(0, q) : url;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Renders S3Error as AWS does (status, XML body; no body for HEAD and 304). Any other error becomes
 * a 500 InternalError whose details go to the log only, never to the client.
 */
export function errorHandler(logger?: ErrorLogger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const requestId = (res.locals.requestId as string | undefined) ?? newRequestId();
    let s3: S3Error;
    if (err instanceof S3Error) {
      s3 = err;
    } else {
      const status =
        (err as { status?: unknown; statusCode?: unknown } | null)?.status ?? (err as { statusCode?: unknown } | null)?.statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        // express's own client errors (e.g. a malformed URL parameter)
        s3 = new S3Error('InvalidRequest', 'The request could not be parsed.');
      } else {
        logger?.error({ err, requestId, method: req.method, url: resourceOf(req) }, 'request failed');
        s3 = new S3Error('InternalError');
      }
    }
    if (s3.status >= 500 && err instanceof S3Error && !err.outage)
      logger?.error({ err, requestId, method: req.method, url: resourceOf(req) }, 'request failed');

    if (res.headersSent) {
      // Too late for an error document: cut the response so the client sees it is incomplete.
      res.destroy(err instanceof Error ? err : undefined);
      return;
    }
    s3.resource ??= resourceOf(req);
    res.status(s3.status);
    if (!res.getHeader('x-amz-request-id')) res.setHeader('x-amz-request-id', requestId);
    for (const [name, value] of Object.entries(s3.headers ?? {})) res.setHeader(name, value);
    // A refused upload's client must see this answer, not a reset: its unread body is discarded (bounded).
    if (!req.complete) discardRefusedBody(req, res);
    if (req.method === 'HEAD' || s3.status === 304) {
      res.end();
      return;
    }
    // res.end rather than res.send: no weak ETag or charset rewriting on an error document.
    const body = Buffer.from(renderError(s3, requestId, res.locals.hostId as string | undefined), 'utf8');
    res.setHeader('Content-Type', 'application/xml');
    res.setHeader('Content-Length', String(body.length));
    res.end(body);
  };
}
