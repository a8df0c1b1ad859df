// Put/GetBucketVersioning: a bucket goes from unversioned to Enabled, then between Enabled and Suspended.
import { parseVersioningConfiguration, versioningDocument } from '../../s3/versioning-configuration.js';
import type { S3Call } from '../services.js';
import { sendXML } from '../reply.js';
import { smallBody } from './buckets.js';
import { configurationDocument } from '../../s3/configuration-body.js';

export async function getBucketVersioning(c: S3Call): Promise<void> {
  sendXML(c.res, 'VersioningConfiguration', versioningDocument(await c.svc.store.getBucketVersioning(c.bucket)));
}

export async function putBucketVersioning(c: S3Call): Promise<void> {
  const { status } = parseVersioningConfiguration(configurationDocument(await smallBody(c)));
  if (status !== undefined) await c.svc.store.putBucketVersioning(c.bucket, status);
  else await c.svc.store.headBucket(c.bucket); // NoSuchBucket still
  c.res.status(200).end();
}
