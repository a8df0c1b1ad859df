// Which way a request is signed, and the verifier for it: Signature Version 4 (header or presigned
// URL), Signature Version 2 (header or query string), or a browser form POST whose signature is in
// the form itself and is verified by the PostObject handler once the fields have been read.
import { parseAddress } from '../addressing.js';
import { S3Error } from '../errors.js';
import { SigV2Verifier } from './sigv2.js';
import { type AuthResult, header, queryParams, type SigV4Options, type SigV4Request, SigV4Verifier, splitUrl } from './sigv4.js';

export interface AuthenticatorOptions extends SigV4Options {
  /** The gateway's own domains, for virtual-host-style buckets (V2 signs the bucket of the Host header). */
  domains?: readonly string[];
}

const V4_QUERY = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature'];
const V2_QUERY = ['AWSAccessKeyId', 'Signature'];

export class RequestAuthenticator {
  private readonly v4: SigV4Verifier;
  private readonly v2: SigV2Verifier;

  constructor(private readonly options: AuthenticatorOptions) {
    this.v4 = new SigV4Verifier(options);
    this.v2 = new SigV2Verifier({
      lookup: options.lookup,
      ...(options.domains ? { domains: options.domains } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.maxSkewMs !== undefined ? { maxSkewMs: options.maxSkewMs } : {}),
    });
  }

  /**
   * Verifies the request's signature and says who signed it. Undefined for a browser form upload
   * (POST Object): its credentials and policy are form fields, checked by the handler before it stores anything.
   */
  authenticate(req: SigV4Request): AuthResult | undefined {
    const authorization = header(req, 'authorization');
    const params = queryParams(splitUrl(req.url).query);
    const v4Query = V4_QUERY.some((p) => params.has(p));
    const v2Query = V2_QUERY.some((p) => params.has(p));
    if ((authorization !== undefined && (v4Query || v2Query)) || (v4Query && v2Query)) {
      throw new S3Error(
        'InvalidArgument',
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
        { extra: { ArgumentName: 'Authorization' } },
      );
    }
    if (SigV2Verifier.applies(req)) return this.v2.verify(req);
    if (authorization !== undefined || v4Query) return this.v4.verify(req);
    if (this.isFormPost(req)) return undefined;
    throw new S3Error('AccessDenied', 'Access Denied: the request is not signed, and this gateway serves no anonymous requests.');
  }

  /** `POST /bucket` (path-style) or `POST /` (virtual-host) with a multipart/form-data body and no query. */
  private isFormPost(req: SigV4Request): boolean {
    if (req.method !== 'POST') return false;
    if (!/^multipart\/form-data\s*(;|$)/i.test(header(req, 'content-type') ?? '')) return false;
    const { path, query } = splitUrl(req.url);
    if (query !== '') return false;
    try {
      const address = parseAddress(header(req, 'host'), path, this.options.domains);
      return address.bucket !== undefined && address.key === undefined;
    } catch {
      return false;
    }
  }
}
