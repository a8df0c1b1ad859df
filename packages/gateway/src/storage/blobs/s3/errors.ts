// Upstream failures as the errors the gateway answers with: what a client should retry becomes
// BackendUnavailable (503 ServiceUnavailable / SlowDown, as AWS answers when it is overloaded); anything
// else is a configuration or upstream problem (500), with a message that tells the operator what to fix.
import { BackendUnavailable } from '../../errors.js';

/** The fields of an SDK or Node error that classify it. */
interface FailureShape {
  name?: string;
  code?: string;
  message?: string;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'TooManyRequests',
  'TooManyRequestsException',
]);
const TRANSIENT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ServiceUnavailable', 'InternalError']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A failure of the upstream that retrying will not fix: wrong credentials, no such bucket, an untrusted certificate, … */
export class BlobUpstreamError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BlobUpstreamError';
  }
}

/** Names the upstream (endpoint and bucket) in every error, and keeps the secret key out of all of them. */
export class UpstreamErrors {
  constructor(
    private readonly endpoint: string,
    private readonly bucket: string,
    private readonly secret: string,
  ) {}

  /** `operation` is the upstream request that failed, e.g. 'UploadPart'. */
  map(operation: string, err: unknown): Error {
    if (err instanceof BackendUnavailable || err instanceof BlobUpstreamError) return err;
    const f = (err ?? {}) as FailureShape;
    const status = f.$metadata?.httpStatusCode;
    const what = this.scrub(
      [f.name && f.name !== 'Error' ? f.name : undefined, f.code, status ? `HTTP ${status}` : undefined].filter(Boolean).join(', ') ||
        String(f.message ?? err),
    );
    const where = `the blob store's upstream ${this.endpoint} (bucket ${this.bucket})`;
    if (isThrottling(f)) {
      return new BackendUnavailable('the blob store', { slowDown: true, detail: `${where} asked to slow down (${operation}: ${what})` });
    }
    if (isTransient(f)) {
      return new BackendUnavailable('the blob store', { detail: `${where} is unavailable (${operation}: ${what})` });
    }
    const hint = this.hint(f, status);
    return new BlobUpstreamError(
      `${operation} on ${where} failed: ${what}${f.message ? `: ${this.scrub(f.message)}` : ''}${hint ? ` (${hint})` : ''}`,
      {
        cause: err,
      },
    );
  }

  private hint(f: FailureShape, status: number | undefined): string | undefined {
    if (f.code && TLS_CODES.has(f.code)) return "set blobs.s3.ca to the CA certificate that signed the upstream's certificate";
    if (f.name === 'NoSuchBucket') return `create the bucket ${this.bucket} on the upstream`;
    if (status === 403 || f.name === 'InvalidAccessKeyId' || f.name === 'SignatureDoesNotMatch') {
      return 'check blobs.s3.accessKey and blobs.s3.secretKey, and that they may read, write, list and delete in the bucket';
    }
    if (status === 301 || f.name === 'PermanentRedirect' || f.name === 'AuthorizationHeaderMalformed') {
      return 'check blobs.s3.region and blobs.s3.endpoint';
    }
    return undefined;
  }

  private scrub(text: string): string {
    return this.secret ? text.split(this.secret).join('[secret]') : text;
  }
}

function isThrottling(f: FailureShape): boolean {
  return (f.name !== undefined && THROTTLING.has(f.name)) || f.$metadata?.httpStatusCode === 429 || f.$retryable?.throttling === true;
}

function isTransient(f: FailureShape, depth = 0): boolean {
  if (f.name === 'AbortError') return false;
  const status = f.$metadata?.httpStatusCode ?? 0;
  // 501 Not Implemented is an answer, not an outage.
  if (
    (status >= 500 && status !== 501) ||
    (f.name !== undefined && TRANSIENT_NAMES.has(f.name)) ||
    (f.code !== undefined && NETWORK_CODES.has(f.code))
  ) {
    return true;
  }
  // The SDK wraps some socket errors; the code is on the cause.
  return f.cause !== undefined && f.cause !== null && depth < 5 && isTransient(f.cause as FailureShape, depth + 1);
}

/** A 404 of a blob: it was never written, or it was removed. */
export function isMissing(err: unknown): boolean {
  const f = (err ?? {}) as FailureShape;
  return f.name === 'NoSuchKey' || f.name === 'NotFound' || (f.$metadata?.httpStatusCode === 404 && f.name !== 'NoSuchBucket');
}

/** 416: the range starts at or beyond the blob's end. */
export function isRangeNotSatisfiable(err: unknown): boolean {
  const f = (err ?? {}) as FailureShape;
  return f.name === 'InvalidRange' || f.$metadata?.httpStatusCode === 416;
}

/** The upstream does not implement an operation (s3rver: ListMultipartUploads, AbortMultipartUpload). */
export function isNotImplemented(err: unknown): boolean {
  const f = (err ?? {}) as FailureShape;
  return (
    f.name === 'NotImplemented' ||
    f.name === 'MethodNotAllowed' ||
    f.$metadata?.httpStatusCode === 501 ||
    f.$metadata?.httpStatusCode === 405
  );
}
