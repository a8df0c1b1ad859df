// Bucket ownership controls and public access block: stored as given and answered back (AWS's 404 when
// none is set). Neither changes what the gateway does: it stores no ACLs and serves nothing publicly.
import { S3Error } from '../../s3/errors.js';
import { ownershipControlsDocument, parseOwnershipControls } from '../../s3/ownership-controls.js';
import { parsePublicAccessBlock, publicAccessBlockDocument } from '../../s3/public-access-block.js';
import type { S3Call } from '../services.js';
import { sendXML } from '../reply.js';
import { smallBody } from './buckets.js';
import { configurationDocument } from '../../s3/configuration-body.js';

const BODY_LIMIT = 64 * 1024;

export async function putBucketOwnershipControls(c: S3Call): Promise<void> {
  const objectOwnership = parseOwnershipControls(configurationDocument(await smallBody(c, BODY_LIMIT)));
  await c.svc.store.putBucketSetting(c.bucket, 'ownershipControls', { objectOwnership });
  c.res.status(200).end();
}

export async function getBucketOwnershipControls(c: S3Call): Promise<void> {
  const controls = await c.svc.store.getBucketSetting(c.bucket, 'ownershipControls');
  if (!controls) throw new S3Error('OwnershipControlsNotFoundError', undefined, { extra: { BucketName: c.bucket } });
  sendXML(c.res, 'OwnershipControls', ownershipControlsDocument(controls.objectOwnership));
}

export async function deleteBucketOwnershipControls(c: S3Call): Promise<void> {
  await c.svc.store.putBucketSetting(c.bucket, 'ownershipControls', undefined);
  c.res.status(204).end();
}

export async function putPublicAccessBlock(c: S3Call): Promise<void> {
  const config = parsePublicAccessBlock(configurationDocument(await smallBody(c, BODY_LIMIT)));
  await c.svc.store.putBucketSetting(c.bucket, 'publicAccessBlock', config);
  c.res.status(200).end();
}

export async function getPublicAccessBlock(c: S3Call): Promise<void> {
  const config = await c.svc.store.getBucketSetting(c.bucket, 'publicAccessBlock');
  if (!config) throw new S3Error('NoSuchPublicAccessBlockConfiguration', undefined, { extra: { BucketName: c.bucket } });
  sendXML(c.res, 'PublicAccessBlockConfiguration', publicAccessBlockDocument(config));
}

export async function deletePublicAccessBlock(c: S3Call): Promise<void> {
  await c.svc.store.putBucketSetting(c.bucket, 'publicAccessBlock', undefined);
  c.res.status(204).end();
}
