import { S3Error } from '../../s3/errors.js';
import { bucketNameProblem } from '../../s3/names.js';
import type { BucketInfo } from '../../storage/types.js';
import type { S3Call } from '../services.js';
import { OWNER } from '../owner.js';
import { isoDate, sendXML } from '../reply.js';

/** AWS's page size when a paging or filter parameter is given without max-buckets, and the largest allowed. */
const MAX_BUCKETS = 10000;
const PAGING_PARAMS = ['max-buckets', 'continuation-token', 'prefix', 'bucket-region'];

// Continuation tokens are opaque to clients: the base64url of the last bucket name returned.
const encodeToken = (name: string): string => Buffer.from(name, 'utf8').toString('base64url');

function decodeToken(token: string): string {
  const name = Buffer.from(token, 'base64url').toString('utf8');
  if (encodeToken(name) !== token || bucketNameProblem(name) !== undefined) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { extra: { ArgumentName: 'continuation-token' } });
  }
  return name;
}

function maxBuckets(q: URLSearchParams): number {
  const v = q.get('max-buckets');
  if (v === null) return MAX_BUCKETS;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > MAX_BUCKETS) {
    throw new S3Error('InvalidArgument', `max-buckets must be an integer between 1 and ${MAX_BUCKETS}.`, {
      extra: { ArgumentName: 'max-buckets', ArgumentValue: v },
    });
  }
  return Number(v);
}

/**
 * ListBuckets, with AWS's paging (max-buckets, continuation-token) and filters (prefix, bucket-region).
 * A request with none of them is answered whole, as before paging existed.
 */
export async function listBuckets(c: S3Call): Promise<void> {
  const q = c.query;
  const paged = PAGING_PARAMS.some((p) => q.has(p));
  const limit = maxBuckets(q);
  const prefix = q.get('prefix') ?? '';
  const region = q.get('bucket-region') || undefined;
  const token = q.get('continuation-token') || undefined;
  const after = token !== undefined ? decodeToken(token) : undefined;

  // Every bucket lives in the gateway's one region. Names are ASCII, so `>` is S3's byte order.
  const all = region !== undefined && region !== c.svc.config.region ? [] : await c.svc.store.listBuckets();
  const matching = all.filter((b) => b.name.startsWith(prefix) && (after === undefined || b.name > after));
  const page: BucketInfo[] = paged ? matching.slice(0, limit) : matching;
  const truncated = page.length < matching.length;
  sendXML(c.res, 'ListAllMyBucketsResult', {
    Owner: OWNER,
    Buckets: {
      Bucket: page.map((b) => ({
        Name: b.name,
        CreationDate: isoDate(b.createdAt),
        // AWS names each bucket's region once the request uses any of the paging parameters.
        ...(paged ? { BucketRegion: c.svc.config.region } : {}),
      })),
    },
    ...(truncated ? { ContinuationToken: encodeToken(page.at(-1)!.name) } : {}),
    ...(q.has('prefix') ? { Prefix: prefix } : {}),
  });
}
