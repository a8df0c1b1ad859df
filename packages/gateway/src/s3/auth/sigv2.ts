// Verification of AWS Signature Version 2 requests: `Authorization: AWS AKID:signature` and
// query-string authentication (`AWSAccessKeyId`, `Expires`, `Signature`). Older tools sign this way
// (boto3 before 1.28 presigns URLs and POST forms with it by default; s3cmd --signature-v2). The
// payload is not signed: it is verified only by Content-MD5 (or a signed x-amz-content-sha256).
import { createHmac } from 'node:crypto';
import { virtualHostBucket } from '../addressing.js';
import { S3Error } from '../errors.js';
import { formatAmzDate, parseAmzDate } from './canonical.js';
import {
  type AuthResult,
  type CredentialLookup,
  constantTimeEqualHex,
  header as headerOf,
  MAX_SKEW_MS,
  payloadModeOf,
  queryParams,
  type SigV4Request,
  splitUrl,
} from './sigv4.js';

/**
 * The query parameters that are part of the resource a V2 signature covers, as AWS lists them
 * (every other parameter — prefix, max-keys, marker... — is not signed).
 */
const SIGNED_SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl',
  'cors',
  'delete',
  'lifecycle',
  'location',
  'logging',
  'notification',
  'partNumber',
  'policy',
  'requestPayment',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
]);

const QUERY_AUTH_PARAMS = ['AWSAccessKeyId', 'Expires', 'Signature'];

// Header values that must never be echoed back in an error body (SSE-C keys).
const SECRET_HEADER = /^x-amz-(copy-source-)?server-side-encryption-customer-key:/;

export interface SigV2Options {
  lookup: CredentialLookup;
  /** The gateway's own domains: `<bucket>.<domain>` puts the bucket in the Host header, and so in the signed resource. */
  domains?: readonly string[];
  now?: () => Date;
  /** Allowed difference between the request's Date (or x-amz-date) and the server clock; AWS allows 15 minutes. */
  maxSkewMs?: number;
}

/** Base64 HMAC-SHA1 of `text` (as UTF-8, or the bytes given) under the secret key: a V2 signature. */
export function signV2(secretKey: string, text: string | Uint8Array): string {
  return createHmac('sha1', secretKey).update(text).digest('base64');
}

function decodeValue(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * The CanonicalizedResource: `/bucket` when the bucket is in the Host header, the path exactly as
 * sent, then the signed sub-resources sorted by name (`?acl&versionId=...`), their values decoded.
 * A sub-resource sent without a value (`?uploads`) is signed without `=`.
 */
export function canonicalResource(rawPath: string, rawQuery: string, hostBucket?: string): string {
  let resource = (hostBucket !== undefined ? `/${hostBucket}` : '') + (rawPath === '' ? '/' : rawPath);
  const signed: [string, string | undefined][] = [];
  for (const piece of rawQuery === '' ? [] : rawQuery.split('&')) {
    const eq = piece.indexOf('=');
    const name = decodeValue(eq >= 0 ? piece.slice(0, eq) : piece);
    if (!SIGNED_SUBRESOURCES.has(name)) continue;
    const value = eq >= 0 ? decodeValue(piece.slice(eq + 1)) : undefined;
    signed.push([name, value === '' ? undefined : value]);
  }
  if (signed.length > 0) {
    signed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    resource += `?${signed.map(([n, v]) => (v === undefined ? n : `${n}=${v}`)).join('&')}`;
  }
  return resource;
}

/** CanonicalizedAmzHeaders: every `x-amz-*` header, lowercased, sorted, repeats joined by `,`, each `name:value\n`. */
export function canonicalAmzHeaders(
  headers: Readonly<Record<string, readonly string[] | undefined>>,
  omit: (name: string) => boolean = () => false,
): string {
  return Object.keys(headers)
    .map((n) => n.toLowerCase())
    .filter((n) => n.startsWith('x-amz-') && !omit(n))
    .sort()
    .map((n) => `${n}:${(headers[n] ?? []).map((v) => v.trim().replace(/\s*\r?\n\s*/g, ' ')).join(',')}\n`)
    .join('');
}

export interface StringToSignParts {
  method: string;
  contentMd5: string;
  contentType: string;
  /** The Date header, or the Expires parameter of a presigned URL (seconds since the epoch). */
  date: string;
  amzHeaders: string;
  resource: string;
}

export function stringToSignV2(p: StringToSignParts): string {
  return `${p.method}\n${p.contentMd5}\n${p.contentType}\n${p.date}\n${p.amzHeaders}${p.resource}`;
}

/** Parses `AWS AKID:signature`; throws InvalidArgument for any other shape. */
function parseAuthorizationV2(value: string): { accessKey: string; signature: string } {
  const m = /^AWS ([^:\s]+):(\S+)$/.exec(value.trim());
  if (!m) {
    throw new S3Error('InvalidArgument', 'AWS authorization header is invalid.  Expected AwsAccessKeyId:signature', {
      extra: { ArgumentName: 'Authorization' },
    });
  }
  return { accessKey: m[1]!, signature: m[2]! };
}

/** Parses an HTTP date (RFC 1123, RFC 850, asctime) or an ISO 8601 basic timestamp. */
function parseHttpDate(value: string): Date | undefined {
  const iso = parseAmzDate(value.trim());
  if (iso) return iso;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function redact(stringToSign: string): string {
  return stringToSign
    .split('\n')
    .map((line) => (SECRET_HEADER.test(line) ? `${line.slice(0, line.indexOf(':'))}:<redacted>` : line))
    .join('\n');
}

/** The request's signature matched none of the ways it may have been computed. */
function mismatch(accessKey: string, stringToSign: string): S3Error {
  return new S3Error('SignatureDoesNotMatch', undefined, { extra: { AWSAccessKeyId: accessKey, StringToSign: redact(stringToSign) } });
}

export class SigV2Verifier {
  private readonly now: () => Date;
  private readonly maxSkewMs: number;

  constructor(private readonly options: SigV2Options) {
    this.now = options.now ?? (() => new Date());
    this.maxSkewMs = options.maxSkewMs ?? MAX_SKEW_MS;
  }

  /** True when the request is signed with V2: an `AWS ` Authorization header or V2 query parameters. */
  static applies(req: SigV4Request): boolean {
    const authorization = headerOf(req, 'authorization');
    if (authorization !== undefined) return /^AWS /.test(authorization);
    const params = queryParams(splitUrl(req.url).query);
    return params.has('AWSAccessKeyId') || params.has('Signature');
  }

  /** Verifies a V2 request; throws the S3Error AWS would return when it does not hold. */
  verify(req: SigV4Request): AuthResult {
    if (headerOf(req, 'x-amz-security-token') !== undefined || queryParams(splitUrl(req.url).query).has('x-amz-security-token')) {
      throw new S3Error('InvalidToken', 'The provided token is malformed or otherwise invalid: this gateway issues no session tokens.');
    }
    const authorization = headerOf(req, 'authorization');
    return authorization !== undefined ? this.verifyHeader(req, authorization) : this.verifyQuery(req);
  }

  private verifyHeader(req: SigV4Request, authorization: string): AuthResult {
    const { accessKey, signature } = parseAuthorizationV2(authorization);
    const amzDate = headerOf(req, 'x-amz-date');
    const date = headerOf(req, 'date');
    // x-amz-date, when present, is the request's time (it exists for clients that cannot set Date).
    const dateText = amzDate ?? date;
    const requestTime = dateText === undefined ? undefined : parseHttpDate(dateText);
    if (requestTime === undefined) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');

    const secret = this.secretOf(accessKey);
    const now = this.now();
    if (Math.abs(now.getTime() - requestTime.getTime()) > this.maxSkewMs) {
      throw new S3Error('RequestTimeTooSkewed', undefined, {
        extra: { RequestTime: dateText!, ServerTime: now.toISOString(), MaxAllowedSkewMilliseconds: String(this.maxSkewMs) },
      });
    }

    // With x-amz-date, AWS signs an empty Date and x-amz-date among the amz headers; clients that send
    // both headers sign Date's value in its place (botocore, MinIO), and AWS's own worked example puts
    // x-amz-date's value there instead. Each form covers the x-amz-date that set the request time.
    const base = { method: req.method, ...this.contentHeaders(req, new Map()), resource: '' };
    const candidates: StringToSignParts[] = [];
    const amz = canonicalAmzHeaders(req.headers);
    if (amzDate === undefined) {
      candidates.push({ ...base, date: date ?? '', amzHeaders: amz });
    } else {
      candidates.push({ ...base, date: '', amzHeaders: amz });
      if (date !== undefined) candidates.push({ ...base, date, amzHeaders: amz });
      candidates.push({ ...base, date: amzDate, amzHeaders: canonicalAmzHeaders(req.headers, (n) => n === 'x-amz-date') });
    }
    this.checkSignature(req, accessKey, secret, signature, candidates);
    return this.result(req, accessKey, 'header', requestTime);
  }

  private verifyQuery(req: SigV4Request): AuthResult {
    const params = queryParams(splitUrl(req.url).query);
    if (QUERY_AUTH_PARAMS.some((p) => !params.has(p))) {
      throw new S3Error('AccessDenied', 'Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters');
    }
    const accessKey = params.get('AWSAccessKeyId')!;
    const expiresText = params.get('Expires')!;
    if (!/^\d{1,12}$/.test(expiresText)) {
      throw new S3Error('AccessDenied', `Invalid date (should be seconds since epoch): ${expiresText.slice(0, 40)}`);
    }
    const secret = this.secretOf(accessKey);
    const now = this.now();
    const expiresAt = new Date(Number(expiresText) * 1000);
    if (now.getTime() > expiresAt.getTime()) {
      throw new S3Error('AccessDenied', 'Request has expired', {
        extra: { Expires: expiresAt.toISOString(), ServerTime: now.toISOString() },
      });
    }
    // Signers move the x-amz-* headers, Content-Type and Content-MD5 they signed into the query
    // (botocore does): the string to sign takes them from there when they are not sent as headers.
    const fromQuery = new Map<string, string>();
    for (const [name, value] of params) {
      const lower = name.toLowerCase();
      if (lower.startsWith('x-amz-') || lower === 'content-type' || lower === 'content-md5') fromQuery.set(lower, value);
    }
    const headers: Record<string, readonly string[] | undefined> = { ...req.headers };
    for (const [name, value] of fromQuery) if (name.startsWith('x-amz-') && headers[name] === undefined) headers[name] = [value];
    const candidates: StringToSignParts[] = [
      {
        method: req.method,
        ...this.contentHeaders(req, fromQuery),
        date: expiresText,
        amzHeaders: canonicalAmzHeaders(headers),
        resource: '',
      },
    ];
    // Base64 has no spaces: a `+` sent unencoded and read as a space is put back.
    this.checkSignature(req, accessKey, secret, params.get('Signature')!.replace(/ /g, '+'), candidates);
    const result = this.result(req, accessKey, 'presigned', now);
    result.expiresAt = expiresAt;
    if (fromQuery.size > 0) result.queryHeaders = Object.fromEntries(fromQuery);
    return result;
  }

  private contentHeaders(req: SigV4Request, fromQuery: ReadonlyMap<string, string>): { contentMd5: string; contentType: string } {
    // A header sent as well wins, as it does for what is stored: the signature covers what is used.
    return {
      contentMd5: headerOf(req, 'content-md5') ?? fromQuery.get('content-md5') ?? '',
      contentType: headerOf(req, 'content-type') ?? fromQuery.get('content-type') ?? '',
    };
  }

  private secretOf(accessKey: string): string {
    const secret = this.options.lookup(accessKey);
    if (secret === undefined) throw new S3Error('InvalidAccessKeyId', undefined, { extra: { AWSAccessKeyId: accessKey } });
    return secret;
  }

  /**
   * Compares the signature with each candidate string to sign, for each form of the resource: the
   * path as sent first, then (when it differs) the path with every segment encoded as AWS encodes it.
   */
  private checkSignature(req: SigV4Request, accessKey: string, secret: string, signature: string, candidates: StringToSignParts[]): void {
    const { path, query } = splitUrl(req.url);
    const hostBucket = virtualHostBucket(headerOf(req, 'host'), this.options.domains);
    const resources = [canonicalResource(path, query, hostBucket)];
    const encoded = path
      .split('/')
      .map((s) => encodeURIComponent(decodeValue(s)).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
      .join('/');
    if (encoded !== path) resources.push(canonicalResource(encoded, query, hostBucket));
    // A path-style request for the bucket itself: `/bucket` and `/bucket/` name the same resource, and
    // botocore signs the latter whichever it sends.
    if (hostBucket === undefined && /^\/[^/]+\/?$/.test(path)) {
      resources.push(canonicalResource(path.endsWith('/') ? path.slice(0, -1) : `${path}/`, query));
    }
    let first: string | undefined;
    for (const resource of resources) {
      for (const parts of candidates) {
        const text = stringToSignV2({ ...parts, resource });
        first ??= text;
        // Header values arrive as bytes (Node reads them as latin1): the client signed exactly those.
        if (constantTimeEqualHex(signV2(secret, Buffer.from(text, 'latin1')), signature)) return;
        // eslint-disable-next-line no-control-regex -- the test is for bytes outside ASCII, NUL included
        if (/[^\x00-\x7f]/.test(text) && constantTimeEqualHex(signV2(secret, text), signature)) return;
      }
    }
    throw mismatch(accessKey, first!);
  }

  private result(req: SigV4Request, accessKey: string, method: 'header' | 'presigned', time: Date): AuthResult {
    const declared = headerOf(req, 'x-amz-content-sha256')?.trim();
    let payload: ReturnType<typeof payloadModeOf> = { mode: 'unsigned' };
    if (declared !== undefined) {
      payload = payloadModeOf(declared);
      if (payload.mode !== 'signed' && payload.mode !== 'unsigned') {
        throw new S3Error(
          'InvalidRequest',
          'An aws-chunked (STREAMING-*) payload needs Signature Version 4: its chunks are signed with a V4 key.',
        );
      }
    }
    const result = {
      accessKey,
      method,
      payloadMode: payload.mode,
      scope: '',
      seedSignature: '',
      amzDate: formatAmzDate(time),
    } as AuthResult;
    if (payload.sha256 !== undefined) result.declaredSha256 = payload.sha256;
    // V2 derives no signing key (nothing downstream verifies chunk signatures for it).
    Object.defineProperty(result, 'signingKey', { value: Buffer.alloc(0), enumerable: false });
    return result;
  }
}
