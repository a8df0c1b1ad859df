// Tag sets of objects and buckets: the `Tagging` document (Put/GetObjectTagging, Put/GetBucketTagging),
// the `x-amz-tagging` header (PutObject, CreateMultipartUpload, CopyObject) and AWS's limits on both.
import type { Tag } from '../storage/types.js';
import { S3Error } from './errors.js';
import { elements, parseXML, rootOf, textOf, element } from './xml.js';

const MAX_OBJECT_TAGS = 10;
const MAX_BUCKET_TAGS = 50;
const MAX_TAG_KEY_LENGTH = 128;
const MAX_TAG_VALUE_LENGTH = 256;

export type TagTarget = 'object' | 'bucket';

// AWS's tag pattern: Unicode letters, numbers and white space, and `_ . : / = + - @`.
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

function invalidTag(message: string, key?: string): S3Error {
  const shown = key === undefined ? '' : ` (tag key "${key.length > 64 ? `${key.slice(0, 64)}...` : key}")`;
  return new S3Error('InvalidTag', `${message}${shown}`);
}

/**
 * AWS's rules for a tag set: at most 10 tags on an object and 50 on a bucket, unique keys of 1..128
 * characters, values of 0..256, no `aws:` prefix, only the characters of TAG_CHARS. Lengths count UTF-16
 * code units, as S3 does ("object tags are internally represented in UTF-16"). → InvalidTag
 */
function validateTags(tags: readonly Tag[], target: TagTarget): void {
  const max = target === 'object' ? MAX_OBJECT_TAGS : MAX_BUCKET_TAGS;
  if (tags.length > max) {
    throw invalidTag(target === 'object' ? `Object tags cannot be greater than ${max}` : `Bucket tags cannot be greater than ${max}`);
  }
  const seen = new Set<string>();
  for (const { key, value } of tags) {
    if (key.length === 0) throw invalidTag('The TagKey you have provided is invalid: a tag key must not be empty.');
    if (key.length > MAX_TAG_KEY_LENGTH) throw invalidTag(`The TagKey you have provided is too long, max ${MAX_TAG_KEY_LENGTH}`, key);
    if (value.length > MAX_TAG_VALUE_LENGTH)
      throw invalidTag(`The TagValue you have provided is too long, max ${MAX_TAG_VALUE_LENGTH}`, key);
    if (key.toLowerCase().startsWith('aws:')) throw invalidTag('Your TagKey cannot be prefixed with aws:', key);
    if (!TAG_CHARS.test(key)) {
      throw invalidTag('The TagKey you have provided is invalid: tag keys may hold only letters, digits, spaces and + - = . _ : / @', key);
    }
    if (!TAG_CHARS.test(value)) {
      throw invalidTag(
        'The TagValue you have provided is invalid: tag values may hold only letters, digits, spaces and + - = . _ : / @',
        key,
      );
    }
    if (seen.has(key)) throw invalidTag('Cannot provide multiple Tags with the same key', key);
    seen.add(key);
  }
}

/** A `<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>` body, validated. → MalformedXML, InvalidTag */
export function parseTagging(body: string | Buffer, target: TagTarget): Tag[] {
  const root = rootOf(parseXML(body, { arrays: ['Tag'] }), 'Tagging');
  const tagSet = element(root, 'TagSet', 'Tagging');
  if (tagSet === undefined) throw new S3Error('MalformedXML', '<Tagging> needs a <TagSet> (empty to remove every tag).');
  const tags = elements(tagSet, 'Tag', 'TagSet').map((t): Tag => {
    const key = textOf(t, 'Key', 'Tag');
    const value = textOf(t, 'Value', 'Tag');
    if (key === undefined || value === undefined)
      throw new S3Error('MalformedXML', 'Every <Tag> needs a <Key> and a <Value> (which may be empty).');
    return { key, value };
  });
  validateTags(tags, target);
  return tags;
}

/** The body of GetObjectTagging / GetBucketTagging, for sendXML(res, 'Tagging', ...). */
export function taggingDocument(tags: readonly Tag[]): Record<string, unknown> {
  return { TagSet: { Tag: tags.map((t) => ({ Key: t.key, Value: t.value })) } };
}

/** One component of a URL query: `+` is a space, %XX an UTF-8 byte (application/x-www-form-urlencoded). */
function formDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * The `x-amz-tagging` header: URL-query-encoded `k1=v1&k2=v2` (`k` alone is a key with an empty value).
 * Bad encoding or a repeated key is AWS's InvalidArgument naming the header; the tags themselves are then
 * held to validateTags. An empty header is an empty tag set.
 */
export function parseTaggingHeader(value: string): Tag[] {
  const malformed = (): S3Error =>
    new S3Error(
      'InvalidArgument',
      "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.",
      {
        extra: { ArgumentName: 'x-amz-tagging', ArgumentValue: value.slice(0, 256) },
      },
    );
  const tags: Tag[] = [];
  const seen = new Set<string>();
  for (const pair of value.split('&')) {
    if (pair === '') continue;
    const [rawKey = '', rawValue = '', ...rest] = pair.split('=');
    const key = formDecode(rawKey);
    const val = formDecode(rawValue);
    // An `=` inside a key or value must be encoded (%3D): `k=a=b` is refused as AWS refuses it.
    if (key === undefined || key === '' || val === undefined || rest.length > 0 || seen.has(key)) throw malformed();
    seen.add(key);
    tags.push({ key, value: val });
  }
  validateTags(tags, 'object');
  return tags;
}
