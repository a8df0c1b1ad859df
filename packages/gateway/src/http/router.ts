import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../s3/errors.js';
import type { S3Handler } from './services.js';
import * as access from './handlers/access-settings.js';
import * as acl from './handlers/acl.js';
import * as b from './handlers/buckets.js';
import * as cors from './handlers/cors.js';
import { listObjects, listParts, listUploads } from './handlers/list.js';
import * as mp from './handlers/multipart.js';
import * as o from './handlers/objects.js';
import { postObjectHandler } from './handlers/post-object.js';
import * as tagging from './handlers/tagging.js';
import * as none from './handlers/unconfigured.js';
import * as versioning from './handlers/versioning.js';
import { listObjectVersionsHandler } from './handlers/versions.js';

export interface Route {
  operation: string;
  handler: S3Handler;
}

// Every S3 request is one row of a table: what it addresses (the service, a bucket, an object) × the
// sub-resource its query names ('' for none) × its method → the operation and its handler. An operation
// of AWS's the gateway does not implement has its row too and answers 501 naming it, so no request ever
// falls through to another operation (GET /bucket?policy must not list the bucket).

/** A row whose operation depends on more than the sub-resource (parameters, headers); undefined: none. */
type Choose = (q: URLSearchParams, headers: IncomingHttpHeaders) => Route | undefined;
type Row = Partial<Record<string, Route | Choose>>;
type Table = Record<string, Row>;

const r = (operation: string, handler: S3Handler): Route => ({ operation, handler });
const unimplemented = (operation: string): Route => r(operation, none.notImplemented(operation));

/**
 * Analytics, inventory, metrics and intelligent-tiering configurations: GET with an `id` (or the SDK's
 * x-id naming it) reads one, without lists them.
 */
function configurations(kind: string): Row {
  const get = `GetBucket${kind}Configuration`;
  const list = `ListBucket${kind}Configurations`;
  return {
    GET: (q) => unimplemented(q.get('x-id') === get || (q.get('x-id') !== list && q.has('id')) ? get : list),
    PUT: unimplemented(`PutBucket${kind}Configuration`),
    DELETE: unimplemented(`DeleteBucket${kind}Configuration`),
  };
}

const SERVICE: Table = {
  '': { GET: r('ListBuckets', b.listBuckets) },
};

const BUCKET: Table = {
  '': {
    GET: (q) => (q.get('list-type') === '2' ? r('ListObjectsV2', (c) => listObjects(c, 2)) : r('ListObjects', (c) => listObjects(c, 1))),
    HEAD: r('HeadBucket', b.headBucket),
    PUT: r('CreateBucket', b.createBucket),
    DELETE: r('DeleteBucket', b.deleteBucket),
    // POST Object: the browser form upload (authenticated by its signed policy, not SigV4 headers).
    POST: r('PostObject', postObjectHandler),
  },
  abac: { GET: unimplemented('GetBucketAbac'), PUT: unimplemented('PutBucketAbac') },
  accelerate: {
    GET: r('GetBucketAccelerateConfiguration', none.getBucketAccelerateConfiguration),
    PUT: unimplemented('PutBucketAccelerateConfiguration'),
  },
  acl: { GET: r('GetBucketAcl', acl.getBucketAcl), PUT: r('PutBucketAcl', acl.putBucketAcl) },
  analytics: configurations('Analytics'),
  cors: {
    GET: r('GetBucketCors', cors.getBucketCors),
    PUT: r('PutBucketCors', cors.putBucketCors),
    DELETE: r('DeleteBucketCors', cors.deleteBucketCors),
  },
  delete: { POST: r('DeleteObjects', o.deleteObjectsHandler) },
  encryption: {
    GET: r('GetBucketEncryption', b.getBucketEncryption),
    PUT: r('PutBucketEncryption', b.putBucketEncryption),
    DELETE: r('DeleteBucketEncryption', b.deleteBucketEncryption),
  },
  'intelligent-tiering': configurations('IntelligentTiering'),
  inventory: configurations('Inventory'),
  lifecycle: {
    GET: r('GetBucketLifecycleConfiguration', none.getBucketLifecycleConfiguration),
    PUT: unimplemented('PutBucketLifecycleConfiguration'),
    DELETE: r('DeleteBucketLifecycle', none.deleteBucketLifecycle),
  },
  location: { GET: r('GetBucketLocation', b.getBucketLocation) },
  logging: { GET: r('GetBucketLogging', none.getBucketLogging), PUT: unimplemented('PutBucketLogging') },
  metadataAnnotationTable: { PUT: unimplemented('UpdateBucketMetadataAnnotationTableConfiguration') },
  metadataConfiguration: {
    GET: unimplemented('GetBucketMetadataConfiguration'),
    POST: unimplemented('CreateBucketMetadataConfiguration'),
    DELETE: unimplemented('DeleteBucketMetadataConfiguration'),
  },
  metadataInventoryTable: { PUT: unimplemented('UpdateBucketMetadataInventoryTableConfiguration') },
  metadataJournalTable: { PUT: unimplemented('UpdateBucketMetadataJournalTableConfiguration') },
  metadataTable: {
    GET: unimplemented('GetBucketMetadataTableConfiguration'),
    POST: unimplemented('CreateBucketMetadataTableConfiguration'),
    DELETE: unimplemented('DeleteBucketMetadataTableConfiguration'),
  },
  metrics: configurations('Metrics'),
  notification: {
    GET: r('GetBucketNotificationConfiguration', none.getBucketNotificationConfiguration),
    PUT: unimplemented('PutBucketNotificationConfiguration'),
  },
  'object-lock': {
    GET: r('GetObjectLockConfiguration', none.getObjectLockConfiguration),
    PUT: unimplemented('PutObjectLockConfiguration'),
  },
  ownershipControls: {
    GET: r('GetBucketOwnershipControls', access.getBucketOwnershipControls),
    PUT: r('PutBucketOwnershipControls', access.putBucketOwnershipControls),
    DELETE: r('DeleteBucketOwnershipControls', access.deleteBucketOwnershipControls),
  },
  policy: {
    GET: r('GetBucketPolicy', none.getBucketPolicy),
    PUT: unimplemented('PutBucketPolicy'),
    DELETE: r('DeleteBucketPolicy', none.deleteBucketPolicy),
  },
  policyStatus: { GET: r('GetBucketPolicyStatus', none.getBucketPolicyStatus) },
  publicAccessBlock: {
    GET: r('GetPublicAccessBlock', access.getPublicAccessBlock),
    PUT: r('PutPublicAccessBlock', access.putPublicAccessBlock),
    DELETE: r('DeletePublicAccessBlock', access.deletePublicAccessBlock),
  },
  replication: {
    GET: r('GetBucketReplication', none.getBucketReplication),
    PUT: unimplemented('PutBucketReplication'),
    DELETE: r('DeleteBucketReplication', none.deleteBucketReplication),
  },
  requestPayment: { GET: r('GetBucketRequestPayment', none.getBucketRequestPayment), PUT: unimplemented('PutBucketRequestPayment') },
  session: { GET: unimplemented('CreateSession') },
  tagging: {
    GET: r('GetBucketTagging', tagging.getBucketTagging),
    PUT: r('PutBucketTagging', tagging.putBucketTagging),
    DELETE: r('DeleteBucketTagging', tagging.deleteBucketTagging),
  },
  uploads: { GET: r('ListMultipartUploads', listUploads) },
  versioning: {
    GET: r('GetBucketVersioning', versioning.getBucketVersioning),
    PUT: r('PutBucketVersioning', versioning.putBucketVersioning),
  },
  versions: { GET: r('ListObjectVersions', listObjectVersionsHandler) },
  website: {
    GET: r('GetBucketWebsite', none.getBucketWebsite),
    PUT: unimplemented('PutBucketWebsite'),
    DELETE: r('DeleteBucketWebsite', none.deleteBucketWebsite),
  },
};

const OBJECT: Table = {
  '': {
    GET: (q) => (q.has('uploadId') ? r('ListParts', listParts) : r('GetObject', o.getObjectHandler)),
    HEAD: r('HeadObject', o.headObjectHandler),
    PUT: (q, headers) => {
      const copy = headers['x-amz-copy-source'] !== undefined;
      if (q.has('uploadId') || q.has('partNumber')) {
        if (!q.has('uploadId') || !q.has('partNumber'))
          throw new S3Error('InvalidRequest', 'UploadPart needs both partNumber and uploadId.');
        return copy ? r('UploadPartCopy', mp.uploadPartCopyHandler) : r('UploadPart', mp.uploadPartHandler);
      }
      return copy ? r('CopyObject', o.copyObjectHandler) : r('PutObject', o.putObjectHandler);
    },
    DELETE: (q) => (q.has('uploadId') ? r('AbortMultipartUpload', mp.abortUploadHandler) : r('DeleteObject', o.deleteObjectHandler)),
    POST: (q) => (q.has('uploadId') ? r('CompleteMultipartUpload', mp.completeUploadHandler) : undefined),
  },
  acl: { GET: r('GetObjectAcl', acl.getObjectAcl), PUT: r('PutObjectAcl', acl.putObjectAcl) },
  annotation: {
    GET: (q) =>
      unimplemented(
        q.get('x-id') === 'ListObjectAnnotations' || (q.get('x-id') === null && !q.has('annotationName'))
          ? 'ListObjectAnnotations'
          : 'GetObjectAnnotation',
      ),
    PUT: unimplemented('PutObjectAnnotation'),
    DELETE: unimplemented('DeleteObjectAnnotation'),
  },
  attributes: { GET: r('GetObjectAttributes', o.getObjectAttributesHandler) },
  encryption: { PUT: unimplemented('UpdateObjectEncryption') },
  'legal-hold': { GET: unimplemented('GetObjectLegalHold'), PUT: unimplemented('PutObjectLegalHold') },
  renameObject: { PUT: unimplemented('RenameObject') },
  restore: { POST: unimplemented('RestoreObject') },
  retention: { GET: unimplemented('GetObjectRetention'), PUT: unimplemented('PutObjectRetention') },
  select: { POST: unimplemented('SelectObjectContent') },
  tagging: {
    GET: r('GetObjectTagging', tagging.getObjectTagging),
    PUT: r('PutObjectTagging', tagging.putObjectTagging),
    DELETE: r('DeleteObjectTagging', tagging.deleteObjectTagging),
  },
  torrent: { GET: unimplemented('GetObjectTorrent') },
  uploads: { POST: r('CreateMultipartUpload', mp.createUploadHandler) },
};

/** The query names S3 gives its sub-resources: each selects an operation, with or without a value. */
const SUBRESOURCES: ReadonlySet<string> = new Set([...Object.keys(BUCKET), ...Object.keys(OBJECT)].filter((s) => s !== ''));

/**
 * Request parameters of S3's operations (they carry a value and never select one), plus x-id (the SDK's
 * operation hint), the selector parameters of ListObjectsV2 and SelectObjectContent, and the presigned-URL
 * parameters of SigV2. X-Amz-* (SigV4 presigning, hoisted headers) and response-* are parameters by prefix.
 */
const PARAMETERS: ReadonlySet<string> = new Set([
  'annotation-prefix',
  'annotationName',
  'bucket-region',
  'continuation-token',
  'delimiter',
  'encoding-type',
  'fetch-owner',
  'id',
  'key-marker',
  'list-type',
  'marker',
  'max-annotation-results',
  'max-buckets',
  'max-directory-buckets',
  'max-keys',
  'max-parts',
  'max-uploads',
  'part-number-marker',
  'partNumber',
  'prefix',
  'select-type',
  'start-after',
  'upload-id-marker',
  'uploadId',
  'version-id-marker',
  'versionId',
  'x-id',
  'AWSAccessKeyId',
  'Expires',
  'Signature',
]);

const isParameter = (name: string): boolean => PARAMETERS.has(name) || /^(x-amz-|response-)/i.test(name);

/**
 * The sub-resource a query names, '' when none. A known sub-resource counts whatever its value; any other
 * name sent without a value (`?foo`) is taken for a sub-resource this gateway does not know, so that it is
 * refused rather than ignored; a name with a value (`?foo=1`) is a parameter and left alone, as S3 does.
 */
function subresourceOf(q: URLSearchParams): string {
  const named = new Set<string>();
  for (const [name, value] of q) if (SUBRESOURCES.has(name) || (value === '' && !isParameter(name))) named.add(name);
  if (named.size > 1) {
    throw new S3Error(
      'InvalidRequest',
      `The request names the sub-resources ${[...named].map((n) => `?${n}`).join(', ')}; an S3 request addresses one at most.`,
    );
  }
  return named.values().next().value ?? '';
}

/** Which S3 operation a request is, from its method, whether it names a bucket and a key, and its query. */
export function route(
  method: string,
  bucket: string | undefined,
  key: string | undefined,
  q: URLSearchParams,
  headers: IncomingHttpHeaders,
): Route {
  const sub = subresourceOf(q);
  if (sub !== '' && !SUBRESOURCES.has(sub)) {
    throw new S3Error('NotImplemented', `The request names the sub-resource ?${sub}, which is no S3 operation this gateway knows.`);
  }
  const [table, resourceType] = !bucket ? [SERVICE, 'SERVICE'] : key === undefined ? [BUCKET, 'BUCKET'] : [OBJECT, 'OBJECT'];
  const row = table[sub]?.[method];
  const chosen = typeof row === 'function' ? row(q, headers) : row;
  if (!chosen) throw notAllowed(method, resourceType, sub);
  return chosen;
}

function notAllowed(method: string, resourceType: string, sub: string): S3Error {
  const against = sub === '' ? 'this resource' : `the ?${sub} sub-resource of this ${resourceType.toLowerCase()}`;
  return new S3Error('MethodNotAllowed', `The method ${method} is not allowed against ${against}.`, {
    extra: { Method: method, ResourceType: resourceType },
  });
}
