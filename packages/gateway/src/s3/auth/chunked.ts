// Streaming decoder for aws-chunked bodies:
//   STREAMING-AWS4-HMAC-SHA256-PAYLOAD           `<hex>;chunk-signature=<sig>\r\n<data>\r\n` ... `0;chunk-signature=<sig>\r\n\r\n`
//   STREAMING-UNSIGNED-PAYLOAD-TRAILER           `<hex>\r\n<data>\r\n` ... `0\r\n<trailer>:<value>\r\n\r\n`
//   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER   signed chunks, then trailers and `x-amz-trailer-signature:<sig>`
// Data passes through as it arrives (never buffered whole); each chunk's signature is checked when
// the chunk ends, so a consumer must treat the body as verified only once the stream has ended.
import { createHash, type Hash, timingSafeEqual } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from '../errors.js';
import { chunkStringToSign, signatureHex, trailerStringToSign } from './canonical.js';

type ChunkedMode = 'streaming-signed' | 'streaming-unsigned-trailer' | 'streaming-signed-trailer';

interface ChunkSigning {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

export interface ChunkedDecoderOptions {
  mode: ChunkedMode;
  /** Required for the signed modes. */
  signing?: ChunkSigning;
  /** x-amz-decoded-content-length: the decoded body must be exactly this long. */
  decodedLength?: number;
  /** Trailer names announced in x-amz-trailer (lowercase); exactly these must arrive. */
  expectedTrailers?: readonly string[];
  /** Largest chunk accepted (a bound on framing, not on memory: chunks are streamed). */
  maxChunkSize?: number;
}

const MAX_LINE = 4096;
const MAX_TRAILERS = 16;
const DEFAULT_MAX_CHUNK = 64 * 1024 * 1024;
const CR = 0x0d;
const LF = 0x0a;

type State = 'size' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'final' | 'end';

function malformed(detail: string): S3Error {
  return new S3Error('InvalidRequest', `The aws-chunked body is malformed: ${detail}`);
}

function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class AwsChunkedDecoder extends Transform {
  /** Trailing headers (lowercase name → value), complete once the stream has ended. */
  readonly trailers: Record<string, string> = {};
  private state: State = 'size';
  private line: Buffer[] = [];
  private lineLength = 0;
  private remaining = 0;
  private decoded = 0;
  private chunkHash: Hash | undefined;
  private chunkSignature = '';
  private previousSignature: string;
  private trailerSignature: string | undefined;
  private trailerCount = 0;
  private readonly signed: boolean;
  private readonly hasTrailer: boolean;
  private readonly maxChunkSize: number;

  constructor(private readonly options: ChunkedDecoderOptions) {
    super();
    this.signed = options.mode !== 'streaming-unsigned-trailer';
    this.hasTrailer = options.mode !== 'streaming-signed';
    if (this.signed && !options.signing) throw new Error('AwsChunkedDecoder: signed modes need the signing context');
    this.previousSignature = options.signing?.seedSignature ?? '';
    this.maxChunkSize = options.maxChunkSize ?? DEFAULT_MAX_CHUNK;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.state === 'trailer' && this.lineLength === 0) {
        // Some clients end the body right after the last trailer line (or the `0\r\n` chunk).
        this.finishTrailers();
      } else if (this.state === 'final' && this.lineLength === 0) {
        this.state = 'end';
      }
      if (this.state !== 'end') {
        throw new S3Error('IncompleteBody', 'The aws-chunked body ended before its final (zero-length) chunk.');
      }
      const expected = this.options.decodedLength;
      if (expected !== undefined && this.decoded !== expected) {
        throw new S3Error(
          'IncompleteBody',
          `The decoded body is ${this.decoded} bytes but x-amz-decoded-content-length announced ${expected}.`,
        );
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private consume(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, chunk.length - off);
          const slice = chunk.subarray(off, off + n);
          this.chunkHash?.update(slice);
          this.push(slice);
          this.remaining -= n;
          off += n;
          if (this.remaining === 0) this.state = 'data-cr';
          break;
        }
        case 'data-cr':
          if (chunk[off] !== CR) throw malformed('expected CRLF after the chunk data.');
          off++;
          this.state = 'data-lf';
          break;
        case 'data-lf':
          if (chunk[off] !== LF) throw malformed('expected CRLF after the chunk data.');
          off++;
          this.endDataChunk();
          this.state = 'size';
          break;
        case 'end':
          throw malformed('data follows the end of the body.');
        default: {
          const lf = chunk.indexOf(LF, off);
          const end = lf < 0 ? chunk.length : lf;
          this.lineLength += end - off;
          if (this.lineLength > MAX_LINE) throw malformed('a chunk header or trailer line is too long.');
          this.line.push(chunk.subarray(off, end));
          off = end;
          if (lf < 0) break;
          off++; // the LF
          const text = Buffer.concat(this.line).toString('latin1');
          this.line = [];
          this.lineLength = 0;
          if (!text.endsWith('\r')) throw malformed('lines must end with CRLF.');
          this.onLine(text.slice(0, -1));
        }
      }
    }
  }

  private onLine(line: string): void {
    if (this.state === 'size') this.onSizeLine(line);
    else if (this.state === 'trailer') this.onTrailerLine(line);
    else if (this.state === 'final') {
      if (line !== '') throw malformed('expected an empty line after the final chunk.');
      this.state = 'end';
    }
  }

  private onSizeLine(line: string): void {
    const semi = line.indexOf(';');
    const sizeText = semi >= 0 ? line.slice(0, semi) : line;
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText)) throw malformed(`"${line.slice(0, 40)}" is not a chunk size.`);
    const size = parseInt(sizeText, 16);
    if (size > this.maxChunkSize) throw malformed(`a chunk of ${size} bytes exceeds the limit of ${this.maxChunkSize}.`);
    if (this.signed) {
      // A chunk signature that is missing or not even shaped like one cannot match: the same 403 as a wrong one
      // (what MinIO answers too), not a malformed body.
      const ext = semi >= 0 ? line.slice(semi + 1) : '';
      const m = /^chunk-signature=([0-9a-f]{64})$/.exec(ext);
      if (!m) {
        throw new S3Error(
          'SignatureDoesNotMatch',
          'A chunk of this signed aws-chunked body has no valid chunk-signature (64 lower-case hex digits).',
        );
      }
      this.chunkSignature = m[1]!;
      this.chunkHash = createHash('sha256');
    }
    const limit = this.options.decodedLength;
    if (limit !== undefined && this.decoded + size > limit) {
      throw new S3Error(
        'InvalidRequest',
        `The aws-chunked body holds more than the ${limit} bytes x-amz-decoded-content-length announced.`,
      );
    }
    this.decoded += size;
    if (size > 0) {
      this.remaining = size;
      this.state = 'data';
      return;
    }
    this.endDataChunk(); // verifies the signature of the empty final chunk
    this.state = this.hasTrailer ? 'trailer' : 'final';
  }

  private endDataChunk(): void {
    if (!this.signed) return;
    const { signingKey, amzDate, scope } = this.options.signing!;
    const digest = this.chunkHash!.digest('hex');
    const expected = signatureHex(signingKey, chunkStringToSign(amzDate, scope, this.previousSignature, digest));
    if (!sameSignature(expected, this.chunkSignature)) {
      throw new S3Error('SignatureDoesNotMatch', 'The chunk signature we calculated does not match the signature you provided.');
    }
    this.previousSignature = expected;
    this.chunkHash = undefined;
  }

  private onTrailerLine(line: string): void {
    if (line === '') {
      this.finishTrailers();
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new S3Error('MalformedTrailerError', `The trailer line "${line.slice(0, 40)}" is not name:value.`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (++this.trailerCount > MAX_TRAILERS) throw new S3Error('MalformedTrailerError', 'Too many trailing headers.');
    if (name === 'x-amz-trailer-signature') {
      this.trailerSignature = value;
      return;
    }
    if (this.trailerSignature !== undefined) {
      throw new S3Error('MalformedTrailerError', 'x-amz-trailer-signature must be the last trailing header.');
    }
    if (name in this.trailers) throw new S3Error('MalformedTrailerError', `The trailing header ${name} is repeated.`);
    this.trailers[name] = value;
  }

  private finishTrailers(): void {
    const expected = this.options.expectedTrailers ?? [];
    const got = Object.keys(this.trailers);
    const missing = expected.filter((n) => !got.includes(n));
    const unexpected = got.filter((n) => !expected.includes(n));
    if (missing.length > 0) {
      throw new S3Error(
        'MalformedTrailerError',
        `The trailing header(s) announced in x-amz-trailer did not arrive: ${missing.join(', ')}.`,
      );
    }
    if (unexpected.length > 0) {
      throw new S3Error('MalformedTrailerError', `Trailing header(s) not announced in x-amz-trailer: ${unexpected.join(', ')}.`);
    }
    if (this.signed) {
      if (this.trailerSignature === undefined) {
        throw new S3Error('MalformedTrailerError', 'A signed aws-chunked body with trailers needs x-amz-trailer-signature.');
      }
      const { signingKey, amzDate, scope } = this.options.signing!;
      const canonical = got.map((n) => `${n}:${this.trailers[n]}\n`).join('');
      const signature = signatureHex(signingKey, trailerStringToSign(amzDate, scope, this.previousSignature, canonical));
      if (!sameSignature(signature, this.trailerSignature)) {
        throw new S3Error('SignatureDoesNotMatch', 'The trailer signature we calculated does not match the signature you provided.');
      }
    }
    this.state = 'end';
  }
}
