// Object and bucket tagging: Put/Get/DeleteObjectTagging, Put/Get/DeleteBucketTagging, and the tag set a
// write takes from x-amz-tagging. Tagging an object changes neither its ETag nor its Last-Modified.
import { S3Error } from '../../s3/errors.js';
import { parseTagging, parseTaggingHeader, taggingDocument } from '../../s3/tagging.js';
import { parseVersionId, resolveVersion } from '../../object-service/version-id.js';
import type { Tag } from '../../storage/types.js';
import { amzValue } from '../amz-values.js';
import type { S3Call } from '../services.js';
import { sendXML, setHeaders } from '../reply.js';
import { smallBody } from './buckets.js';
import { configurationDocument } from '../../s3/configuration-body.js';

/** 50 bucket tags of 128 + 256 characters fit even written as character references (&#x4E2D; per character). */
const TAGGING_BODY_LIMIT = 256 * 1024;

/** The tag set of x-amz-tagging on PutObject and CreateMultipartUpload, as metadata to spread: `{ tags }` or `{}`. */
export function tagsOfRequest(c: S3Call): { tags?: Tag[] } {
  const value = amzValue(c, 'x-amz-tagging');
  if (value === undefined) return {};
  const tags = parseTaggingHeader(value);
  return tags.length > 0 ? { tags } : {};
}

/**
 * CopyObject's target tags: undefined copies the source's (x-amz-tagging-directive COPY, the default); with
 * REPLACE, the tag set of x-amz-tagging (none when it is absent).
 */
export function copyTags(c: S3Call): Tag[] | undefined {
  const directive = (amzValue(c, 'x-amz-tagging-directive') ?? 'COPY').toUpperCase();
  if (directive === 'COPY') return undefined;
  if (directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 'Unknown tagging directive: x-amz-tagging-directive must be COPY or REPLACE.', {
      extra: { ArgumentName: 'x-amz-tagging-directive', ArgumentValue: directive.slice(0, 64) },
    });
  }
  return tagsOfRequest(c).tags ?? [];
}

/**
 * Replaces the tags of the version the request names (the latest without versionId), found as a GET finds it:
 * a delete marker has no tags to change (404/405 with x-amz-delete-marker).
 */
async function retag(c: S3Call, tags: Tag[]): Promise<void> {
  const versionId = parseVersionId(c.query.get('versionId'));
  const { record, headers } = await resolveVersion(c.svc.store, c.bucket, c.key, versionId);
  await c.svc.store.putObjectTags(c.bucket, c.key, tags, record.versionId);
  setHeaders(c.res, headers);
}

export async function putObjectTagging(c: S3Call): Promise<void> {
  const tags = parseTagging(configurationDocument(await smallBody(c, TAGGING_BODY_LIMIT)), 'object');
  await retag(c, tags);
  c.res.status(200).end();
}

/** An object without tags answers an empty TagSet (AWS does; only buckets have NoSuchTagSet). */
export async function getObjectTagging(c: S3Call): Promise<void> {
  const { record, headers } = await resolveVersion(c.svc.store, c.bucket, c.key, parseVersionId(c.query.get('versionId')));
  setHeaders(c.res, headers);
  sendXML(c.res, 'Tagging', taggingDocument(record.tags ?? []));
}

export async function deleteObjectTagging(c: S3Call): Promise<void> {
  await retag(c, []);
  c.res.status(204).end();
}

/** An empty TagSet removes the bucket's tags, as AWS does. */
export async function putBucketTagging(c: S3Call): Promise<void> {
  const tags = parseTagging(configurationDocument(await smallBody(c, TAGGING_BODY_LIMIT)), 'bucket');
  await c.svc.store.putBucketSetting(c.bucket, 'tagging', tags.length > 0 ? tags : undefined);
  c.res.status(200).end();
}

export async function getBucketTagging(c: S3Call): Promise<void> {
  const tags = await c.svc.store.getBucketSetting(c.bucket, 'tagging');
  if (!tags) throw new S3Error('NoSuchTagSet', undefined, { extra: { BucketName: c.bucket } });
  sendXML(c.res, 'Tagging', taggingDocument(tags));
}

export async function deleteBucketTagging(c: S3Call): Promise<void> {
  await c.svc.store.putBucketSetting(c.bucket, 'tagging', undefined);
  c.res.status(204).end();
}
