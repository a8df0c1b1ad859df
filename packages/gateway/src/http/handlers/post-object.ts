// POST Object: a browser form upload to `POST /bucket` (or `POST /` of a virtual-host bucket). The
// form's signed policy is verified before a byte of the file is read; the file then streams through the
// same encrypted write as PutObject (SSE fields, the bucket's default encryption, metadata).
import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Transform, type TransformCallback } from 'node:stream';
import { credentialLookup } from '../../config/credentials.js';
import { virtualHostBucket } from '../../s3/addressing.js';
import { uriEncode } from '../../s3/auth/canonical.js';
import { verifyPostSignature } from '../../s3/auth/post-signature.js';
import { MAX_SINGLE_PUT } from '../../s3/body.js';
import { S3Error } from '../../s3/errors.js';
import { checkPostPolicy, parsePostPolicy } from '../../s3/post-policy.js';
import { toXML } from '../../s3/xml.js';
import { putObject, verified } from '../../object-service/write.js';
import { checkStorageClass } from '../../s3/storage-class.js';
import { parseWriteSSE } from '../../sse/headers.js';
import { STANDARD_HEADERS } from '../../storage/types.js';
import type { S3Call } from '../services.js';
import { readPostForm } from '../post-form.js';
import { objectMetadata, requireTLSForSSEC } from '../request.js';
import { setHeaders } from '../reply.js';

/** Form fields that set what PutObject takes from headers. */
const HEADER_FIELDS: ReadonlySet<string> = new Set(['content-type', ...STANDARD_HEADERS]);
const isHeaderField = (name: string): boolean =>
  HEADER_FIELDS.has(name) || name.startsWith('x-amz-meta-') || name.startsWith('x-amz-server-side-encryption');

/** Fields whose values are credentials or the policy: `${filename}` is not theirs to expand. */
const NOT_EXPANDED: ReadonlySet<string> = new Set(['policy', 'signature', 'x-amz-signature', 'awsaccesskeyid', 'x-amz-credential']);

/** `${filename}` in any field becomes the name of the uploaded file, as AWS expands it before checking the policy. */
function expandFilename(fields: ReadonlyMap<string, string>, filename: string): Map<string, string> {
  return new Map([...fields].map(([name, value]) => [name, NOT_EXPANDED.has(name) ? value : value.replaceAll('${filename}', filename)]));
}

/**
 * The fields as the request headers PutObject reads. Values go in as the bytes of their UTF-8, read as
 * latin1: the form a header value has when Node parses it, so both paths store the same thing.
 */
function headersOf(fields: ReadonlyMap<string, string>): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of fields) if (isHeaderField(name)) headers[name] = Buffer.from(value, 'utf8').toString('latin1');
  return headers;
}

/** Passes the file through while counting it: beyond `max` → EntityTooLarge at once, short of `min` → EntityTooSmall at the end. */
class SizeRange extends Transform {
  private size = 0;

  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.max) {
      callback(
        new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
          extra: { MaxSizeAllowed: String(this.max) },
        }),
      );
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.size < this.min) {
      callback(
        new S3Error('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
          extra: { ProposedSize: String(this.size), MinSizeAllowed: String(this.min) },
        }),
      );
      return;
    }
    callback();
  }
}

/** Where the new object is, as a URL of this gateway (path-style or virtual-host-style, as the request was). */
function locationOf(c: S3Call, key: string): string {
  const scheme = (c.req.socket as TLSSocket).encrypted ? 'https' : 'http';
  const host = c.req.headers.host ?? 'localhost';
  const hostBucket = virtualHostBucket(host, c.svc.config.domains) !== undefined;
  return `${scheme}://${host}/${hostBucket ? '' : `${uriEncode(c.bucket)}/`}${uriEncode(key, false)}`;
}

/** `success_action_redirect` (or the older `redirect`) as a URL, or undefined when absent or not an http(s) URL (AWS ignores those). */
function redirectOf(fields: ReadonlyMap<string, string>): URL | undefined {
  const value = fields.get('success_action_redirect') ?? fields.get('redirect');
  if (value === undefined || value === '') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

export async function postObjectHandler(c: S3Call): Promise<void> {
  const form = await readPostForm(c.req);
  try {
    const fields = expandFilename(form.fields, form.filename);
    const key = fields.get('key');
    if (key === undefined) {
      throw new S3Error(
        'InvalidArgument',
        "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
        {
          extra: { ArgumentName: 'key', ArgumentValue: '' },
        },
      );
    }
    verifyPostSignature(fields, { lookup: credentialLookup(c.svc.config), region: c.svc.config.region });
    const policy = parsePostPolicy(fields.get('policy')!);
    checkPostPolicy(policy, fields, c.bucket, new Date());
    checkStorageClass(fields.get('x-amz-storage-class'));

    requireTLSForSSEC(c.req, c.svc.config.sse.allowInsecureSSEC, fields.keys());
    const headers = headersOf(fields);
    const metadata = objectMetadata(headers);
    const sse = c.svc.enc.choose(parseWriteSSE(headers), await c.svc.store.getBucketEncryption(c.bucket));
    const max = Math.min(policy.maxSize ?? MAX_SINGLE_PUT, MAX_SINGLE_PUT);
    const ranged = new SizeRange(policy.minSize, max);
    form.file.on('error', (err) => ranged.destroy(err));
    form.file.pipe(ranged);
    const body = verified(ranged, { maxSize: MAX_SINGLE_PUT, md5: c.svc.enc.mode(sse.kind).etagIsMD5 });
    body.on('error', () => {}); // seen by putObject's pipeline; must not be an uncaught error before it starts
    const r = await putObject(c.svc, { bucket: c.bucket, key, sse, metadata, body });
    respond(c, key, fields, r.headers);
  } catch (err) {
    form.abort();
    throw err;
  }
}

/** 303 to success_action_redirect; else success_action_status 200 (empty), 201 (PostResponse XML) or 204 (the default). */
function respond(c: S3Call, key: string, fields: ReadonlyMap<string, string>, headers: Record<string, string>): void {
  setHeaders(c.res, headers);
  const etag = headers.etag!;
  const location = locationOf(c, key);
  const redirect = redirectOf(fields);
  if (redirect) {
    redirect.searchParams.append('bucket', c.bucket);
    redirect.searchParams.append('key', key);
    redirect.searchParams.append('etag', etag);
    c.res.status(303).setHeader('Location', redirect.toString());
    c.res.end();
    return;
  }
  c.res.setHeader('Location', location);
  const status = fields.get('success_action_status');
  if (status === '201') {
    const xml = toXML('PostResponse', { Location: location, Bucket: c.bucket, Key: key, ETag: etag }, { namespace: false });
    c.res.status(201).setHeader('Content-Type', 'application/xml');
    c.res.end(xml);
    return;
  }
  c.res.status(status === '200' ? 200 : 204).end();
}
