// Put/Get/DeleteBucketCors (`?cors` on a bucket): the rules are parsed and checked in s3/cors.ts and
// stored as the bucket's `cors` setting.
import { corsConfigurationXml, MAX_CORS_DOCUMENT_BYTES, parseCorsConfiguration } from '../../s3/cors.js';
import { S3Error } from '../../s3/errors.js';
import type { S3Call } from '../services.js';
import { sendXML } from '../reply.js';
import { smallBody } from './buckets.js';
import { configurationDocument } from '../../s3/configuration-body.js';

export async function putBucketCors(c: S3Call): Promise<void> {
  await c.svc.store.headBucket(c.bucket);
  // AWS requires an integrity check on this body (Content-MD5 or an x-amz-checksum-*).
  const rules = parseCorsConfiguration(configurationDocument(await smallBody(c, MAX_CORS_DOCUMENT_BYTES, true)));
  await c.svc.store.putBucketSetting(c.bucket, 'cors', rules);
  c.res.status(200).end();
}

export async function getBucketCors(c: S3Call): Promise<void> {
  const rules = await c.svc.store.getBucketSetting(c.bucket, 'cors');
  if (rules === undefined) throw new S3Error('NoSuchCORSConfiguration', undefined, { extra: { BucketName: c.bucket } });
  sendXML(c.res, 'CORSConfiguration', corsConfigurationXml(rules));
}

export async function deleteBucketCors(c: S3Call): Promise<void> {
  await c.svc.store.putBucketSetting(c.bucket, 'cors', undefined);
  c.res.status(204).end();
}
