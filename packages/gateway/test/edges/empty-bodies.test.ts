// A configuration PUT with no document at all: AWS answers 400 MissingRequestBodyError ("Request Body is empty"),
// not MalformedXML, for PutBucketVersioning, PutBucketEncryption, PutBucketTagging, PutObjectTagging, PutBucketCors,
// PutBucketOwnershipControls and PutPublicAccessBlock. The SDK v3 sends no body when the document is left out;
// each case checks the status, the error name the SDK gives the caller, and that the setting before is still
// there. CompleteMultipartUpload and DeleteObjects with no body stay MalformedXML (their documents list what to
// complete or delete; a configuration PUT's empty body is a forgotten document).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetBucketCorsCommand,
  GetBucketEncryptionCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectTaggingCommand,
  GetPublicAccessBlockCommand,
  ListPartsCommand,
  PutBucketCorsCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  PutPublicAccessBlockCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { exists, s3Error } from '../helpers/s3.js';
import { errorCode, md5Base64, RawClient } from './raw.js';

const B = 'empty-bodies';
let st: Stack;

before(async () => {
  st = await startStack();
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'obj', Body: 'tagged', Tagging: 'k=v' }));
  await st.s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: 'Enabled' } }));
  await st.s3.send(
    new PutBucketEncryptionCommand({
      Bucket: B,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] },
    }),
  );
  await st.s3.send(new PutBucketTaggingCommand({ Bucket: B, Tagging: { TagSet: [{ Key: 'team', Value: 'a' }] } }));
  await st.s3.send(
    new PutBucketCorsCommand({ Bucket: B, CORSConfiguration: { CORSRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['*'] }] } }),
  );
  await st.s3.send(
    new PutBucketOwnershipControlsCommand({ Bucket: B, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }),
  );
  await st.s3.send(new PutPublicAccessBlockCommand({ Bucket: B, PublicAccessBlockConfiguration: { BlockPublicAcls: true } }));
});
after(async () => st?.close());

/** Every setting this file made, as the gateway answers it: what a refused PUT must leave unchanged. */
async function settings(): Promise<unknown> {
  const s3 = st.s3;
  return {
    versioning: (await s3.send(new GetBucketVersioningCommand({ Bucket: B }))).Status,
    encryption: (await s3.send(new GetBucketEncryptionCommand({ Bucket: B }))).ServerSideEncryptionConfiguration,
    bucketTags: (await s3.send(new GetBucketTaggingCommand({ Bucket: B }))).TagSet,
    objectTags: (await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'obj' }))).TagSet,
    cors: (await s3.send(new GetBucketCorsCommand({ Bucket: B }))).CORSRules,
    ownership: (await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: B }))).OwnershipControls,
    publicAccessBlock: (await s3.send(new GetPublicAccessBlockCommand({ Bucket: B }))).PublicAccessBlockConfiguration,
  };
}

describe('empty request bodies', () => {
  test('a configuration PUT without its document → 400 MissingRequestBodyError; the setting stays', async () => {
    const before = await settings();
    assert.equal((before as { versioning: string }).versioning, 'Enabled', 'the settings were made');
    // The document each command needs is left out: the SDK then sends an empty body.
    const noDocument = {
      PutBucketVersioning: new PutBucketVersioningCommand({ Bucket: B } as never),
      PutBucketEncryption: new PutBucketEncryptionCommand({ Bucket: B } as never),
      PutBucketTagging: new PutBucketTaggingCommand({ Bucket: B } as never),
      PutObjectTagging: new PutObjectTaggingCommand({ Bucket: B, Key: 'obj' } as never),
      PutBucketCors: new PutBucketCorsCommand({ Bucket: B } as never),
      PutBucketOwnershipControls: new PutBucketOwnershipControlsCommand({ Bucket: B } as never),
      PutPublicAccessBlock: new PutPublicAccessBlockCommand({ Bucket: B } as never),
    };
    for (const [operation, command] of Object.entries(noDocument)) {
      const err = await s3Error(st.s3.send(command as never));
      assert.deepEqual(err, { code: 'MissingRequestBodyError', status: 400, message: 'Request Body is empty' }, operation);
    }
    assert.deepEqual(await settings(), before, 'no setting changed');
  });

  test('a body of only whitespace is no document either (hand-signed PutBucketVersioning)', async () => {
    const raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
    const body = ' \r\n\t';
    const res = await raw.signedSend({
      method: 'PUT',
      path: `/${B}`,
      query: { versioning: '' },
      body,
      headers: { 'content-md5': md5Base64(body) },
    });
    assert.equal(res.status, 400, res.body);
    assert.equal(errorCode(res.body), 'MissingRequestBodyError', res.body);
    assert.equal((await st.s3.send(new GetBucketVersioningCommand({ Bucket: B }))).Status, 'Enabled');
  });

  test('CompleteMultipartUpload and DeleteObjects without a body stay 400 MalformedXML; nothing completed or deleted', async () => {
    const { UploadId } = await st.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'mpu' }));
    await st.s3.send(new UploadPartCommand({ Bucket: B, Key: 'mpu', UploadId, PartNumber: 1, Body: 'part' }));
    const complete = await s3Error(st.s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: 'mpu', UploadId })));
    assert.deepEqual([complete.status, complete.code], [400, 'MalformedXML']);
    assert.equal(await exists(st.s3, B, 'mpu'), false, 'the upload did not complete');
    assert.equal(
      (await st.s3.send(new ListPartsCommand({ Bucket: B, Key: 'mpu', UploadId }))).Parts?.length,
      1,
      'the upload is still open',
    );

    const del = await s3Error(st.s3.send(new DeleteObjectsCommand({ Bucket: B } as never)));
    assert.deepEqual([del.status, del.code], [400, 'MalformedXML']);
    assert.equal(await exists(st.s3, B, 'obj'), true, 'nothing deleted');
  });
});
