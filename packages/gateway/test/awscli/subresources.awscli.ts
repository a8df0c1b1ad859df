// Debian's AWS CLI (`aws s3api`) against a real kes and gateway for the sub-resources clients probe:
// object and bucket tagging, ACLs with ACLs disabled, the public access block, the "none configured"
// answers and a 501 naming the operation. Not part of `npm test` (it needs /usr/bin/aws): `npm run test:awscli`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { exists } from '../helpers/s3.js';
import { awsCli, AwsCliError, awsCliInstalled, type AwsCli } from './aws.js';

const B = 'cli-subresources';

let st: Stack;
let aws: AwsCli;

before(async () => {
  assert.ok(awsCliInstalled(), "this suite needs Debian's awscli at /usr/bin/aws (apt-get install -y awscli)");
  st = await startStack();
  aws = awsCli({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY, endpoint: st.gw.url, tlsEndpoint: st.gw.httpsUrl!, caPem: st.caPem });
  await aws.run(['s3api', 'create-bucket', '--bucket', B]);
  writeFileSync(join(aws.dir, 'body.txt'), 'cli body');
});
after(async () => {
  aws?.close();
  await st?.close();
});

interface Refusal {
  /** The S3 error code, as the CLI prints it: "An error occurred (Code) when calling ...". */
  code: string;
  /** The HTTP status of the gateway's answer, from the CLI's debug log. */
  status: number;
  stderr: string;
}

/** Runs an s3api command that must fail, with --debug so the log shows the status the gateway answered. */
async function refused(args: string[]): Promise<Refusal> {
  try {
    await aws.run([...args, '--debug']);
  } catch (e) {
    if (!(e instanceof AwsCliError)) throw e;
    const code = /An error occurred \(([^)]+)\)/.exec(e.stderr)?.[1] ?? '';
    const statuses = [...e.stderr.matchAll(/HTTP\/1\.1" (\d{3})/g)].map((m) => Number(m[1]));
    return { code, status: statuses.at(-1) ?? 0, stderr: e.stderr };
  }
  throw new Error(`expected aws ${args.join(' ')} to fail, it succeeded`);
}

describe('aws s3api: sub-resources', () => {
  test('put-object --tagging, put/get/delete-object-tagging; head-object counts the tags', async () => {
    await aws.run([
      's3api',
      'put-object',
      '--bucket',
      B,
      '--key',
      'tagged.txt',
      '--body',
      join(aws.dir, 'body.txt'),
      '--tagging',
      'team=blue&stage=dev',
    ]);
    const first = await aws.json<{ TagSet: { Key: string; Value: string }[] }>([
      's3api',
      'get-object-tagging',
      '--bucket',
      B,
      '--key',
      'tagged.txt',
    ]);
    assert.deepEqual(first.TagSet, [
      { Key: 'team', Value: 'blue' },
      { Key: 'stage', Value: 'dev' },
    ]);
    const etag = (await aws.json<{ ETag: string }>(['s3api', 'head-object', '--bucket', B, '--key', 'tagged.txt'])).ETag;

    await aws.run([
      's3api',
      'put-object-tagging',
      '--bucket',
      B,
      '--key',
      'tagged.txt',
      '--tagging',
      'TagSet=[{Key=owner,Value=ops team},{Key=cost,Value=42}]',
    ]);
    const second = await aws.json<{ TagSet: { Key: string; Value: string }[] }>([
      's3api',
      'get-object-tagging',
      '--bucket',
      B,
      '--key',
      'tagged.txt',
    ]);
    assert.deepEqual(second.TagSet, [
      { Key: 'owner', Value: 'ops team' },
      { Key: 'cost', Value: '42' },
    ]);
    const head = await aws.json<{ ETag: string; TagCount?: number }>(['s3api', 'head-object', '--bucket', B, '--key', 'tagged.txt']);
    assert.equal(head.ETag, etag, 'tagging leaves the ETag');
    // The SDK sees what the CLI wrote.
    assert.equal((await st.s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'tagged.txt' }))).TagSet?.length, 2);
    assert.equal((await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'tagged.txt' }))).TagCount, 2);

    const invalid = await refused([
      's3api',
      'put-object-tagging',
      '--bucket',
      B,
      '--key',
      'tagged.txt',
      '--tagging',
      'TagSet=[{Key=aws:reserved,Value=x}]',
    ]);
    assert.deepEqual([invalid.status, invalid.code], [400, 'InvalidTag']);
    const duplicate = await refused([
      's3api',
      'put-object',
      '--bucket',
      B,
      '--key',
      'dup.txt',
      '--body',
      join(aws.dir, 'body.txt'),
      '--tagging',
      'a=1&a=2',
    ]);
    assert.deepEqual([duplicate.status, duplicate.code], [400, 'InvalidArgument']);
    assert.equal(await exists(st.s3, B, 'dup.txt'), false);
    const after = await aws.json<{ TagSet: unknown[] }>(['s3api', 'get-object-tagging', '--bucket', B, '--key', 'tagged.txt']);
    assert.deepEqual(after.TagSet, second.TagSet, 'the refused PUT changed nothing');

    await aws.run(['s3api', 'delete-object-tagging', '--bucket', B, '--key', 'tagged.txt']);
    assert.deepEqual(
      (await aws.json<{ TagSet: unknown[] }>(['s3api', 'get-object-tagging', '--bucket', B, '--key', 'tagged.txt'])).TagSet,
      [],
    );
  });

  test('bucket tagging: get-bucket-tagging with none is NoSuchTagSet', async () => {
    const none = await refused(['s3api', 'get-bucket-tagging', '--bucket', B]);
    assert.deepEqual([none.status, none.code], [404, 'NoSuchTagSet']);
    await aws.run(['s3api', 'put-bucket-tagging', '--bucket', B, '--tagging', 'TagSet=[{Key=env,Value=test}]']);
    const got = await aws.json<{ TagSet: unknown[] }>(['s3api', 'get-bucket-tagging', '--bucket', B]);
    assert.deepEqual(got.TagSet, [{ Key: 'env', Value: 'test' }]);
  });

  test('get-bucket-policy answers NoSuchBucketPolicy; get-bucket-policy-status says not public', async () => {
    const policy = await refused(['s3api', 'get-bucket-policy', '--bucket', B]);
    assert.deepEqual([policy.status, policy.code], [404, 'NoSuchBucketPolicy']);
    const status = await aws.json<{ PolicyStatus: { IsPublic: boolean } }>(['s3api', 'get-bucket-policy-status', '--bucket', B]);
    assert.deepEqual(status.PolicyStatus, { IsPublic: false });
    const missing = await refused(['s3api', 'get-bucket-policy', '--bucket', 'no-such-cli-bucket']);
    assert.deepEqual([missing.status, missing.code], [404, 'NoSuchBucket']);
  });

  test('get-bucket-acl answers the owner with FULL_CONTROL; put-bucket-acl --acl public-read is refused', async () => {
    const acl = await aws.json<{ Owner: { ID: string }; Grants: { Grantee: { ID: string; Type: string }; Permission: string }[] }>([
      's3api',
      'get-bucket-acl',
      '--bucket',
      B,
    ]);
    const buckets = await aws.json<{ Owner: { ID: string } }>(['s3api', 'list-buckets']);
    assert.equal(acl.Owner.ID, buckets.Owner.ID);
    assert.deepEqual(
      acl.Grants.map((g) => [g.Grantee.Type, g.Grantee.ID, g.Permission]),
      [['CanonicalUser', buckets.Owner.ID, 'FULL_CONTROL']],
    );
    await aws.run(['s3api', 'put-bucket-acl', '--bucket', B, '--acl', 'private']);
    const pub = await refused(['s3api', 'put-bucket-acl', '--bucket', B, '--acl', 'public-read']);
    assert.deepEqual([pub.status, pub.code], [400, 'AccessControlListNotSupported']);
    const obj = await refused([
      's3api',
      'put-object',
      '--bucket',
      B,
      '--key',
      'public.txt',
      '--body',
      join(aws.dir, 'body.txt'),
      '--acl',
      'public-read',
    ]);
    assert.deepEqual([obj.status, obj.code], [400, 'AccessControlListNotSupported']);
    assert.equal(await exists(st.s3, B, 'public.txt'), false);
  });

  test('put-public-access-block / get-public-access-block round trip', async () => {
    const none = await refused(['s3api', 'get-public-access-block', '--bucket', B]);
    assert.deepEqual([none.status, none.code], [404, 'NoSuchPublicAccessBlockConfiguration']);
    await aws.run([
      's3api',
      'put-public-access-block',
      '--bucket',
      B,
      '--public-access-block-configuration',
      'BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=false',
    ]);
    const got = await aws.json<{ PublicAccessBlockConfiguration: Record<string, boolean> }>([
      's3api',
      'get-public-access-block',
      '--bucket',
      B,
    ]);
    assert.deepEqual(got.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: false,
    });
    await aws.run(['s3api', 'delete-public-access-block', '--bucket', B]);
    assert.equal((await refused(['s3api', 'get-public-access-block', '--bucket', B])).code, 'NoSuchPublicAccessBlockConfiguration');
  });

  test('an operation the gateway lacks answers 501 NotImplemented naming it', async () => {
    const lifecycle = JSON.stringify({ Rules: [{ ID: 'expire', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }] });
    const e = await refused(['s3api', 'put-bucket-lifecycle-configuration', '--bucket', B, '--lifecycle-configuration', lifecycle]);
    assert.deepEqual([e.status, e.code], [501, 'NotImplemented']);
    assert.match(e.stderr, /PutBucketLifecycleConfiguration is not implemented by this gateway/);
    const none = await refused(['s3api', 'get-bucket-lifecycle-configuration', '--bucket', B]);
    assert.deepEqual([none.status, none.code], [404, 'NoSuchLifecycleConfiguration']);
  });
});
