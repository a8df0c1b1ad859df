// Listings through botocore's two front ends against a real gateway: boto3 (Debian's python3-boto3, with
// /usr/bin/python3) lists keys that need URL-encoding with ListObjects, ListObjectsV2, ListObjectVersions
// and ListMultipartUploads and empties a bucket with bucket.object_versions.delete(); the AWS CLI pages
// through `aws s3api list-object-versions`. Part of `npm run test:awscli`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { runPythonScript } from './run-tool.js';
import { awsCli, awsCliInstalled, type AwsCli } from './aws.js';

const SCRIPT = fileURLToPath(new URL('./listing_boto3.py', import.meta.url));
let st: Stack;
let dir: string;
let aws: AwsCli;

before(async () => {
  assert.ok(awsCliInstalled(), "this suite needs Debian's awscli at /usr/bin/aws (apt-get install -y awscli)");
  st = await startStack();
  dir = mkdtempSync(join(tmpdir(), 'kesgate-listing-'));
  aws = awsCli({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY, endpoint: st.gw.url, tlsEndpoint: st.gw.httpsUrl!, caPem: st.caPem });
});
after(async () => {
  aws?.close();
  await st?.close();
  rmSync(dir, { recursive: true, force: true });
});

function runBoto3(bucket: string): Promise<Record<string, unknown>> {
  return runPythonScript(
    SCRIPT,
    { HOME: dir, KG_ACCESS_KEY: ACCESS_KEY, KG_SECRET_KEY: SECRET_KEY, KG_ENDPOINT: st.gw.url, KG_BUCKET: bucket },
    { cwd: dir, timeoutMs: 120_000 },
  );
}

test('boto3: keys with newline, +, space, % and non-ASCII list back as stored (V1, V2, versions, uploads); object_versions.delete() empties the bucket', async () => {
  const r = await runBoto3('boto3-listing');
  const keys = r.keys as string[];
  assert.deepEqual(keys, ['\nnewline', '100%/percent', 'a b/space', 'a+b/plus', 'caf\u00e9/\u65e5\u672c', 'dir/x y', 'dir/x+y', 'plain']);
  const prefixes = ['100%/', 'a b/', 'a+b/', 'caf\u00e9/', 'dir/'];

  // ListObjects (V1)
  assert.equal(r.v1_newline_prefix, '\n', "list_objects(Prefix='\\n') answers Prefix '\\n'");
  assert.deepEqual(r.v1_newline_keys, ['\nnewline']);
  assert.deepEqual(r.v1_keys, ['\nnewline', 'plain']);
  assert.deepEqual(r.v1_prefixes, prefixes);
  assert.deepEqual((r.v1_markers as (string | null)[]).slice(1), ['100%/', 'a+b/', 'dir/'], 'each page starts at the decoded NextMarker');
  assert.deepEqual(r.v1_dir, ['dir/x y']);

  // ListObjectsV2
  assert.deepEqual(r.v2_keys, keys);
  assert.deepEqual(r.v2_prefix, ['a+b/', 'a b/space', '/', ['a+b/plus']]);
  assert.deepEqual(r.v2_common, prefixes);

  // ListObjectVersions
  assert.deepEqual(r.versions, keys);
  assert.deepEqual(r.version_ids, ["('null', True)"]);
  assert.deepEqual((r.version_key_markers as (string | null)[]).slice(1), ['a b/space', 'dir/x y']);
  assert.deepEqual(r.versions_prefix, ['caf\u00e9/', '/', ['caf\u00e9/\u65e5\u672c']]);

  // ListMultipartUploads, encoding asked for explicitly (botocore neither asks nor decodes here)
  assert.deepEqual(r.uploads_encoded, { keys: ['%0Aup', 'a+b/up'], key_marker: '%0A', next_key_marker: 'a+b/up', encoding_type: 'url' });
  assert.deepEqual(r.uploads_decoded, ['\nup', 'a b/', 'a+b/', 'caf\u00e9/']);
  assert.deepEqual(r.uploads_plain, ['\nup', 'a b/up', 'a+b/up', 'caf\u00e9/up']);

  // Emptied version by version, then deleted
  assert.deepEqual(r.versions_delete, [...keys].sort());
  assert.deepEqual(r.versions_delete_errors, []);
  assert.equal(r.left, 0);
  assert.equal(r.bucket_gone, true);
});

interface ListVersionsOut {
  Versions?: {
    Key: string;
    VersionId: string;
    IsLatest: boolean;
    ETag: string;
    Size: number;
    StorageClass: string;
    Owner?: { ID: string };
  }[];
  DeleteMarkers?: unknown[];
  CommonPrefixes?: { Prefix: string }[];
}

test('aws s3api list-object-versions: every object once, VersionId null, paged with --page-size', async () => {
  const bucket = 'cli-versions';
  await st.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keys = ['a', 'b c', 'd+e', 'dir/f', 'dir/g', '\u00fcber'];
  for (const Key of keys) await st.s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: `body of ${Key}` }));
  const out = await aws.json<ListVersionsOut>(['s3api', 'list-object-versions', '--bucket', bucket, '--page-size', '2']);
  assert.deepEqual(
    out.Versions?.map((v) => v.Key),
    keys,
  );
  assert.equal(out.DeleteMarkers, undefined);
  const head = await st.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dir/f' }));
  const f = out.Versions!.find((v) => v.Key === 'dir/f')!;
  assert.deepEqual(
    [f.VersionId, f.IsLatest, f.ETag, f.Size, f.StorageClass],
    ['null', true, head.ETag, 'body of dir/f'.length, 'STANDARD'],
  );
  assert.ok(f.Owner?.ID);
  const rolled = await aws.json<ListVersionsOut>([
    's3api',
    'list-object-versions',
    '--bucket',
    bucket,
    '--delimiter',
    '/',
    '--prefix',
    'd',
  ]);
  assert.deepEqual(
    rolled.Versions?.map((v) => v.Key),
    ['d+e'],
  );
  assert.deepEqual(rolled.CommonPrefixes, [{ Prefix: 'dir/' }]);
});
