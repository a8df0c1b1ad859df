// Bucket and object sub-resources through the AWS SDK v3 (and hand-signed requests where no SDK would go):
// ACLs as AWS answers them with ACLs disabled, ownership controls and public access block round trips, the
// "none configured" probes, 501 NotImplemented naming the operation, and the router never running another
// operation for a sub-resource it does not know.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  DeleteBucketOwnershipControlsCommand,
  DeleteBucketPolicyCommand,
  DeleteBucketReplicationCommand,
  DeleteBucketWebsiteCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAccelerateConfigurationCommand,
  GetBucketAclCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLoggingCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetBucketReplicationCommand,
  GetBucketRequestPaymentCommand,
  GetBucketWebsiteCommand,
  GetObjectAclCommand,
  GetObjectLockConfigurationCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  PutBucketAclCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type ObjectOwnership,
} from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { exists, getBytes, s3Error, withHeaders } from '../helpers/s3.js';
import { errorCode, RawClient } from '../edges/raw.js';

let st: Stack;
let raw: RawClient;
const B = 'subresource-bucket';
const MISSING = 'no-such-bucket-sub';
const OWNER = 'kesgate';
const ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers';

before(async () => {
  st = await startStack();
  raw = new RawClient(st.gw.httpPort, ACCESS_KEY, SECRET_KEY);
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'obj.txt', Body: 'original' }));
});
after(async () => st?.close());

function policyBody(granteeXml: string, permission = 'FULL_CONTROL', owner = OWNER): string {
  return (
    `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>${owner}</ID></Owner><AccessControlList>` +
    `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${granteeXml}</Grantee>` +
    `<Permission>${permission}</Permission></Grant></AccessControlList></AccessControlPolicy>`
  );
}

describe('ACLs, as AWS answers them with ACLs disabled', () => {
  test('GetBucketAcl and GetObjectAcl: the owner of ListBuckets, with FULL_CONTROL and nothing else', async () => {
    const owner = (await st.s3.send(new ListBucketsCommand({}))).Owner;
    for (const acl of [
      await st.s3.send(new GetBucketAclCommand({ Bucket: B })),
      await st.s3.send(new GetObjectAclCommand({ Bucket: B, Key: 'obj.txt' })),
    ]) {
      assert.deepEqual(acl.Owner, owner);
      assert.equal(acl.Grants?.length, 1);
      assert.deepEqual(acl.Grants![0], {
        Grantee: { Type: 'CanonicalUser', ID: owner!.ID, DisplayName: owner!.DisplayName },
        Permission: 'FULL_CONTROL',
      });
    }
    const noKey = await s3Error(st.s3.send(new GetObjectAclCommand({ Bucket: B, Key: 'missing' })));
    assert.deepEqual([noKey.status, noKey.code], [404, 'NoSuchKey']);
    const noBucket = await s3Error(st.s3.send(new GetBucketAclCommand({ Bucket: MISSING })));
    assert.deepEqual([noBucket.status, noBucket.code], [404, 'NoSuchBucket']);
  });

  test('PutBucketAcl / PutObjectAcl restating the owner-only ACL succeed', async () => {
    const ok = [
      new PutBucketAclCommand({ Bucket: B, ACL: 'private' }),
      new PutBucketAclCommand({ Bucket: B, GrantFullControl: `id="${OWNER}"` }),
      new PutObjectAclCommand({ Bucket: B, Key: 'obj.txt', ACL: 'private' }),
      new PutObjectAclCommand({ Bucket: B, Key: 'obj.txt', ACL: 'bucket-owner-full-control' }),
      new PutObjectAclCommand({ Bucket: B, Key: 'obj.txt', GrantFullControl: `id=${OWNER}`, GrantRead: `id="${OWNER}"` }),
      new PutObjectAclCommand({
        Bucket: B,
        Key: 'obj.txt',
        AccessControlPolicy: {
          Owner: { ID: OWNER },
          Grants: [{ Grantee: { Type: 'CanonicalUser', ID: OWNER }, Permission: 'FULL_CONTROL' }],
        },
      }),
    ];
    for (const cmd of ok) assert.equal((await st.s3.send(cmd as PutBucketAclCommand)).$metadata.httpStatusCode, 200);
    const body = await raw.signedSend({ method: 'PUT', path: `/${B}`, query: { acl: '' }, body: policyBody(`<ID>${OWNER}</ID>`) });
    assert.equal(body.status, 200, body.body);
  });

  test('any other ACL is refused with AccessControlListNotSupported, and nothing changes', async () => {
    const refused = [
      () => st.s3.send(new PutBucketAclCommand({ Bucket: B, ACL: 'public-read' })),
      () => st.s3.send(new PutBucketAclCommand({ Bucket: B, GrantRead: `uri="${ALL_USERS}"` })),
      () => st.s3.send(new PutBucketAclCommand({ Bucket: B, GrantFullControl: 'id="someone-else"' })),
      () => st.s3.send(new PutObjectAclCommand({ Bucket: B, Key: 'obj.txt', ACL: 'authenticated-read' })),
      () => st.s3.send(new PutObjectAclCommand({ Bucket: B, Key: 'obj.txt', GrantRead: `id="${OWNER}"` })),
      () =>
        st.s3.send(
          new PutObjectAclCommand({
            Bucket: B,
            Key: 'obj.txt',
            AccessControlPolicy: {
              Owner: { ID: OWNER },
              Grants: [
                { Grantee: { Type: 'CanonicalUser', ID: OWNER }, Permission: 'FULL_CONTROL' },
                { Grantee: { Type: 'Group', URI: ALL_USERS }, Permission: 'READ' },
              ],
            },
          }),
        ),
    ];
    for (const call of refused) {
      const e = await s3Error(call());
      assert.deepEqual([e.status, e.code], [400, 'AccessControlListNotSupported']);
      assert.match(e.message, /^The bucket does not allow ACLs/);
    }
    const acl = await st.s3.send(new GetObjectAclCommand({ Bucket: B, Key: 'obj.txt' }));
    assert.deepEqual(
      acl.Grants?.map((g) => [g.Grantee?.ID, g.Permission]),
      [[OWNER, 'FULL_CONTROL']],
    );
  });

  test('malformed ACL requests: the code AWS gives', async () => {
    const both = await s3Error(st.s3.send(new PutBucketAclCommand({ Bucket: B, ACL: 'private', GrantRead: `id="${OWNER}"` })));
    assert.deepEqual([both.status, both.code], [400, 'InvalidRequest']);
    const unknown = await s3Error(
      st.s3.send(withHeaders(new PutBucketAclCommand({ Bucket: B, ACL: 'private' }), { 'x-amz-acl': 'public-ready' })),
    );
    assert.deepEqual([unknown.status, unknown.code], [400, 'InvalidArgument']);
    const send = (body: string) => raw.signedSend({ method: 'PUT', path: `/${B}/obj.txt`, query: { acl: '' }, body });
    for (const [body, code] of [
      ['<AccessControlPolicy><AccessControlList><Grant>', 'MalformedACLError'],
      ['<AccessControlPolicy><Owner><ID>kesgate</ID></Owner></AccessControlPolicy>', 'MalformedACLError'],
      [policyBody(`<ID>${OWNER}</ID>`, 'EVERYTHING'), 'MalformedACLError'],
      [policyBody('<DisplayName>who</DisplayName>'), 'MalformedACLError'],
      [policyBody(`<ID>${OWNER}</ID>`, 'FULL_CONTROL', 'another-owner'), 'InvalidArgument'],
      ['', 'MissingSecurityHeader'],
    ]) {
      const res = await send(body!);
      assert.deepEqual([res.status, errorCode(res.body)], [400, code], body);
    }
  });

  test('x-amz-acl on PutObject, CopyObject and CreateMultipartUpload: private passes, public-read writes nothing', async () => {
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'private.txt', Body: 'p', ACL: 'private' }));
    await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'bofc.txt', Body: 'p', ACL: 'bucket-owner-full-control' }));
    assert.ok(await exists(st.s3, B, 'private.txt'));
    for (const call of [
      () => st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'public.txt', Body: 'p', ACL: 'public-read' })),
      () => st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'public.txt', Body: 'p', GrantRead: `uri="${ALL_USERS}"` })),
      () => st.s3.send(new CopyObjectCommand({ Bucket: B, Key: 'public.txt', CopySource: `${B}/obj.txt`, ACL: 'public-read' })),
      () => st.s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'public.txt', ACL: 'public-read-write' })),
    ]) {
      const e = await s3Error(call());
      assert.deepEqual([e.status, e.code], [400, 'AccessControlListNotSupported']);
    }
    assert.equal(await exists(st.s3, B, 'public.txt'), false);
    const uploads = await st.s3.send(new ListMultipartUploadsCommand({ Bucket: B }));
    assert.equal(uploads.Uploads?.some((u) => u.Key === 'public.txt') ?? false, false, 'no upload was started');
    // A refused overwrite leaves the object as it was.
    const e = await s3Error(st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'obj.txt', Body: 'overwritten', ACL: 'public-read' })));
    assert.equal(e.code, 'AccessControlListNotSupported');
    assert.equal(String(await getBytes(st.s3, { Bucket: B, Key: 'obj.txt' })), 'original');
  });

  test('CreateBucket: an ACL needs an ownership that allows ACLs, and the gateway stores none', async () => {
    const enforced = await s3Error(st.s3.send(new CreateBucketCommand({ Bucket: 'acl-bucket-a', ACL: 'public-read' })));
    assert.deepEqual([enforced.status, enforced.code], [400, 'InvalidBucketAclWithObjectOwnership']);
    const writer = await s3Error(
      st.s3.send(new CreateBucketCommand({ Bucket: 'acl-bucket-a', ACL: 'public-read', ObjectOwnership: 'ObjectWriter' })),
    );
    assert.deepEqual([writer.status, writer.code], [400, 'AccessControlListNotSupported']);
    const missing = await s3Error(st.s3.send(new HeadBucketCommand({ Bucket: 'acl-bucket-a' })));
    assert.equal(missing.status, 404, 'no bucket was created');

    await st.s3.send(new CreateBucketCommand({ Bucket: 'acl-bucket-b', ACL: 'private' }));
    const none = await s3Error(st.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'acl-bucket-b' })));
    assert.deepEqual([none.status, none.code], [404, 'OwnershipControlsNotFoundError']);
    await st.s3.send(new CreateBucketCommand({ Bucket: 'acl-bucket-c', ObjectOwnership: 'ObjectWriter' }));
    const controls = await st.s3.send(new GetBucketOwnershipControlsCommand({ Bucket: 'acl-bucket-c' }));
    assert.deepEqual(controls.OwnershipControls?.Rules, [{ ObjectOwnership: 'ObjectWriter' }], 'x-amz-object-ownership is stored');
    // Even there, ACLs other than the owner's are refused: none are stored.
    const e = await s3Error(st.s3.send(new PutBucketAclCommand({ Bucket: 'acl-bucket-c', ACL: 'public-read' })));
    assert.deepEqual([e.status, e.code], [400, 'AccessControlListNotSupported']);
    const bad = await s3Error(
      st.s3.send(new CreateBucketCommand({ Bucket: 'acl-bucket-d', ObjectOwnership: 'Nobody' as ObjectOwnership })),
    );
    assert.deepEqual([bad.status, bad.code], [400, 'InvalidArgument']);
    assert.equal((await s3Error(st.s3.send(new HeadBucketCommand({ Bucket: 'acl-bucket-d' })))).status, 404);
  });
});

describe('ownership controls and public access block', () => {
  test('ownership controls: 404 when none, PUT/GET round trip, a bad value changes nothing, DELETE', async () => {
    const Bucket = 'ownership-bucket';
    await st.s3.send(new CreateBucketCommand({ Bucket }));
    const none = await s3Error(st.s3.send(new GetBucketOwnershipControlsCommand({ Bucket })));
    assert.deepEqual([none.status, none.code], [404, 'OwnershipControlsNotFoundError']);
    for (const ObjectOwnership of ['BucketOwnerPreferred', 'BucketOwnerEnforced'] as const) {
      await st.s3.send(new PutBucketOwnershipControlsCommand({ Bucket, OwnershipControls: { Rules: [{ ObjectOwnership }] } }));
      assert.deepEqual((await st.s3.send(new GetBucketOwnershipControlsCommand({ Bucket }))).OwnershipControls?.Rules, [
        { ObjectOwnership },
      ]);
    }
    const bad = await s3Error(
      st.s3.send(
        new PutBucketOwnershipControlsCommand({
          Bucket,
          OwnershipControls: { Rules: [{ ObjectOwnership: 'Everyone' as ObjectOwnership }] },
        }),
      ),
    );
    assert.deepEqual([bad.status, bad.code], [400, 'MalformedXML']);
    const two = await s3Error(
      st.s3.send(
        new PutBucketOwnershipControlsCommand({
          Bucket,
          OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }, { ObjectOwnership: 'ObjectWriter' }] },
        }),
      ),
    );
    assert.deepEqual([two.status, two.code], [400, 'MalformedXML']);
    assert.deepEqual((await st.s3.send(new GetBucketOwnershipControlsCommand({ Bucket }))).OwnershipControls?.Rules, [
      { ObjectOwnership: 'BucketOwnerEnforced' },
    ]);
    assert.equal((await st.s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket }))).$metadata.httpStatusCode, 204);
    assert.equal((await s3Error(st.s3.send(new GetBucketOwnershipControlsCommand({ Bucket })))).code, 'OwnershipControlsNotFoundError');
    const missing = await s3Error(
      st.s3.send(
        new PutBucketOwnershipControlsCommand({ Bucket: MISSING, OwnershipControls: { Rules: [{ ObjectOwnership: 'ObjectWriter' }] } }),
      ),
    );
    assert.deepEqual([missing.status, missing.code], [404, 'NoSuchBucket']);
  });

  test('public access block: 404 when none, PUT/GET round trip, a bad document changes nothing, DELETE', async () => {
    const Bucket = 'pab-bucket';
    await st.s3.send(new CreateBucketCommand({ Bucket }));
    const none = await s3Error(st.s3.send(new GetPublicAccessBlockCommand({ Bucket })));
    assert.deepEqual([none.status, none.code], [404, 'NoSuchPublicAccessBlockConfiguration']);
    const all = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };
    await st.s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: all }));
    assert.deepEqual((await st.s3.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration, all);
    await st.s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: { BlockPublicPolicy: true } }));
    const partial = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: true, RestrictPublicBuckets: false };
    assert.deepEqual(
      (await st.s3.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration,
      partial,
      'a flag left out is false',
    );
    for (const body of [
      '<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>',
      '<PublicAccessBlockConfiguration>',
    ]) {
      const res = await raw.signedSend({ method: 'PUT', path: `/${Bucket}`, query: { publicAccessBlock: '' }, body });
      assert.deepEqual([res.status, errorCode(res.body)], [400, 'MalformedXML']);
    }
    assert.deepEqual((await st.s3.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration, partial);
    assert.equal((await st.s3.send(new DeletePublicAccessBlockCommand({ Bucket }))).$metadata.httpStatusCode, 204);
    assert.equal((await s3Error(st.s3.send(new GetPublicAccessBlockCommand({ Bucket })))).code, 'NoSuchPublicAccessBlockConfiguration');
    const missing = await s3Error(st.s3.send(new GetPublicAccessBlockCommand({ Bucket: MISSING })));
    assert.deepEqual([missing.status, missing.code], [404, 'NoSuchBucket']);
  });
});

describe('probes answered as "none configured"', () => {
  const notFound: [string, (Bucket: string) => Promise<unknown>, string][] = [
    ['GetBucketPolicy', (Bucket) => st.s3.send(new GetBucketPolicyCommand({ Bucket })), 'NoSuchBucketPolicy'],
    [
      'GetBucketLifecycleConfiguration',
      (Bucket) => st.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket })),
      'NoSuchLifecycleConfiguration',
    ],
    ['GetBucketWebsite', (Bucket) => st.s3.send(new GetBucketWebsiteCommand({ Bucket })), 'NoSuchWebsiteConfiguration'],
    ['GetBucketReplication', (Bucket) => st.s3.send(new GetBucketReplicationCommand({ Bucket })), 'ReplicationConfigurationNotFoundError'],
    [
      'GetObjectLockConfiguration',
      (Bucket) => st.s3.send(new GetObjectLockConfigurationCommand({ Bucket })),
      'ObjectLockConfigurationNotFoundError',
    ],
  ];
  for (const [operation, call, code] of notFound) {
    test(`${operation}: 404 ${code}; NoSuchBucket first`, async () => {
      const e = await s3Error(call(B));
      assert.deepEqual([e.status, e.code], [404, code]);
      const missing = await s3Error(call(MISSING));
      assert.deepEqual([missing.status, missing.code], [404, 'NoSuchBucket']);
    });
  }

  test('GetBucketPolicyStatus, Logging, NotificationConfiguration, RequestPayment, AccelerateConfiguration: empty answers', async () => {
    assert.deepEqual((await st.s3.send(new GetBucketPolicyStatusCommand({ Bucket: B }))).PolicyStatus, { IsPublic: false });
    const logging = await st.s3.send(new GetBucketLoggingCommand({ Bucket: B }));
    assert.equal(logging.$metadata.httpStatusCode, 200);
    assert.equal(logging.LoggingEnabled, undefined);
    const notification = await st.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: B }));
    assert.equal(notification.$metadata.httpStatusCode, 200);
    assert.equal(notification.TopicConfigurations, undefined);
    assert.equal(notification.QueueConfigurations, undefined);
    assert.equal(notification.LambdaFunctionConfigurations, undefined);
    assert.equal((await st.s3.send(new GetBucketRequestPaymentCommand({ Bucket: B }))).Payer, 'BucketOwner');
    const accelerate = await st.s3.send(new GetBucketAccelerateConfigurationCommand({ Bucket: B }));
    assert.equal(accelerate.$metadata.httpStatusCode, 200);
    assert.equal(accelerate.Status, undefined);
    for (const call of [
      () => st.s3.send(new GetBucketPolicyStatusCommand({ Bucket: MISSING })),
      () => st.s3.send(new GetBucketLoggingCommand({ Bucket: MISSING })),
      () => st.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: MISSING })),
      () => st.s3.send(new GetBucketRequestPaymentCommand({ Bucket: MISSING })),
      () => st.s3.send(new GetBucketAccelerateConfigurationCommand({ Bucket: MISSING })),
    ]) {
      const e = await s3Error(call());
      assert.deepEqual([e.status, e.code], [404, 'NoSuchBucket']);
    }
  });

  test('DeleteBucketPolicy, Lifecycle, Website, Replication: 204 with nothing configured; NoSuchBucket first', async () => {
    const deletes = [
      (Bucket: string) => st.s3.send(new DeleteBucketPolicyCommand({ Bucket })),
      (Bucket: string) => st.s3.send(new DeleteBucketLifecycleCommand({ Bucket })),
      (Bucket: string) => st.s3.send(new DeleteBucketWebsiteCommand({ Bucket })),
      (Bucket: string) => st.s3.send(new DeleteBucketReplicationCommand({ Bucket })),
    ];
    for (const del of deletes) {
      assert.equal((await del(B)).$metadata.httpStatusCode, 204);
      const e = await s3Error(del(MISSING));
      assert.deepEqual([e.status, e.code], [404, 'NoSuchBucket']);
    }
  });
});

describe('operations the gateway does not implement', () => {
  test('answer 501 NotImplemented naming the operation, and change nothing', async () => {
    const cases: [string, () => Promise<unknown>][] = [
      ['PutBucketPolicy', () => st.s3.send(new PutBucketPolicyCommand({ Bucket: B, Policy: '{"Version":"2012-10-17","Statement":[]}' }))],
      [
        'PutBucketLifecycleConfiguration',
        () =>
          st.s3.send(
            new PutBucketLifecycleConfigurationCommand({
              Bucket: B,
              LifecycleConfiguration: { Rules: [{ ID: 'expire', Status: 'Enabled', Filter: { Prefix: '' }, Expiration: { Days: 1 } }] },
            }),
          ),
      ],
      ['GetObjectRetention', () => st.s3.send(new GetObjectRetentionCommand({ Bucket: B, Key: 'obj.txt' }))],
      ['GetObjectLegalHold', () => st.s3.send(new GetObjectLegalHoldCommand({ Bucket: B, Key: 'obj.txt' }))],
    ];
    for (const [operation, call] of cases) {
      const e = await s3Error(call());
      assert.deepEqual([e.status, e.code], [501, 'NotImplemented'], operation);
      assert.equal(e.message, `${operation} is not implemented by this gateway.`);
    }
    assert.equal((await s3Error(st.s3.send(new GetBucketPolicyCommand({ Bucket: B })))).code, 'NoSuchBucketPolicy');
    assert.equal(
      (await s3Error(st.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: B })))).code,
      'NoSuchLifecycleConfiguration',
    );
    // The operation is counted under its own name.
    const metrics = await (await fetch(`${st.gw.url}/metrics`)).text();
    assert.match(metrics, /operation="PutBucketLifecycleConfiguration",status="501"/);
  });
});

describe('routing: a sub-resource never runs another operation', () => {
  test('GET ?policyStatus answers PolicyStatus, not a listing', async () => {
    const res = await raw.signedSend({ method: 'GET', path: `/${B}`, query: { policyStatus: '' } });
    assert.equal(res.status, 200);
    assert.match(res.body, /<PolicyStatus[^>]*><IsPublic>false<\/IsPublic><\/PolicyStatus>/);
    assert.doesNotMatch(res.body, /ListBucketResult|obj\.txt/);
  });

  test('an unknown bare sub-resource is refused with 501 on buckets and objects; nothing is read or written', async () => {
    const list = await raw.signedSend({ method: 'GET', path: `/${B}`, query: { foo: '' } });
    assert.deepEqual([list.status, errorCode(list.body)], [501, 'NotImplemented']);
    assert.match(list.body, /\?foo/);
    assert.doesNotMatch(list.body, /obj\.txt/);
    const get = await raw.signedSend({ method: 'GET', path: `/${B}/obj.txt`, query: { foo: '' } });
    assert.deepEqual([get.status, errorCode(get.body)], [501, 'NotImplemented']);
    assert.doesNotMatch(get.body, /original/);
    const put = await raw.signedSend({ method: 'PUT', path: `/${B}/obj.txt`, query: { foo: '' }, body: 'overwritten' });
    assert.deepEqual([put.status, errorCode(put.body)], [501, 'NotImplemented']);
    const del = await raw.signedSend({ method: 'DELETE', path: `/${B}/obj.txt`, query: { bar: '' } });
    assert.deepEqual([del.status, errorCode(del.body)], [501, 'NotImplemented']);
    assert.equal(String(await getBytes(st.s3, { Bucket: B, Key: 'obj.txt' })), 'original', 'the object is neither replaced nor deleted');
  });

  test('a known sub-resource with the wrong method or target is 405; two at once are 400', async () => {
    const versioningOfObject = await raw.signedSend({ method: 'GET', path: `/${B}/obj.txt`, query: { versioning: '' } });
    assert.deepEqual([versioningOfObject.status, errorCode(versioningOfObject.body)], [405, 'MethodNotAllowed']);
    const postTagging = await raw.signedSend({ method: 'POST', path: `/${B}`, query: { tagging: '' } });
    assert.deepEqual([postTagging.status, errorCode(postTagging.body)], [405, 'MethodNotAllowed']);
    const deleteObjectAcl = await raw.signedSend({ method: 'DELETE', path: `/${B}/obj.txt`, query: { acl: '' } });
    assert.deepEqual([deleteObjectAcl.status, errorCode(deleteObjectAcl.body)], [405, 'MethodNotAllowed']);
    assert.ok(await exists(st.s3, B, 'obj.txt'), 'DELETE ?acl did not delete the object');
    const two = await raw.signedSend({ method: 'GET', path: `/${B}/obj.txt`, query: { acl: '', tagging: '' } });
    assert.deepEqual([two.status, errorCode(two.body)], [400, 'InvalidRequest']);
  });

  test('parameters with values keep working: x-id, response-*, listing parameters, an unknown name=value', async () => {
    const get = await raw.signedSend({
      method: 'GET',
      path: `/${B}/obj.txt`,
      query: { 'x-id': 'GetObject', 'response-content-type': 'text/x-test', foo: '1' },
    });
    assert.equal(get.status, 200);
    assert.equal(get.body, 'original');
    assert.equal(get.headers['content-type'], 'text/x-test');
    const list = await raw.signedSend({
      method: 'GET',
      path: `/${B}`,
      query: { 'list-type': '2', prefix: '', delimiter: '/', 'encoding-type': 'url', 'max-keys': '10' },
    });
    assert.equal(list.status, 200);
    assert.match(list.body, /<ListBucketResult[^>]*>.*<Key>obj\.txt<\/Key>/s);
    const versioning = await raw.signedSend({ method: 'GET', path: `/${B}`, query: { versioning: '', 'x-id': 'GetBucketVersioning' } });
    assert.equal(versioning.status, 200);
    assert.match(versioning.body, /<VersioningConfiguration/);
  });
});
