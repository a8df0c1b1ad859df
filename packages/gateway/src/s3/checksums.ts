// Payload integrity: Content-MD5, x-amz-content-sha256 and the flexible checksums
// (x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256}, in a header or an aws-chunked trailer).
// PayloadVerifier hashes while the bytes pass through, once, and checks everything at the end.
import { createHash, type Hash } from 'node:crypto';
import { OFF_THREAD_MIN_BYTES, OffThreadHashes, type OffThreadAlgorithm } from './hash-worker.js';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import type { IncomingHttpHeaders } from 'node:http';
import { Crc32c, Crc64Nvme } from './crc.js';
import { S3Error } from './errors.js';
import { joinedHeader } from './header-values.js';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

const DIGEST_BYTES: Record<ChecksumAlgorithm, number> = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32 };

export function isChecksumAlgorithm(v: string): v is ChecksumAlgorithm {
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(v);
}

/** `x-amz-checksum-crc32` etc. */
export function checksumHeaderName(alg: ChecksumAlgorithm): string {
  return `x-amz-checksum-${alg}`;
}

/** `CRC32`, `CRC64NVME`, ... as AWS spells them in headers like x-amz-sdk-checksum-algorithm. */
function checksumDisplayName(alg: ChecksumAlgorithm): string {
  return alg.toUpperCase();
}

/** `ChecksumCRC32` etc., the XML element names. */
export function checksumXmlName(alg: ChecksumAlgorithm): string {
  return `Checksum${checksumDisplayName(alg)}`;
}

export interface Hasher {
  update(data: Uint8Array): void;
  digest(): Buffer;
}

class Crc32Hasher implements Hasher {
  private crc = 0;
  update(data: Uint8Array): void {
    this.crc = zlib.crc32(data, this.crc);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.crc >>> 0, 0);
    return out;
  }
}

class NodeHasher implements Hasher {
  private readonly hash: Hash;
  constructor(algorithm: string) {
    this.hash = createHash(algorithm);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}

function createChecksumHasher(alg: ChecksumAlgorithm): Hasher {
  switch (alg) {
    case 'crc32':
      return new Crc32Hasher();
    case 'crc32c':
      return new Crc32c();
    case 'crc64nvme':
      return new Crc64Nvme();
    case 'sha1':
    case 'sha256':
      return new NodeHasher(alg);
  }
}

/** The checksum of a whole buffer, base64 as AWS writes it. */
export function checksumOf(alg: ChecksumAlgorithm, data: Uint8Array): string {
  const h = createChecksumHasher(alg);
  h.update(data);
  return h.digest().toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodesToLength(value: string, bytes: number): boolean {
  return value.length % 4 === 0 && BASE64.test(value) && Buffer.from(value, 'base64').length === bytes;
}

function isValidChecksumValue(alg: ChecksumAlgorithm, value: string): boolean {
  return decodesToLength(value, DIGEST_BYTES[alg]);
}

// ---- what the request asks to be verified ----

interface DeclaredChecksum {
  algorithm: ChecksumAlgorithm;
  /** base64 value from the header; undefined when it arrives as an aws-chunked trailer. */
  value?: string;
  fromTrailer: boolean;
}

export interface ChecksumRequest {
  /** Content-MD5, validated base64 of 16 bytes. */
  contentMd5?: string;
  /** The flexible checksum the client declared (header or trailer), or asked for with x-amz-sdk-checksum-algorithm. */
  checksum?: DeclaredChecksum;
}

/** Names listed in `x-amz-trailer`, lowercased. */
export function trailerNames(headers: IncomingHttpHeaders): string[] {
  const v = joinedHeader(headers, 'x-amz-trailer');
  if (v === undefined) return [];
  return v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
}

/**
 * Reads Content-MD5, x-amz-checksum-*, x-amz-trailer and x-amz-sdk-checksum-algorithm and says what
 * must be verified. Errors as AWS words them: InvalidDigest for a malformed Content-MD5,
 * InvalidRequest for a malformed or ambiguous checksum declaration.
 */
export function parseChecksumRequest(headers: IncomingHttpHeaders): ChecksumRequest {
  const out: ChecksumRequest = {};
  const md5 = joinedHeader(headers, 'content-md5');
  if (md5 !== undefined) {
    if (!decodesToLength(md5.trim(), 16)) throw new S3Error('InvalidDigest');
    out.contentMd5 = md5.trim();
  }

  const declared: DeclaredChecksum[] = [];
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = joinedHeader(headers, checksumHeaderName(alg));
    if (v === undefined) continue;
    if (!isValidChecksumValue(alg, v.trim())) {
      throw new S3Error('InvalidRequest', `Value for ${checksumHeaderName(alg)} header is invalid.`);
    }
    declared.push({ algorithm: alg, value: v.trim(), fromTrailer: false });
  }
  for (const name of trailerNames(headers)) {
    const alg = name.startsWith('x-amz-checksum-') ? name.slice('x-amz-checksum-'.length) : undefined;
    if (alg === undefined || !isChecksumAlgorithm(alg)) {
      throw new S3Error('InvalidRequest', `The value specified in the x-amz-trailer header is not supported: ${name}`);
    }
    declared.push({ algorithm: alg, fromTrailer: true });
  }
  if (declared.length > 1) {
    throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  }

  const sdkAlg = joinedHeader(headers, 'x-amz-sdk-checksum-algorithm')?.trim().toLowerCase();
  if (sdkAlg !== undefined) {
    if (!isChecksumAlgorithm(sdkAlg)) {
      throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
    }
    if (declared.length === 0) {
      throw new S3Error(
        'InvalidRequest',
        'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.',
      );
    }
    if (declared[0]!.algorithm !== sdkAlg) {
      throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
    }
  }
  if (declared[0] !== undefined) out.checksum = declared[0];
  return out;
}

// ---- the verifying pass-through ----

export interface PayloadVerifierOptions {
  /** Hex SHA-256 the request signed (x-amz-content-sha256); mismatch → XAmzContentSHA256Mismatch. */
  contentSha256?: string;
  /** Content-MD5 (base64); mismatch → BadDigest. */
  contentMd5?: string;
  /** The flexible checksum to compute, and to verify when a value is given (or later found in the trailers). */
  checksum?: { algorithm: ChecksumAlgorithm; expected?: string | (() => string | undefined) };
  /** Exactly this many bytes must pass (IncompleteBody otherwise). */
  expectedSize?: number;
  /** More bytes than this → EntityTooLarge. */
  maxSize?: number;
  /**
   * MD5 of the payload for the ETag (default true). MD5 is the costliest hash here: skip it when the ETag
   * will not be an MD5 (SSE-C, SSE-KMS); a Content-MD5 header is verified either way.
   */
  md5?: boolean;
}

export interface PayloadDigests {
  size: number;
  /** MD5 of the payload: the ETag of a single-part object. Empty when not computed (options.md5 false). */
  md5: Buffer;
  md5Hex: string;
  /** The flexible checksum computed (base64), when one was requested. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

/**
 * Passes bytes through unchanged while computing MD5 (always: the ETag needs it), SHA-256 when the
 * payload hash was signed, and the declared flexible checksum. At the end of the stream it verifies
 * them and fails the stream with the S3 error AWS would return. `digests` is set once the stream
 * has ended successfully; a consumer must not commit anything before then.
 */
/** MD5 and SHA-256 computed on the event loop (a small body, or every worker session taken). */
interface LocalHashes {
  md5?: Hash;
  sha256?: Hash;
}

export class PayloadVerifier extends Transform {
  digests: PayloadDigests | undefined;
  /** Trailing headers of an aws-chunked body (filled by the decoder upstream, complete at the end). */
  trailers: Readonly<Record<string, string>> = {};
  private size = 0;
  /**
   * The body's MD5 and SHA-256 (those asked for): computed here, or for a large body on the hashing worker. Set
   * up with the first byte, not in the constructor: a body never read (a request refused before its body) holds
   * no worker session. Undefined until then.
   */
  private hashes: LocalHashes | OffThreadHashes | undefined;
  private readonly algorithms: OffThreadAlgorithm[] = [];
  private readonly checksum: Hasher | undefined;

  constructor(private readonly options: PayloadVerifierOptions = {}) {
    super();
    if (options.md5 !== false || options.contentMd5 !== undefined) this.algorithms.push('md5');
    if (options.contentSha256 !== undefined) this.algorithms.push('sha256');
    this.checksum = options.checksum ? createChecksumHasher(options.checksum.algorithm) : undefined;
  }

  /** The size the request announced (Content-Length, or the decoded length of an aws-chunked body), if any. */
  get announcedSize(): number | undefined {
    return this.options.expectedSize;
  }

  private startedHashes(): LocalHashes | OffThreadHashes {
    if (this.hashes) return this.hashes;
    const algs = this.algorithms;
    const offThread =
      algs.length > 0 && (this.options.expectedSize ?? 0) >= OFF_THREAD_MIN_BYTES ? OffThreadHashes.tryOpen(algs) : undefined;
    this.hashes = offThread ?? {
      ...(algs.includes('md5') && { md5: createHash('md5') }),
      ...(algs.includes('sha256') && { sha256: createHash('sha256') }),
    };
    return this.hashes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    const hashes = this.startedHashes();
    this.size += chunk.length;
    const { maxSize, expectedSize } = this.options;
    if (maxSize !== undefined && this.size > maxSize) {
      callback(new S3Error('EntityTooLarge', undefined, { extra: { MaxSizeAllowed: String(maxSize) } }));
      return;
    }
    if (expectedSize !== undefined && this.size > expectedSize) {
      callback(new S3Error('InvalidRequest', `The body is longer than the ${expectedSize} bytes announced.`));
      return;
    }
    this.checksum?.update(chunk);
    if (hashes instanceof OffThreadHashes) {
      const behind = hashes.update(chunk);
      if (behind) {
        // Passed on now; the next chunk is asked for once the worker has caught up.
        this.push(chunk);
        behind.then(() => callback(), callback);
        return;
      }
    } else {
      hashes.md5?.update(chunk);
      hashes.sha256?.update(chunk);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const hashes = this.startedHashes(); // an empty body: the digests of nothing
    const digested =
      hashes instanceof OffThreadHashes ? hashes.digest() : Promise.resolve({ md5: hashes.md5?.digest(), sha256: hashes.sha256?.digest() });
    digested.then(
      (hashed) => {
        try {
          this.digests = this.verify(hashed.md5, hashed.sha256);
          callback();
        } catch (err) {
          callback(err as Error);
        }
      },
      (err: Error) => callback(err),
    );
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (this.hashes instanceof OffThreadHashes) this.hashes.drop();
    callback(err);
  }

  private verify(md5Digest: Buffer | undefined, sha256Digest: Buffer | undefined): PayloadDigests {
    const { expectedSize, contentSha256, contentMd5, checksum } = this.options;
    if (expectedSize !== undefined && this.size !== expectedSize) {
      throw new S3Error('IncompleteBody', `Expected ${expectedSize} bytes of payload, received ${this.size}.`);
    }
    if (sha256Digest && contentSha256 !== undefined) {
      const computed = sha256Digest.toString('hex');
      if (computed !== contentSha256.toLowerCase()) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, {
          extra: { ClientComputedContentSHA256: contentSha256, S3ComputedContentSHA256: computed },
        });
      }
    }
    const md5 = md5Digest ?? Buffer.alloc(0);
    if (contentMd5 !== undefined && md5.toString('base64') !== contentMd5) {
      throw new S3Error('BadDigest', undefined, {
        extra: { ExpectedDigest: Buffer.from(contentMd5, 'base64').toString('hex'), CalculatedDigest: md5.toString('hex') },
      });
    }
    const digests: PayloadDigests = { size: this.size, md5, md5Hex: md5.toString('hex') };
    if (this.checksum && checksum) {
      const value = this.checksum.digest().toString('base64');
      const expected = typeof checksum.expected === 'function' ? checksum.expected() : checksum.expected;
      if (expected !== undefined) {
        if (!isValidChecksumValue(checksum.algorithm, expected)) {
          throw new S3Error('InvalidRequest', `Value for ${checksumHeaderName(checksum.algorithm)} trailing header is invalid.`);
        }
        if (expected !== value) {
          throw new S3Error(
            'BadDigest',
            `The ${checksumDisplayName(checksum.algorithm)} you specified did not match the calculated checksum.`,
          );
        }
      }
      digests.checksum = { algorithm: checksum.algorithm, value };
    }
    return digests;
  }
}
