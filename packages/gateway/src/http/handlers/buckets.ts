import { aclNotSupported, aclOfHeaders } from '../../s3/acl.js';
import { S3Error } from '../../s3/errors.js';
import { parseObjectOwnershipHeader } from '../../s3/ownership-controls.js';
import { authOf } from '../../s3/middleware.js';
import { validateBucketName } from '../../s3/names.js';
import { parseCreateBucketConfiguration, parseServerSideEncryptionConfiguration } from '../../s3/xml.js';
import { bodyStream, readBody } from '../../s3/body.js';
import type { S3Call } from '../services.js';
import { amzValue } from '../amz-values.js';
import { OWNER } from '../owner.js';
import { firstHeader } from '../../s3/header-values.js';
import { sendXML } from '../reply.js';
import { configurationDocument } from '../../s3/configuration-body.js';

/** A small XML body, verified like any payload (signature, SHA-256, Content-MD5). */
export async function smallBody(c: S3Call, limit = 1024 * 1024, requireIntegrity = false): Promise<Buffer> {
  return readBody(bodyStream(c.req, authOf(c.res), { maxSize: limit, requireIntegrity }), limit);
}

export { listBuckets } from './list-buckets.js';

export async function createBucket(c: S3Call): Promise<void> {
  validateBucketName(c.bucket);
  const ownershipHeader = firstHeader(c.req.headers, 'x-amz-object-ownership');
  const ownership = ownershipHeader === undefined ? undefined : parseObjectOwnershipHeader(ownershipHeader);
  if (aclOfHeaders((name) => amzValue(c, name), OWNER.ID) === 'grants-others') {
    // AWS refuses an ACL on a new bucket unless its ownership allows ACLs; this gateway stores none at all.
    if (ownership === undefined || ownership === 'BucketOwnerEnforced') throw new S3Error('InvalidBucketAclWithObjectOwnership');
    throw aclNotSupported();
  }
  const body = await smallBody(c);
  const { locationConstraint } = parseCreateBucketConfiguration(body);
  if (locationConstraint !== undefined && locationConstraint !== c.svc.config.region) {
    throw new S3Error(
      'InvalidArgument',
      `This gateway serves region ${c.svc.config.region}; the location constraint ${locationConstraint} is not valid here.`,
      { extra: { ArgumentName: 'LocationConstraint' } },
    );
  }
  await c.svc.store.createBucket(c.bucket);
  if (ownership) await c.svc.store.putBucketSetting(c.bucket, 'ownershipControls', { objectOwnership: ownership });
  c.res.setHeader('Location', `/${c.bucket}`);
  c.res.status(200).end();
}

export async function deleteBucket(c: S3Call): Promise<void> {
  await c.svc.store.deleteBucket(c.bucket);
  c.res.status(204).end();
}

export async function headBucket(c: S3Call): Promise<void> {
  await c.svc.store.headBucket(c.bucket);
  c.res.setHeader('x-amz-bucket-region', c.svc.config.region);
  c.res.status(200).end();
}

export async function getBucketLocation(c: S3Call): Promise<void> {
  await c.svc.store.headBucket(c.bucket);
  // us-east-1 is written as an empty LocationConstraint, as AWS does.
  const region = c.svc.config.region === 'us-east-1' ? '' : c.svc.config.region;
  sendXML(c.res, 'LocationConstraint', { '#text': region });
}

export async function putBucketEncryption(c: S3Call): Promise<void> {
  const rule = parseServerSideEncryptionConfiguration(configurationDocument(await smallBody(c)));
  await c.svc.store.putBucketEncryption(c.bucket, {
    sse: rule.sseAlgorithm,
    ...(rule.kmsMasterKeyId ? { kmsKeyId: rule.kmsMasterKeyId } : {}),
    ...(rule.bucketKeyEnabled !== undefined ? { bucketKeyEnabled: rule.bucketKeyEnabled } : {}),
  });
  c.res.status(200).end();
}

export async function getBucketEncryption(c: S3Call): Promise<void> {
  const cfg = await c.svc.store.getBucketEncryption(c.bucket);
  if (!cfg) throw new S3Error('ServerSideEncryptionConfigurationNotFoundError', undefined, { extra: { BucketName: c.bucket } });
  sendXML(c.res, 'ServerSideEncryptionConfiguration', {
    Rule: {
      ApplyServerSideEncryptionByDefault: { SSEAlgorithm: cfg.sse, ...(cfg.kmsKeyId ? { KMSMasterKeyID: cfg.kmsKeyId } : {}) },
      BucketKeyEnabled: cfg.bucketKeyEnabled === true ? 'true' : 'false',
    },
  });
}

export async function deleteBucketEncryption(c: S3Call): Promise<void> {
  await c.svc.store.deleteBucketEncryption(c.bucket);
  c.res.status(204).end();
}
