// The request body as a verified stream: whatever the payload mode (signed, unsigned, aws-chunked
// with or without signatures and trailers), handlers get plain bytes and an error at the end if
// anything did not verify.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { AwsChunkedDecoder } from './auth/chunked.js';
import type { AuthResult } from './auth/sigv4.js';
import { checksumHeaderName, parseChecksumRequest, PayloadVerifier, type PayloadVerifierOptions, trailerNames } from './checksums.js';
import { S3Error } from './errors.js';
import { sendContinue } from './expect-continue.js';
import { joinedHeader } from './header-values.js';

export interface BodyOptions {
  /** Compute the payload's MD5 for the ETag (default true); see PayloadVerifierOptions.md5. */
  md5?: boolean;
  /** Largest payload accepted (EntityTooLarge beyond); AWS allows 5 GiB in one PUT. */
  maxSize?: number;
  /** Refuse a body without Content-Length (MissingContentLength), as PutObject and UploadPart do. */
  requireLength?: boolean;
  /** Refuse a body without Content-MD5 or an x-amz-checksum-* (InvalidRequest), as DeleteObjects does. */
  requireIntegrity?: boolean;
}

export const MAX_SINGLE_PUT = 5 * 1024 ** 3;

function lengthHeader(req: IncomingMessage, name: string): number | undefined {
  const v = joinedHeader(req.headers, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v.trim()))
    throw new S3Error('InvalidArgument', `${name} must be a non-negative integer; got "${v.slice(0, 40)}".`);
  return Number(v.trim());
}

function tooLarge(size: number, max: number): S3Error {
  return new S3Error('EntityTooLarge', `Your proposed upload of ${size} bytes exceeds the maximum allowed size of ${max} bytes.`, {
    extra: { ProposedSize: String(size), MaxSizeAllowed: String(max) },
  });
}

/**
 * A PayloadVerifier that starts reading the request when its own consumer first reads: until then the
 * client is not sent 100 Continue and nothing is taken off the connection, so whatever the handler checks
 * between bodyStream() and reading (the bucket, the upload, the KMS data key) is refused before any body.
 */
class RequestBody extends PayloadVerifier {
  constructor(
    options: PayloadVerifierOptions,
    private start: (() => void) | undefined,
  ) {
    super(options);
  }

  override _read(size: number): void {
    const start = this.start;
    this.start = undefined;
    start?.();
    super._read(size);
  }
}

/**
 * Returns the payload of `req` decoded and verified: per-chunk and trailer signatures, the signed
 * SHA-256, Content-MD5 and x-amz-checksum-* (header or trailer). Header problems throw at once,
 * before any byte is read; payload problems fail the returned stream at its end. After 'end',
 * `stream.digests` holds the size, the MD5 (the ETag) and the flexible checksum. The request is read
 * (and a client waiting for 100 Continue told to send) only once the returned stream is read.
 */
export function bodyStream(req: IncomingMessage, auth: AuthResult, options: BodyOptions = {}): PayloadVerifier {
  const checks = parseChecksumRequest(req.headers);
  if (options.requireIntegrity && checks.contentMd5 === undefined && checks.checksum === undefined) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5 (or an x-amz-checksum-* header).');
  }
  const streaming = auth.payloadMode.startsWith('streaming-');
  const contentLength = lengthHeader(req, 'content-length');
  const max = options.maxSize;

  let decoder: AwsChunkedDecoder | undefined;
  let expectedSize: number | undefined;
  if (streaming) {
    const decodedLength = lengthHeader(req, 'x-amz-decoded-content-length');
    if (decodedLength === undefined) {
      throw new S3Error('MissingContentLength', 'An aws-chunked (STREAMING-*) body needs the x-amz-decoded-content-length header.');
    }
    if (max !== undefined && decodedLength > max) throw tooLarge(decodedLength, max);
    const trailers = trailerNames(req.headers);
    if (auth.payloadMode === 'streaming-signed' && trailers.length > 0) {
      throw new S3Error('InvalidRequest', 'x-amz-trailer needs a STREAMING-*-TRAILER x-amz-content-sha256.');
    }
    decoder = new AwsChunkedDecoder({
      mode: auth.payloadMode as 'streaming-signed' | 'streaming-unsigned-trailer' | 'streaming-signed-trailer',
      signing: { signingKey: auth.signingKey, amzDate: auth.amzDate, scope: auth.scope, seedSignature: auth.seedSignature },
      decodedLength,
      expectedTrailers: trailers,
    });
    expectedSize = decodedLength;
  } else {
    if (checks.checksum?.fromTrailer) {
      throw new S3Error('InvalidRequest', 'x-amz-trailer is only allowed with an aws-chunked (STREAMING-*-TRAILER) body.');
    }
    const chunkedTransfer = joinedHeader(req.headers, 'transfer-encoding') !== undefined;
    if (contentLength === undefined && !chunkedTransfer && options.requireLength) throw new S3Error('MissingContentLength');
    if (max !== undefined && contentLength !== undefined && contentLength > max) throw tooLarge(contentLength, max);
    expectedSize = contentLength;
  }

  const verifierOptions: PayloadVerifierOptions = {};
  if (auth.payloadMode === 'signed' && auth.declaredSha256 !== undefined) verifierOptions.contentSha256 = auth.declaredSha256;
  if (checks.contentMd5 !== undefined) verifierOptions.contentMd5 = checks.contentMd5;
  if (expectedSize !== undefined) verifierOptions.expectedSize = expectedSize;
  if (max !== undefined) verifierOptions.maxSize = max;
  if (options.md5 === false) verifierOptions.md5 = false;
  const declared = checks.checksum;
  if (declared) {
    const trailerName = checksumHeaderName(declared.algorithm);
    verifierOptions.checksum = {
      algorithm: declared.algorithm,
      expected: declared.fromTrailer ? () => decoder?.trailers[trailerName] : declared.value,
    };
  }
  const start = (): void => {
    sendContinue(req);
    if (decoder) {
      decoder.on('error', (err) => {
        req.unpipe(decoder);
        verifier.destroy(err);
      });
      req.pipe(decoder).pipe(verifier);
    } else {
      req.pipe(verifier);
    }
  };
  const verifier = new RequestBody(verifierOptions, start);
  if (decoder) verifier.trailers = decoder.trailers;
  // The stream can fail (a client gone) before the handler attaches its consumer, e.g. while it waits
  // for kes. The error stays on the stream (`errored`) for pipeline()/for-await to report; unheard, it
  // would be an uncaught exception ending the process.
  verifier.on('error', () => {});

  const incomplete = (): void => {
    if (!verifier.destroyed)
      verifier.destroy(new S3Error('IncompleteBody', 'The connection closed before the whole request body arrived.'));
  };
  req.on('error', incomplete);
  req.on('close', () => {
    if (!req.complete) incomplete();
  });
  return verifier;
}

/**
 * Reads a small body (XML, JSON) whole, up to `limit` bytes (MaxMessageLengthExceeded beyond).
 * Errors of the stream (bad digest, signature) propagate.
 */
export async function readBody(stream: Readable, limit = 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limit) {
      stream.destroy();
      throw new S3Error('MaxMessageLengthExceeded', `Your request was too big: the limit for this request body is ${limit} bytes.`);
    }
    parts.push(buf);
  }
  return Buffer.concat(parts);
}
