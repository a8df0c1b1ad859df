// Versioning through Debian's AWS CLI and boto3 against a real gateway and kes: `aws s3api
// put-bucket-versioning`, versions by id, `list-object-versions` paged by the CLI, delete markers and
// `delete-objects` with VersionId; boto3's bucket.object_versions (the resource paginator), delete_objects with
// VersionId, suspended buckets, and emptying a versioned bucket version by version. Part of `npm run test:awscli`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { AwsCliError, awsCli, awsCliInstalled, type AwsCli } from './aws.js';
import { runPythonScript } from './run-tool.js';

const SCRIPT = fileURLToPath(new URL('./versioning_boto3.py', import.meta.url));
let st: Stack;
let aws: AwsCli;
let dir: string;

before(async () => {
  assert.ok(awsCliInstalled(), "this suite needs Debian's awscli at /usr/bin/aws (apt-get install -y awscli)");
  st = await startStack({ keys: ['cli-key'] });
  aws = awsCli({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY, endpoint: st.gw.url, tlsEndpoint: st.gw.httpsUrl!, caPem: st.caPem });
  dir = mkdtempSync(join(tmpdir(), 'kesgate-versioning-cli-'));
});
after(async () => {
  aws?.close();
  await st?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Listed {
  Versions?: { Key: string; VersionId: string; IsLatest: boolean; Size: number }[];
  DeleteMarkers?: { Key: string; VersionId: string; IsLatest: boolean }[];
}

describe('aws s3api', () => {
  const B = 'cli-versions';

  test('put-bucket-versioning, versions by id, list-object-versions paged, delete markers and delete-objects with VersionId', async () => {
    await aws.run(['s3api', 'create-bucket', '--bucket', B]);
    assert.deepEqual(await aws.run(['s3api', 'get-bucket-versioning', '--bucket', B]), '');
    await aws.run(['s3api', 'put-bucket-versioning', '--bucket', B, '--versioning-configuration', 'Status=Enabled']);
    assert.deepEqual(await aws.json(['s3api', 'get-bucket-versioning', '--bucket', B]), { Status: 'Enabled' });

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const file = join(aws.dir, `v${i}.txt`);
      writeFileSync(file, `cli version ${i}`);
      ids.push(
        (await aws.json<{ VersionId: string }>(['s3api', 'put-object', '--bucket', B, '--key', 'notes.txt', '--body', file])).VersionId,
      );
    }
    assert.equal(new Set(ids).size, 3);
    const target = join(aws.dir, 'out.txt');
    const got = await aws.json<{ VersionId: string }>([
      's3api',
      'get-object',
      '--bucket',
      B,
      '--key',
      'notes.txt',
      '--version-id',
      ids[1]!,
      target,
    ]);
    assert.equal(got.VersionId, ids[1]);
    assert.equal(readFileSync(target, 'utf8'), 'cli version 1');

    // --page-size 1: the CLI follows NextKeyMarker / NextVersionIdMarker over three requests.
    const listed = await aws.json<Listed>(['s3api', 'list-object-versions', '--bucket', B, '--page-size', '1']);
    assert.deepEqual(
      listed.Versions?.map((v) => [v.VersionId, v.IsLatest]),
      [...ids].reverse().map((id, i) => [id, i === 0]),
    );

    const marker = await aws.json<{ DeleteMarker: boolean; VersionId: string }>([
      's3api',
      'delete-object',
      '--bucket',
      B,
      '--key',
      'notes.txt',
    ]);
    assert.equal(marker.DeleteMarker, true);
    await assert.rejects(
      aws.run(['s3api', 'head-object', '--bucket', B, '--key', 'notes.txt']),
      (e: unknown) => e instanceof AwsCliError && /404|Not Found/.test(e.stderr),
    );
    const withMarker = await aws.json<Listed>(['s3api', 'list-object-versions', '--bucket', B]);
    assert.deepEqual(
      withMarker.DeleteMarkers?.map((d) => [d.VersionId, d.IsLatest]),
      [[marker.VersionId, true]],
    );
    // An empty listing prints nothing at all.
    assert.equal(
      (await aws.run(['s3api', 'list-objects-v2', '--bucket', B, '--output', 'json'])).trim(),
      '',
      'ListObjects hides a key whose latest is a delete marker',
    );

    const request = join(aws.dir, 'delete.json');
    writeFileSync(
      request,
      JSON.stringify({
        Objects: [
          { Key: 'notes.txt', VersionId: marker.VersionId },
          { Key: 'notes.txt', VersionId: ids[0] },
        ],
      }),
    );
    const deleted = await aws.json<{ Deleted: { Key: string; VersionId: string; DeleteMarker?: boolean }[] }>([
      's3api',
      'delete-objects',
      '--bucket',
      B,
      '--delete',
      `file://${request}`,
    ]);
    assert.deepEqual(
      deleted.Deleted.map((d) => [d.VersionId, d.DeleteMarker ?? false]).sort(),
      [
        [ids[0], false],
        [marker.VersionId, true],
      ].sort(),
    );
    const restored = await aws.json<{ VersionId: string }>(['s3api', 'get-object', '--bucket', B, '--key', 'notes.txt', target]);
    assert.equal(restored.VersionId, ids[2]);
    await assert.rejects(
      aws.run(['s3api', 'get-object', '--bucket', B, '--key', 'notes.txt', '--version-id', ids[0]!, target]),
      (e: unknown) => e instanceof AwsCliError && /NoSuchVersion/.test(e.stderr),
    );
    const left = await aws.json<Listed>(['s3api', 'list-object-versions', '--bucket', B]);
    assert.deepEqual(
      left.Versions?.map((v) => v.VersionId),
      [ids[2], ids[1]],
    );
    assert.equal(left.DeleteMarkers, undefined);
  });

  test('copy-object from a version restores it as the newest version', async () => {
    const listed = await aws.json<Listed>(['s3api', 'list-object-versions', '--bucket', B]);
    const oldest = listed.Versions!.at(-1)!.VersionId;
    const copied = await aws.json<{ VersionId: string; CopySourceVersionId: string }>([
      's3api',
      'copy-object',
      '--bucket',
      B,
      '--key',
      'notes.txt',
      '--copy-source',
      `${B}/notes.txt?versionId=${oldest}`,
    ]);
    assert.equal(copied.CopySourceVersionId, oldest);
    const target = join(aws.dir, 'restored.txt');
    const got = await aws.json<{ VersionId: string }>(['s3api', 'get-object', '--bucket', B, '--key', 'notes.txt', target]);
    assert.equal(got.VersionId, copied.VersionId);
    assert.equal(readFileSync(target, 'utf8'), 'cli version 1');
  });
});

test('boto3: put_bucket_versioning, object_versions paging, delete markers, delete_objects with VersionId, suspended, emptied version by version', async () => {
  const r = await runPythonScript(
    SCRIPT,
    {
      HOME: dir,
      KG_ACCESS_KEY: ACCESS_KEY,
      KG_SECRET_KEY: SECRET_KEY,
      KG_ENDPOINT: st.gw.url,
      KG_BUCKET: 'boto3-versions',
      KG_KMS_KEY: 'cli-key',
    },
    { cwd: dir, timeoutMs: 120_000 },
  );
  assert.equal(r.status, 'Enabled');
  assert.equal(r.distinct_ids, true);
  assert.deepEqual(r.bodies, ['version 0', 'version 1', 'version 2']);
  assert.equal(r.head_version, true);
  assert.deepEqual(r.object_versions, [
    ['doc', true, true],
    ['doc', true, false],
    ['doc', true, false],
    ['other', true, true],
  ]);
  assert.deepEqual(r.delete_marker, [true, 32]);
  assert.deepEqual(r.get_after_delete, ['NoSuchKey', 'true']);
  assert.deepEqual(r.markers, [['doc', true]]);
  assert.equal(r.versions_after_delete, 3);
  assert.deepEqual(r.delete_objects, [
    ['doc', false, false],
    ['doc', true, true],
  ]);
  assert.equal(r.after_delete_objects, 'version 2');
  assert.equal(r.removed_version, 'NoSuchVersion');
  assert.deepEqual(r.suspended, [
    'Suspended',
    [
      [true, true],
      [false, false],
      [false, false],
    ],
  ]);
  assert.equal(r.emptied, true);
});
