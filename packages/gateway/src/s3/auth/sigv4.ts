// Verification of AWS Signature Version 4 requests: the Authorization header and presigned URLs.
// The payload itself is verified later, while it streams (see chunked.ts and checksums.ts); this
// module says how (payloadMode) and hands over what that needs (signing key, seed signature).
import { createHash, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../errors.js';
import {
  ALGORITHM,
  canonicalHeaders,
  canonicalQueryString,
  canonicalRequest,
  canonicalRequestBytes,
  canonicalUriCandidates,
  credentialScope,
  deriveSigningKey,
  EMPTY_SHA256,
  formatAmzDate,
  parseAmzDate,
  signatureHex,
  stringToSign,
} from './canonical.js';

export type PayloadMode = 'signed' | 'unsigned' | 'streaming-signed' | 'streaming-unsigned-trailer' | 'streaming-signed-trailer';

/** Returns the secret key of an access key, or undefined when the access key is unknown. */
export type CredentialLookup = (accessKey: string) => string | undefined;

/** The parts of an HTTP request that SigV4 covers. */
export interface SigV4Request {
  method: string;
  /** The request target exactly as sent (`req.originalUrl`): path and query, still percent-encoded. */
  url: string;
  /** Header values by lowercase name, repeats kept apart (`req.headersDistinct`). */
  headers: Readonly<Record<string, readonly string[] | undefined>>;
}

export interface SigV4Options {
  lookup: CredentialLookup;
  region: string;
  service?: string;
  now?: () => Date;
  /** Allowed difference between the request time and the server clock; AWS allows 15 minutes. */
  maxSkewMs?: number;
}

export interface AuthResult {
  accessKey: string;
  method: 'header' | 'presigned';
  payloadMode: PayloadMode;
  /** Hex SHA-256 of the payload, when the request signed one (payloadMode 'signed'). */
  declaredSha256?: string;
  /** Derived key for chunk and trailer signatures. Not enumerable, so it stays out of logs and JSON. */
  readonly signingKey: Buffer;
  scope: string;
  /** The request's signature: the seed of the chunk-signature chain. */
  seedSignature: string;
  amzDate: string;
  /** For presigned URLs, when the URL stops being valid. */
  expiresAt?: Date;
  /**
   * Headers a SigV2 presigned URL carries, signed, in its query (x-amz-*, Content-Type, Content-MD5, as
   * botocore puts them there): they apply to the request as if sent as headers.
   */
  queryHeaders?: Record<string, string>;
}

export const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_EXPIRES = 604800;

const STREAMING_MODES: Record<string, PayloadMode> = {
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD': 'streaming-signed',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER': 'streaming-unsigned-trailer',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': 'streaming-signed-trailer',
};

const QUERY_AUTH_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'];

// Header values that must never be echoed back in an error body (SSE-C keys).
const SECRET_HEADERS = /^x-amz-(copy-source-)?server-side-encryption-customer-key$/;

const CACHE_LIMIT = 1024;

export function header(req: SigV4Request, name: string): string | undefined {
  const v = req.headers[name];
  return v === undefined || v.length === 0 ? undefined : v.join(',');
}

export function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q >= 0 ? { path: url.slice(0, q), query: url.slice(q + 1) } : { path: url, query: '' };
}

/** Query parameters decoded once (for reading auth parameters, not for the canonical form). */
export function queryParams(query: string): Map<string, string> {
  const out = new Map<string, string>();
  if (query === '') return out;
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const decode = (s: string): string => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        return s;
      }
    };
    const name = decode(eq >= 0 ? piece.slice(0, eq) : piece);
    if (!out.has(name)) out.set(name, decode(eq >= 0 ? piece.slice(eq + 1) : ''));
  }
  return out;
}

interface ParsedAuth {
  accessKey: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

export type Malformed = (message: string, extra?: Record<string, string>) => S3Error;

export function parseCredential(credential: string, malformed: Malformed): Omit<ParsedAuth, 'signedHeaders' | 'signature'> {
  const parts = credential.split('/');
  if (parts.length < 5 || parts.slice(-4).some((p) => p === '') || parts.slice(0, -4).join('/') === '') {
    throw malformed('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
  }
  const [date, region, service, terminator] = parts.slice(-4) as [string, string, string, string];
  return { accessKey: parts.slice(0, -4).join('/'), date, region, service, terminator };
}

function parseSignedHeaders(value: string, malformed: Malformed): string[] {
  const names = value.split(';');
  if (names.some((n) => n === '' || n !== n.toLowerCase().trim())) {
    throw malformed('SignedHeaders must be a semicolon-separated list of lowercase header names.');
  }
  if (!names.includes('host')) throw malformed("SignedHeaders must include 'host'.");
  return names;
}

function parseAuthorizationHeader(value: string): ParsedAuth {
  const malformed: Malformed = (m, extra) =>
    new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${m}`, extra ? { extra } : {});
  const space = value.indexOf(' ');
  const algorithm = space >= 0 ? value.slice(0, space) : value;
  if (algorithm !== ALGORITHM) {
    if (algorithm === 'AWS' || algorithm === 'AWS4-ECDSA-P256-SHA256') {
      throw new S3Error('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
    }
    throw new S3Error('InvalidArgument', 'Unsupported Authorization Type', {
      extra: { ArgumentName: 'Authorization', ArgumentValue: algorithm },
    });
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq <= 0) throw malformed(`"${p.slice(0, 40)}" is not a name=value pair.`);
    const name = p.slice(0, eq);
    if (fields.has(name)) throw malformed(`${name} is given twice.`);
    fields.set(name, p.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (credential === undefined) throw malformed('missing Credential.');
  if (signedHeaders === undefined) throw malformed('missing SignedHeaders.');
  if (signature === undefined) throw malformed('missing Signature.');
  return {
    ...parseCredential(credential, malformed),
    signedHeaders: parseSignedHeaders(signedHeaders, malformed),
    signature,
  };
}

export function constantTimeEqualHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  // Lengths are public (always 64 for a well-formed signature); compare same-length buffers only.
  return x.length === y.length && timingSafeEqual(x, y);
}

function redactedCanonicalRequest(text: string, signedHeaders: readonly string[]): string {
  const secret = signedHeaders.filter((h) => SECRET_HEADERS.test(h));
  if (secret.length === 0) return text;
  return text
    .split('\n')
    .map((line) => {
      const colon = line.indexOf(':');
      return colon > 0 && secret.includes(line.slice(0, colon)) ? `${line.slice(0, colon)}:<redacted>` : line;
    })
    .join('\n');
}

export class SigV4Verifier {
  private readonly service: string;
  private readonly now: () => Date;
  private readonly maxSkewMs: number;
  private readonly keyCache = new Map<string, { secretDigest: Buffer; key: Buffer }>();

  constructor(private readonly options: SigV4Options) {
    this.service = options.service ?? 's3';
    this.now = options.now ?? (() => new Date());
    this.maxSkewMs = options.maxSkewMs ?? MAX_SKEW_MS;
  }

  /** Verifies the request's signature; throws an S3Error saying why when it does not hold. */
  verify(req: SigV4Request): AuthResult {
    const authorization = header(req, 'authorization');
    const params = queryParams(splitUrl(req.url).query);
    const presigned = params.has('X-Amz-Algorithm') || params.has('X-Amz-Credential') || params.has('X-Amz-Signature');
    if (authorization !== undefined && presigned) {
      throw new S3Error(
        'InvalidArgument',
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
        { extra: { ArgumentName: 'Authorization', ArgumentValue: 'X-Amz-Algorithm' } },
      );
    }
    if (authorization !== undefined) return this.verifyHeader(req, authorization);
    if (presigned) return this.verifyPresigned(req, params);
    if (params.has('AWSAccessKeyId') || params.has('Signature')) {
      throw new S3Error('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
    }
    throw new S3Error('AccessDenied', 'Access Denied: this gateway accepts only requests signed with AWS Signature Version 4.');
  }

  private verifyHeader(req: SigV4Request, authorization: string): AuthResult {
    const auth = parseAuthorizationHeader(authorization);
    const malformed: Malformed = (m, extra) =>
      new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${m}`, extra ? { extra } : {});

    const amzDateHeader = header(req, 'x-amz-date');
    const dateHeader = header(req, 'date');
    let requestTime: Date | undefined;
    let amzDate: string;
    if (amzDateHeader !== undefined) {
      amzDate = amzDateHeader.trim();
      requestTime = parseAmzDate(amzDate);
    } else if (dateHeader !== undefined) {
      const t = Date.parse(dateHeader);
      requestTime = Number.isNaN(t) ? undefined : new Date(t);
      amzDate = requestTime ? formatAmzDate(requestTime) : '';
    } else {
      amzDate = '';
    }
    if (requestTime === undefined) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');

    this.checkScope(auth, amzDate, malformed);
    if (header(req, 'x-amz-security-token') !== undefined) {
      throw new S3Error('InvalidToken', 'The provided token is malformed or otherwise invalid: this gateway issues no session tokens.');
    }

    const unsigned = Object.keys(req.headers).filter((name) => name.startsWith('x-amz-') && !auth.signedHeaders.includes(name));
    if (unsigned.length > 0) {
      throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
        extra: { HeadersNotSigned: unsigned.join(', ') },
      });
    }

    let contentSha256 = header(req, 'x-amz-content-sha256')?.trim();
    if (contentSha256 === undefined) {
      // Generic SigV4 signers (curl --aws-sigv4 before 8.x) omit the header and sign the body's
      // hash. Without a body that hash is known, so such requests verify; with one, say how to fix it.
      const length = header(req, 'content-length');
      if ((length === undefined || length.trim() === '0') && header(req, 'transfer-encoding') === undefined) {
        contentSha256 = EMPTY_SHA256;
      } else {
        throw new S3Error(
          'InvalidRequest',
          "Missing required header for this request: x-amz-content-sha256 (send the payload's hex SHA-256 or UNSIGNED-PAYLOAD; with curl: -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD')",
        );
      }
    }
    const payload = payloadModeOf(contentSha256);

    const secret = this.secretOf(auth.accessKey);
    this.checkSkew(requestTime, amzDate);

    const signingKey = this.signingKey(auth.accessKey, secret, auth.date, auth.region, auth.service);
    const scope = credentialScope(auth.date, auth.region, auth.service);
    this.checkSignature(req, auth, amzDate, scope, signingKey, contentSha256, () => true);
    return this.result(auth, 'header', payload, signingKey, scope, amzDate);
  }

  private verifyPresigned(req: SigV4Request, params: Map<string, string>): AuthResult {
    const problem: Malformed = (m, extra) => new S3Error('AuthorizationQueryParametersError', m, extra ? { extra } : {});
    const missing = QUERY_AUTH_PARAMS.filter((p) => !params.has(p));
    if (missing.length > 0) {
      throw problem(
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
        { Missing: missing.join(', ') },
      );
    }
    if (params.get('X-Amz-Algorithm') !== ALGORITHM) throw problem('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    const credential = parseCredential(params.get('X-Amz-Credential')!, (m) =>
      problem(`Error parsing the X-Amz-Credential parameter; ${m}`),
    );
    const auth: ParsedAuth = {
      ...credential,
      signedHeaders: parseSignedHeaders(params.get('X-Amz-SignedHeaders')!, (m) => problem(`Error parsing X-Amz-SignedHeaders; ${m}`)),
      signature: params.get('X-Amz-Signature')!,
    };
    const amzDate = params.get('X-Amz-Date')!;
    const requestTime = parseAmzDate(amzDate);
    if (requestTime === undefined) throw problem("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    const expiresText = params.get('X-Amz-Expires')!;
    if (!/^\d{1,10}$/.test(expiresText)) throw problem('X-Amz-Expires should be a number');
    const expires = Number(expiresText);
    if (expires > MAX_PRESIGN_EXPIRES) throw problem(`X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGN_EXPIRES}`);
    this.checkScope(auth, amzDate, (m, extra) => problem(`Error parsing the X-Amz-Credential parameter; ${m}`, extra));
    if (params.has('X-Amz-Security-Token') || header(req, 'x-amz-security-token') !== undefined) {
      throw new S3Error('InvalidToken', 'The provided token is malformed or otherwise invalid: this gateway issues no session tokens.');
    }

    // A presigned URL signs no payload unless it names a hash (in the query or a signed header).
    const declared =
      params.get('X-Amz-Content-Sha256') ??
      (auth.signedHeaders.includes('x-amz-content-sha256') ? header(req, 'x-amz-content-sha256')?.trim() : undefined) ??
      'UNSIGNED-PAYLOAD';
    const payload = payloadModeOf(declared);
    if (payload.mode !== 'signed' && payload.mode !== 'unsigned') {
      throw new S3Error('InvalidRequest', 'A presigned URL cannot carry an aws-chunked (STREAMING-*) payload.');
    }

    const secret = this.secretOf(auth.accessKey);
    const now = this.now();
    if (requestTime.getTime() - now.getTime() > this.maxSkewMs) {
      throw new S3Error('AccessDenied', 'Request is not valid yet', {
        extra: { 'X-Amz-Date': amzDate, ServerTime: now.toISOString() },
      });
    }
    const expiresAt = new Date(requestTime.getTime() + expires * 1000);
    if (now.getTime() > expiresAt.getTime()) {
      throw new S3Error('AccessDenied', 'Request has expired', {
        extra: { 'X-Amz-Expires': expiresText, Expires: expiresAt.toISOString(), ServerTime: now.toISOString() },
      });
    }

    const signingKey = this.signingKey(auth.accessKey, secret, auth.date, auth.region, auth.service);
    const scope = credentialScope(auth.date, auth.region, auth.service);
    this.checkSignature(req, auth, amzDate, scope, signingKey, declared, (name) => name !== 'X-Amz-Signature');
    const result = this.result(auth, 'presigned', payload, signingKey, scope, amzDate);
    result.expiresAt = expiresAt;
    return result;
  }

  private checkScope(auth: ParsedAuth, amzDate: string, malformed: Malformed): void {
    if (auth.date !== amzDate.slice(0, 8)) {
      throw malformed(`Invalid credential date "${auth.date}". Date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
    }
    if (auth.region !== this.options.region) {
      throw malformed(`the region '${auth.region}' is wrong; expecting '${this.options.region}'`, { Region: this.options.region });
    }
    if (auth.service !== this.service) {
      throw malformed(`incorrect service "${auth.service}". This endpoint belongs to "${this.service}".`);
    }
    if (auth.terminator !== 'aws4_request') {
      throw malformed(`incorrect terminal "${auth.terminator}". This endpoint uses "aws4_request".`);
    }
  }

  private secretOf(accessKey: string): string {
    const secret = this.options.lookup(accessKey);
    if (secret === undefined) {
      throw new S3Error('InvalidAccessKeyId', undefined, { extra: { AWSAccessKeyId: accessKey } });
    }
    return secret;
  }

  private checkSkew(requestTime: Date, amzDate: string): void {
    const now = this.now();
    if (Math.abs(now.getTime() - requestTime.getTime()) > this.maxSkewMs) {
      throw new S3Error('RequestTimeTooSkewed', undefined, {
        extra: { RequestTime: amzDate, ServerTime: now.toISOString(), MaxAllowedSkewMilliseconds: String(this.maxSkewMs) },
      });
    }
  }

  private checkSignature(
    req: SigV4Request,
    auth: ParsedAuth,
    amzDate: string,
    scope: string,
    signingKey: Buffer,
    payloadHash: string,
    includeParam: (name: string) => boolean,
  ): void {
    const { path, query } = splitUrl(req.url);
    const headersText = canonicalHeaders(req.headers, auth.signedHeaders);
    const queries = [canonicalQueryString(query, (n) => !includeParam(n), true)];
    if (query.includes('+')) queries.push(canonicalQueryString(query, (n) => !includeParam(n), false));
    let first: { canonical: string; sts: string } | undefined;
    for (const canonicalUri of canonicalUriCandidates(path)) {
      for (const canonicalQuery of queries) {
        const canonical = canonicalRequest({
          method: req.method,
          canonicalUri,
          canonicalQuery,
          canonicalHeaders: headersText,
          signedHeaders: auth.signedHeaders,
          payloadHash,
        });
        const sts = stringToSign(amzDate, scope, canonicalRequestBytes(canonical));
        if (constantTimeEqualHex(signatureHex(signingKey, sts), auth.signature)) return;
        first ??= { canonical, sts };
        // Non-ASCII header values: clients sign the UTF-8 of their text but may put it on the wire
        // as UTF-8 (matched above) or as latin1 (Node's http client does, depending on the body
        // type); the latter is matched by hashing the latin1-decoded text as UTF-8.
        // eslint-disable-next-line no-control-regex -- the test is for bytes outside ASCII, NUL included
        if (/[^\x00-\x7f]/.test(canonical)) {
          const latin1Sts = stringToSign(amzDate, scope, canonical);
          if (constantTimeEqualHex(signatureHex(signingKey, latin1Sts), auth.signature)) return;
        }
      }
    }
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      extra: {
        AWSAccessKeyId: auth.accessKey,
        StringToSign: first!.sts,
        CanonicalRequest: redactedCanonicalRequest(first!.canonical, auth.signedHeaders),
      },
    });
  }

  private signingKey(accessKey: string, secret: string, date: string, region: string, service: string): Buffer {
    const cacheKey = `${accessKey}\n${date}\n${region}\n${service}`;
    const secretDigest = createHash('sha256').update(secret).digest();
    const hit = this.keyCache.get(cacheKey);
    if (hit && hit.secretDigest.equals(secretDigest)) return hit.key;
    const key = deriveSigningKey(secret, date, region, service);
    if (this.keyCache.size >= CACHE_LIMIT) this.keyCache.clear();
    this.keyCache.set(cacheKey, { secretDigest, key });
    return key;
  }

  private result(
    auth: ParsedAuth,
    method: 'header' | 'presigned',
    payload: { mode: PayloadMode; sha256?: string },
    signingKey: Buffer,
    scope: string,
    amzDate: string,
  ): AuthResult {
    const result = {
      accessKey: auth.accessKey,
      method,
      payloadMode: payload.mode,
      scope,
      seedSignature: auth.signature,
      amzDate,
    } as AuthResult;
    if (payload.sha256 !== undefined) result.declaredSha256 = payload.sha256;
    Object.defineProperty(result, 'signingKey', { value: signingKey, enumerable: false });
    return result;
  }
}

export function payloadModeOf(value: string): { mode: PayloadMode; sha256?: string } {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { mode: 'signed', sha256: value.toLowerCase() };
  if (value === 'UNSIGNED-PAYLOAD') return { mode: 'unsigned' };
  const streaming = STREAMING_MODES[value];
  if (streaming) return { mode: streaming };
  if (value.startsWith('STREAMING-AWS4-ECDSA-P256-SHA256')) {
    throw new S3Error('NotImplemented', 'Signature Version 4A (AWS4-ECDSA-P256-SHA256) is not supported; sign with AWS4-HMAC-SHA256.');
  }
  throw new S3Error(
    'InvalidArgument',
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value.',
    { extra: { ArgumentName: 'x-amz-content-sha256', ArgumentValue: value.slice(0, 80) } },
  );
}
