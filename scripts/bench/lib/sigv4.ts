// A lean SigV4 header signer for load generators, built on the gateway's own canonical-request
// functions: the benchmark's client must cost little CPU (it shares 2 cores with the servers), so
// it signs by hand instead of going through the SDK's middleware stack.
import {
  ALGORITHM,
  canonicalHeaders,
  canonicalQueryString,
  canonicalRequest,
  credentialScope,
  deriveSigningKey,
  formatAmzDate,
  signatureHex,
  stringToSign,
  uriEncode,
} from '@kesgate/gateway';

export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface Credentials {
  accessKey: string;
  secretKey: string;
  region: string;
}

export interface ToSign {
  method: string;
  host: string;
  /** Already URI-encoded path, e.g. from s3Path(). */
  path: string;
  /** Raw query string without '?'. */
  query?: string;
  /** Extra headers to send; the x-amz-* ones and content-type/content-md5 are signed. */
  headers?: Record<string, string>;
  /** Hex SHA-256 of the body, or UNSIGNED-PAYLOAD. */
  payloadHash: string;
}

/** `/bucket/key` with every segment encoded as S3 expects (slashes kept). */
export function s3Path(bucket: string, key?: string): string {
  return key === undefined ? `/${uriEncode(bucket)}` : `/${uriEncode(bucket)}/${uriEncode(key, false)}`;
}

export class Signer {
  private keyDate = '';
  private key: Buffer = Buffer.alloc(0);

  constructor(private readonly creds: Credentials) {}

  /** The headers to send: the given ones plus host, x-amz-date, x-amz-content-sha256 and authorization. */
  sign(req: ToSign, now: Date = new Date()): Record<string, string> {
    const amzDate = formatAmzDate(now);
    const date = amzDate.slice(0, 8);
    if (date !== this.keyDate) {
      this.key = deriveSigningKey(this.creds.secretKey, date, this.creds.region, 's3');
      this.keyDate = date;
    }
    const headers: Record<string, string> = {};
    for (const [n, v] of Object.entries(req.headers ?? {})) headers[n.toLowerCase()] = v;
    headers.host = req.host;
    headers['x-amz-date'] = amzDate;
    headers['x-amz-content-sha256'] = req.payloadHash;
    const signed = Object.keys(headers)
      .filter((n) => n === 'host' || n.startsWith('x-amz-') || n === 'content-type' || n === 'content-md5')
      .sort();
    const scope = credentialScope(date, this.creds.region, 's3');
    const text = canonicalRequest({
      method: req.method,
      canonicalUri: req.path,
      canonicalQuery: canonicalQueryString(req.query ?? ''),
      canonicalHeaders: canonicalHeaders(Object.fromEntries(signed.map((n) => [n, [headers[n]!]])), signed),
      signedHeaders: signed,
      payloadHash: req.payloadHash,
    });
    const signature = signatureHex(this.key, stringToSign(amzDate, scope, text));
    headers.authorization = `${ALGORITHM} Credential=${this.creds.accessKey}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
    return headers;
  }
}
