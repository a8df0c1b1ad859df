// A small SigV4 signer for the admin client, built on the same canonical-request functions the
// gateway verifies with. Signs the host, the date, the payload hash and any other header given.
import {
  ALGORITHM,
  canonicalHeaders,
  canonicalQueryString,
  canonicalRequest,
  credentialScope,
  deriveSigningKey,
  formatAmzDate,
  sha256Hex,
  signatureHex,
  stringToSign,
} from '../s3/auth/canonical.js';

export interface SigningCredentials {
  accessKey: string;
  secretKey: string;
  region: string;
  /** Default `s3`: the admin API lives on the S3 endpoint and is verified like any S3 request. */
  service?: string;
}

export interface RequestToSign {
  method: string;
  url: URL;
  /** Extra headers to send and sign (names are lower-cased). */
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** The headers to send: the given ones plus host, x-amz-date, x-amz-content-sha256 and authorization. */
export function signRequest(req: RequestToSign, creds: SigningCredentials, now: Date = new Date()): Record<string, string> {
  const service = creds.service ?? 's3';
  const amzDate = formatAmzDate(now);
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
  headers.host = req.url.host;
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = sha256Hex(req.body ?? '');
  const signed = Object.keys(headers).sort();
  const scope = credentialScope(date, creds.region, service);
  const text = canonicalRequest({
    method: req.method.toUpperCase(),
    canonicalUri: req.url.pathname || '/',
    canonicalQuery: canonicalQueryString(req.url.search.replace(/^\?/, '')),
    canonicalHeaders: canonicalHeaders(Object.fromEntries(signed.map((n) => [n, [headers[n]!]])), signed),
    signedHeaders: signed,
    payloadHash: headers['x-amz-content-sha256'],
  });
  const signature = signatureHex(deriveSigningKey(creds.secretKey, date, creds.region, service), stringToSign(amzDate, scope, text));
  headers.authorization = `${ALGORITHM} Credential=${creds.accessKey}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`;
  return headers;
}
