// One log line and the metrics of every answered request. The line names the operation, who sent it
// (remote address, access key id — never a signature, a secret or the query, where presigned URLs carry
// their signature), the body bytes each way, the user agent, the status and how long it took. Health
// probes and metric scrapes log at debug: at info they would drown everything else.
import type { NextFunction, Request, Response } from 'express';
import type { GatewayServices } from './services.js';

/** Operations polled by machines; their lines are at debug. */
const PROBES = new Set(['Health', 'Ready', 'Metrics']);

/** The access key id a request was signed with (once verified) or claims (refused), as S3 logs it. */
function accessKeyOf(req: Request, res: Response): string | undefined {
  const verified = (res.locals.auth as { accessKey?: string } | undefined)?.accessKey;
  if (verified) return verified;
  const header = req.headers.authorization ?? '';
  const claimed =
    /Credential=([^/,\s]+)\//.exec(header)?.[1] ?? // SigV4 header
    /^AWS ([^:\s]+):/.exec(header)?.[1] ?? // SigV2 header
    /[?&]X-Amz-Credential=([^&%/]+)(?:%2F|\/)/i.exec(req.originalUrl)?.[1] ?? // SigV4 presigned
    /[?&]AWSAccessKeyId=([^&]+)/.exec(req.originalUrl)?.[1]; // SigV2 presigned
  return claimed !== undefined && claimed.length <= 128 ? claimed : undefined;
}

/** Counts the body bytes a response writes (headers excluded). */
function countBytesOut(res: Response): () => number {
  let bytes = 0;
  const add = (chunk: unknown, encoding: unknown): void => {
    if (typeof chunk === 'string') bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    else if (chunk instanceof Uint8Array) bytes += chunk.byteLength;
  };
  const write = res.write;
  const end = res.end;
  res.write = function (this: Response, chunk: unknown, ...rest: unknown[]) {
    add(chunk, rest[0]);
    return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
  } as Response['write'];
  res.end = function (this: Response, chunk?: unknown, ...rest: unknown[]) {
    if (typeof chunk !== 'function') add(chunk, rest[0]);
    return (end as (...a: unknown[]) => Response).call(this, chunk, ...rest);
  } as Response['end'];
  return () => bytes;
}

export function observe(svc: GatewayServices) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    const bytesOut = countBytesOut(res);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const operation = (res.locals.operation as string | undefined) ?? 'Unknown';
      svc.metrics.requests.inc({ operation, status: String(res.statusCode) });
      svc.metrics.requestDuration.observe({ operation }, seconds);
      // What the client said it sends (aws-chunked: the decoded payload); a refused body is not read.
      const bytesIn = Number(req.headers['x-amz-decoded-content-length'] ?? req.headers['content-length'] ?? 0) || 0;
      if (bytesIn > 0) svc.metrics.bytesIn.inc(bytesIn);
      const accessKey = accessKeyOf(req, res);
      const userAgent = req.headers['user-agent'];
      svc.logger[PROBES.has(operation) ? 'debug' : 'info'](
        {
          reqId: res.locals.requestId,
          op: operation,
          method: req.method,
          path: req.originalUrl.split('?')[0],
          status: res.statusCode,
          ms: Math.round(seconds * 1e6) / 1e3,
          remote: req.socket.remoteAddress,
          ...(accessKey !== undefined ? { accessKey } : {}),
          bytesIn,
          bytesOut: bytesOut(),
          ...(userAgent !== undefined ? { userAgent } : {}),
        },
        'request',
      );
    });
    next();
  };
}
