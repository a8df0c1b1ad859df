// encoding-type=url in listing answers. Clients ask for it so that keys holding characters XML 1.0
// cannot carry (or carries only normalised, like CR) survive the trip; botocore asks on every
// ListObjects, ListObjectsV2 and ListObjectVersions and URL-decodes the fields it knows AWS encodes.
import { S3Error } from '../s3/errors.js';

/** Kept as they are: RFC 3986's unreserved characters and '/', as AWS leaves them. */
const KEEP = /[A-Za-z0-9\-_.~/]/;

/**
 * A key or prefix URL-encoded as AWS writes it: UTF-8 bytes percent-encoded, space as '+', '/' and
 * the unreserved characters kept. Clients decode with a form decoder (unquote_plus, QueryUnescape),
 * so '+' in a key must be %2B and space may be '+'.
 */
function urlEncodeKey(s: string): string {
  let out = '';
  for (const ch of s) {
    if (KEEP.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The encoder the request's encoding-type asks for: URL-encoding for `url`, the identity when absent.
 * Any other value is refused as AWS refuses it.
 */
export function listEncoder(q: URLSearchParams): (s: string) => string {
  const t = q.get('encoding-type');
  if (t === null) return (s) => s;
  if (t !== 'url')
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      extra: { ArgumentName: 'encoding-type', ArgumentValue: t },
    });
  return urlEncodeKey;
}
