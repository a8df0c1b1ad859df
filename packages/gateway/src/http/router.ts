import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../s3/errors.js';
import type { S3Handler } from './context.js';
import * as b from './handlers/buckets.js';
import { listObjects, listParts, listUploads } from './handlers/list.js';
import * as mp from './handlers/multipart.js';
import * as o from './handlers/objects.js';
import { postObjectHandler } from './handlers/post-object.js';

export interface Route {
  operation: string;
  handler: S3Handler;
}

/** Subresources this gateway does not implement: a clear 501 rather than a wrong answer to a different operation. */
const UNSUPPORTED = ['acl', 'policy', 'tagging', 'cors', 'lifecycle', 'versioning', 'versions', 'object-lock', 'retention', 'legal-hold', 'replication', 'website', 'logging', 'notification', 'accelerate', 'requestPayment', 'torrent', 'restore', 'select', 'analytics', 'metrics', 'inventory', 'intelligent-tiering', 'ownershipControls', 'publicAccessBlock'];

/** Which S3 operation a request is, from its method, whether it names a bucket and a key, and its query. */
export function route(method: string, bucket: string | undefined, key: string | undefined, q: URLSearchParams, headers: IncomingHttpHeaders): Route {
  const has = (p: string): boolean => q.has(p);
  // Reading a bucket's versioning state is answered (never enabled, as AWS answers for such a bucket):
  // rclone, mc and Terraform ask before they list or delete. Changing it is not implemented.
  if (method === 'GET' && bucket && key === undefined && [...q.keys()].every((k) => k === 'versioning' || k === 'x-id') && has('versioning')) {
    return { operation: 'GetBucketVersioning', handler: b.getBucketVersioning };
  }
  const unsupported = UNSUPPORTED.find(has);
  if (unsupported) throw new S3Error('NotImplemented', `The ?${unsupported} subresource is not implemented by this gateway.`);
  const r = (operation: string, handler: S3Handler): Route => ({ operation, handler });

  if (!bucket) {
    if (method === 'GET') return r('ListBuckets', b.listBuckets);
    throw notAllowed(method);
  }
  if (key === undefined) {
    switch (method) {
      case 'GET':
        if (has('location')) return r('GetBucketLocation', b.getBucketLocation);
        if (has('encryption')) return r('GetBucketEncryption', b.getBucketEncryption);
        if (has('uploads')) return r('ListMultipartUploads', listUploads);
        if (q.get('list-type') === '2') return r('ListObjectsV2', (c) => listObjects(c, 2));
        return r('ListObjects', (c) => listObjects(c, 1));
      case 'HEAD':
        return r('HeadBucket', b.headBucket);
      case 'PUT':
        if (has('encryption')) return r('PutBucketEncryption', b.putBucketEncryption);
        return r('CreateBucket', b.createBucket);
      case 'DELETE':
        if (has('encryption')) return r('DeleteBucketEncryption', b.deleteBucketEncryption);
        return r('DeleteBucket', b.deleteBucket);
      case 'POST':
        if (has('delete')) return r('DeleteObjects', o.deleteObjectsHandler);
        return r('PostObject', postObjectHandler);
    }
    throw notAllowed(method);
  }
  const copy = headers['x-amz-copy-source'] !== undefined;
  switch (method) {
    case 'GET':
      if (has('uploadId')) return r('ListParts', listParts);
      if (has('attributes')) return r('GetObjectAttributes', o.getObjectAttributesHandler);
      return r('GetObject', o.getObjectHandler);
    case 'HEAD':
      return r('HeadObject', o.headObjectHandler);
    case 'PUT':
      if (has('uploadId') || has('partNumber')) {
        if (!has('uploadId') || !has('partNumber')) throw new S3Error('InvalidRequest', 'UploadPart needs both partNumber and uploadId.');
        return copy ? r('UploadPartCopy', mp.uploadPartCopyHandler) : r('UploadPart', mp.uploadPartHandler);
      }
      return copy ? r('CopyObject', o.copyObjectHandler) : r('PutObject', o.putObjectHandler);
    case 'DELETE':
      if (has('uploadId')) return r('AbortMultipartUpload', mp.abortUploadHandler);
      return r('DeleteObject', o.deleteObjectHandler);
    case 'POST':
      if (has('uploads')) return r('CreateMultipartUpload', mp.createUploadHandler);
      if (has('uploadId')) return r('CompleteMultipartUpload', mp.completeUploadHandler);
      break;
  }
  throw notAllowed(method);
}

function notAllowed(method: string): S3Error {
  return new S3Error('MethodNotAllowed', `The method ${method} is not allowed against this resource.`, { extra: { Method: method, ResourceType: 'OBJECT' } });
}
