// The AWS CLI (Debian's awscli 2.x) against a real kes and gateway: bucket and object commands,
// 64 MiB multipart round trips under every SSE mode, head-object's SSE fields and ranged get-object.
// One suite, run per layout by cli.awscli.ts (embedded) and cli-cluster.awscli.ts (two gateways behind a
// round-robin balancer): a file each, so each stays within the runner's per-file time bound.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, type Stack } from '../helpers/stack.js';
import type { ToolLayout, ToolStack } from '../helpers/tool-layouts.js';
import { exists, getBytes, s3Error, ssec } from '../helpers/s3.js';
import { awsCli, AwsCliError, awsCliInstalled, type AwsCli } from './aws.js';

const MiB = 1024 * 1024;
const B = 'cli-bucket';
const KMS_KEY = 'cli-tenant-key';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface HeadObject {
  ContentLength: number;
  ETag: string;
  ServerSideEncryption?: string;
  SSEKMSKeyId?: string;
  SSECustomerAlgorithm?: string;
  SSECustomerKeyMD5?: string;
}

let tools: ToolStack;
let st: Stack;
let aws: AwsCli;
/** 64 MiB of random bytes: the CLI uploads it in 8 MiB parts. */
let big: Buffer;
let bigFile: string;
let keyFile: string;
let customerKey: Buffer;

/** Downloads s3://B/key with `aws s3 cp` and returns the bytes. */
async function download(key: string, extra: string[] = [], tls = false): Promise<Buffer> {
  const out = join(aws.dir, `down-${randomBytes(4).toString('hex')}`);
  await aws.run(['s3', 'cp', `s3://${B}/${key}`, out, '--no-progress', ...extra], { tls });
  return readFileSync(out);
}

async function failure(p: Promise<unknown>): Promise<AwsCliError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AwsCliError) return e;
    throw e;
  }
  throw new Error('expected the aws command to fail, it succeeded');
}

export function describeAwsCliSuite(layout: ToolLayout): void {
  describe(`${layout.name}: aws s3 and s3api against the gateway`, { skip: layout.skip }, () => {
    before(async () => {
      assert.ok(awsCliInstalled(), "this suite needs Debian's awscli at /usr/bin/aws (apt-get install -y awscli)");
      tools = await layout.start({ keys: [KMS_KEY] });
      st = tools.stack;
      aws = awsCli({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY, endpoint: tools.url, tlsEndpoint: tools.httpsUrl, caPem: st.caPem });
      big = randomBytes(64 * MiB);
      bigFile = join(aws.dir, 'big.bin');
      writeFileSync(bigFile, big);
      customerKey = randomBytes(32);
      keyFile = join(aws.dir, 'key.bin');
      writeFileSync(keyFile, customerKey);
    });
    after(async () => {
      aws?.close();
      await tools?.close();
    });

    test('aws s3 mb creates a bucket that aws s3 ls lists', async () => {
      const made = await aws.run(['s3', 'mb', `s3://${B}`]);
      assert.match(made, new RegExp(`make_bucket: ${B}`));
      const listed = await aws.run(['s3', 'ls']);
      assert.match(listed, new RegExp(`\\s${B}\\n`));
      // The bucket exists for other clients too.
      const page = await st.s3.send(new ListObjectsV2Command({ Bucket: B }));
      assert.equal(page.KeyCount, 0);
    });

    test('--sse AES256: a 64 MiB multipart upload round-trips byte for byte as SSE-S3', async () => {
      await aws.run(['s3', 'cp', bigFile, `s3://${B}/sse-s3.bin`, '--sse', 'AES256', '--no-progress']);
      const head = await aws.json<HeadObject>(['s3api', 'head-object', '--bucket', B, '--key', 'sse-s3.bin']);
      assert.equal(head.ServerSideEncryption, 'AES256');
      assert.equal(head.SSEKMSKeyId, undefined);
      assert.equal(head.ContentLength, big.length);
      assert.match(head.ETag, /^"[0-9a-f]{32}-8"$/, 'uploaded in eight 8 MiB parts');
      assert.equal(sha256(await download('sse-s3.bin')), sha256(big));
    });

    test('--sse aws:kms --sse-kms-key-id: SSE-KMS under the named key; head-object shows the key', async () => {
      await aws.run(['s3', 'cp', bigFile, `s3://${B}/sse-kms.bin`, '--sse', 'aws:kms', '--sse-kms-key-id', KMS_KEY, '--no-progress']);
      const head = await aws.json<HeadObject>(['s3api', 'head-object', '--bucket', B, '--key', 'sse-kms.bin']);
      assert.equal(head.ServerSideEncryption, 'aws:kms');
      assert.equal(head.SSEKMSKeyId, KMS_KEY);
      assert.match(head.ETag, /-8"$/);
      assert.equal(sha256(await download('sse-kms.bin')), sha256(big));
      // The SDK sees the same object.
      const sdk = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'sse-kms.bin' }));
      assert.equal(sdk.SSEKMSKeyId, KMS_KEY);
    });

    test('--sse-c AES256 --sse-c-key fileb:// over HTTPS: round trip, and the key is required to read', async () => {
      const sseC = ['--sse-c', 'AES256', '--sse-c-key', `fileb://${keyFile}`];
      await aws.run(['s3', 'cp', bigFile, `s3://${B}/sse-c.bin`, ...sseC, '--no-progress'], { tls: true });
      const keyArgs = ['--sse-customer-algorithm', 'AES256', '--sse-customer-key', `fileb://${keyFile}`];
      const head = await aws.json<HeadObject>(['s3api', 'head-object', '--bucket', B, '--key', 'sse-c.bin', ...keyArgs], { tls: true });
      assert.equal(head.SSECustomerAlgorithm, 'AES256');
      assert.equal(head.SSECustomerKeyMD5, createHash('md5').update(customerKey).digest('base64'));
      assert.equal(head.ServerSideEncryption, undefined);
      assert.equal(head.ContentLength, big.length);
      assert.equal(sha256(await download('sse-c.bin', sseC, true)), sha256(big));

      const noKey = await failure(aws.run(['s3api', 'head-object', '--bucket', B, '--key', 'sse-c.bin'], { tls: true }));
      assert.match(noKey.stderr, /\(400\)/);
      const wrongKeyFile = join(aws.dir, 'wrong.bin');
      writeFileSync(wrongKeyFile, randomBytes(32));
      const wrong = await failure(
        aws.run(
          [
            's3api',
            'head-object',
            '--bucket',
            B,
            '--key',
            'sse-c.bin',
            '--sse-customer-algorithm',
            'AES256',
            '--sse-customer-key',
            `fileb://${wrongKeyFile}`,
          ],
          { tls: true },
        ),
      );
      assert.match(wrong.stderr, /\(403\)/);
      // And the SDK reads it with the same key.
      const sdk = await getBytes(st.s3tls, { Bucket: B, Key: 'sse-c.bin', Range: 'bytes=0-99', ...ssec(customerKey).put });
      assert.ok(sdk.equals(big.subarray(0, 100)));
    });

    test('aws s3api get-object --range: ranges inside a part, across a part boundary and at the end', async () => {
      // Eight 8 MiB parts of 64 KiB packages: a first byte, a span across a part boundary, a span over
      // whole parts, the last bytes. Spread over the three objects (each CLI call costs ~2 s of Python).
      const boundary: [number, number] = [8 * MiB - 10, 8 * MiB + 9];
      const cases: { key: string; extra: string[]; tls: boolean; ranges: [number, number][] }[] = [
        { key: 'sse-s3.bin', extra: [], tls: false, ranges: [boundary, [big.length - 1000, big.length - 1]] },
        { key: 'sse-kms.bin', extra: [], tls: false, ranges: [[3 * 8 * MiB - 65_536, 5 * 8 * MiB + 65_535]] },
        {
          key: 'sse-c.bin',
          extra: ['--sse-customer-algorithm', 'AES256', '--sse-customer-key', `fileb://${keyFile}`],
          tls: true,
          ranges: [[0, 0], boundary],
        },
      ];
      for (const c of cases) {
        for (const [a, b] of c.ranges) {
          const out = join(aws.dir, `range-${c.key}-${a}`);
          const r = await aws.json<{ ContentRange: string; ContentLength: number }>(
            ['s3api', 'get-object', '--bucket', B, '--key', c.key, '--range', `bytes=${a}-${b}`, ...c.extra, out],
            { tls: c.tls },
          );
          assert.equal(r.ContentRange, `bytes ${a}-${b}/${big.length}`);
          assert.equal(r.ContentLength, b - a + 1);
          assert.ok(readFileSync(out).equals(big.subarray(a, b + 1)), `${c.key} bytes=${a}-${b}`);
        }
      }
    });

    test('aws s3 ls lists the objects with their plaintext sizes; aws s3 rm removes them', async () => {
      const listed = await aws.run(['s3', 'ls', `s3://${B}/`]);
      const rows = listed
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .map((cols) => [cols[3], Number(cols[2])]);
      assert.deepEqual(rows, [
        ['sse-c.bin', big.length],
        ['sse-kms.bin', big.length],
        ['sse-s3.bin', big.length],
      ]);

      const removed = await aws.run(['s3', 'rm', `s3://${B}/sse-kms.bin`]);
      assert.match(removed, /delete: s3:\/\/cli-bucket\/sse-kms\.bin/);
      assert.equal(await exists(st.s3, B, 'sse-kms.bin'), false);
      const gone = await s3Error(st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'sse-kms.bin' })));
      assert.equal(gone.status, 404);

      await aws.run(['s3', 'rm', `s3://${B}/`, '--recursive']);
      const page = await st.s3.send(new ListObjectsV2Command({ Bucket: B }));
      assert.equal(page.KeyCount, 0);
      assert.equal(await aws.run(['s3', 'ls', `s3://${B}/`]).catch((e: AwsCliError) => e.stderr), '', 'an empty bucket lists nothing');
      await aws.run(['s3', 'rb', `s3://${B}`]);
      assert.doesNotMatch(await aws.run(['s3', 'ls']), new RegExp(B));
    });

    if (layout.balanced) {
      test("the balancer spread the CLI's connections over both gateways", () => {
        const [a, b] = tools.connections();
        assert.ok(a! > 0 && b! > 0, `connections per gateway: ${tools.connections().join(', ')}`);
      });
    }
  });
}
