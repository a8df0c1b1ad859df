// s3cmd (Debian's 2.3, Python, its own SigV4 signer and XML) against a real kes and gateway: make a bucket, put
// small and multipart objects, list, info (the MD5 it shows is the SSE-S3 ETag), get, sync with deletions,
// SSE-KMS with a named key, HTTPS with the gateway's CA, remove the bucket recursively.
// Not part of `npm test` (it needs /usr/bin/s3cmd): `npm run test:awscli`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { exists, getBytes } from '../helpers/s3.js';
import { runTool } from './run-tool.js';

const S3CMD = '/usr/bin/s3cmd';
const MiB = 1024 * 1024;
const KMS_KEY = 's3cmd-tenant';
const B = 's3cmd-bucket';

let st: Stack;
let dir: string;
let src: string;

/** Runs s3cmd with a config of its own (no ~/.s3cfg), over HTTP or HTTPS with the gateway's CA. */
function s3cmd(args: string[], tls = false): Promise<string> {
  const url = new URL(tls ? st.gw.httpsUrl! : st.gw.url);
  const config = join(dir, tls ? 's3cfg-tls' : 's3cfg');
  writeFileSync(
    config,
    [
      '[default]',
      `access_key = ${ACCESS_KEY}`,
      `secret_key = ${SECRET_KEY}`,
      `host_base = ${url.host}`,
      `host_bucket = ${url.host}`,
      'bucket_location = us-east-1',
      'signature_v2 = False',
      `use_https = ${tls ? 'True' : 'False'}`,
      ...(tls ? [`ca_certs_file = ${join(dir, 'ca.pem')}`, 'check_ssl_certificate = True'] : []),
      '',
    ].join('\n'),
  );
  return runTool(S3CMD, ['-c', config, '--no-progress', ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' },
    cwd: dir,
  });
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

before(async () => {
  assert.ok(existsSync(S3CMD), "this suite needs Debian's s3cmd at /usr/bin/s3cmd (apt-get install -y s3cmd)");
  st = await startStack({ keys: [KMS_KEY] });
  dir = mkdtempSync(join(tmpdir(), 'kesgate-s3cmd-'));
  writeFileSync(join(dir, 'ca.pem'), st.caPem);
  src = join(dir, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await st?.close();
});

test('s3cmd: mb, put (single and multipart), ls, info, get, sync --delete-removed, SSE-KMS, HTTPS, rb --recursive', async () => {
  const small = randomBytes(100_000);
  const big = randomBytes(12 * MiB);
  writeFileSync(join(src, 'small.bin'), small);
  writeFileSync(join(src, 'sub', 'big.bin'), big);
  await s3cmd(['mb', `s3://${B}`]);
  await s3cmd(['put', join(src, 'small.bin'), `s3://${B}/small.bin`]);
  await s3cmd(['put', join(src, 'sub', 'big.bin'), `s3://${B}/sub/big.bin`, '--multipart-chunk-size-mb=5']);
  const listing = await s3cmd(['ls', '--recursive', `s3://${B}`]);
  assert.match(listing, new RegExp(`\\s${small.length}\\s+s3://${B}/small\\.bin`));
  assert.match(listing, new RegExp(`\\s${big.length}\\s+s3://${B}/sub/big\\.bin`));
  // SSE-S3's ETag is the MD5 of the plaintext, which s3cmd shows as the object's MD5.
  assert.match(await s3cmd(['info', `s3://${B}/small.bin`]), new RegExp(`MD5 sum:\\s+${md5(small)}`));
  await s3cmd(['get', `s3://${B}/sub/big.bin`, join(dir, 'big.down')]);
  assert.ok(readFileSync(join(dir, 'big.down')).equals(big), 'the multipart object reads back whole');
  assert.match((await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'sub/big.bin' }))).ETag ?? '', /-3"$/, 'uploaded in three parts');

  // sync uploads what is new and, with --delete-removed, deletes what is gone locally.
  rmSync(join(src, 'small.bin'));
  writeFileSync(join(src, 'new.txt'), 'new');
  await s3cmd(['sync', '--delete-removed', `${src}/`, `s3://${B}/`]);
  assert.equal(await exists(st.s3, B, 'small.bin'), false);
  assert.deepEqual(await getBytes(st.s3, { Bucket: B, Key: 'new.txt' }), Buffer.from('new'));

  // SSE-KMS with a named key, over HTTPS.
  await s3cmd(
    ['put', join(src, 'new.txt'), `s3://${B}/kms.txt`, '--server-side-encryption', `--server-side-encryption-kms-id=${KMS_KEY}`],
    true,
  );
  const head = await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'kms.txt' }));
  assert.deepEqual([head.ServerSideEncryption, head.SSEKMSKeyId], ['aws:kms', KMS_KEY]);
  await s3cmd(['get', `s3://${B}/kms.txt`, join(dir, 'kms.down')], true);
  assert.equal(readFileSync(join(dir, 'kms.down'), 'utf8'), 'new');

  await s3cmd(['rb', '--recursive', `s3://${B}`]);
  assert.doesNotMatch(await s3cmd(['ls']), new RegExp(B));
});

test('s3cmd --signature-v2: mb, put (single and multipart), ls, info, get, signurl, sync --delete-removed, del, rb', async () => {
  const V2 = 's3cmd-sigv2';
  const v2 = (args: string[]): Promise<string> => s3cmd(['--signature-v2', ...args]);
  const dirV2 = join(dir, 'v2');
  mkdirSync(dirV2);
  const small = randomBytes(40_000);
  const big = randomBytes(11 * MiB);
  writeFileSync(join(dirV2, 'small.bin'), small);
  writeFileSync(join(dirV2, 'big.bin'), big);
  await v2(['mb', `s3://${V2}`]);
  await v2(['put', join(dirV2, 'small.bin'), `s3://${V2}/small.bin`]);
  // Multipart: ?uploads, ?partNumber&uploadId and ?uploadId are signed sub-resources in V2.
  await v2(['put', join(dirV2, 'big.bin'), `s3://${V2}/big.bin`, '--multipart-chunk-size-mb=5']);
  const listing = await v2(['ls', `s3://${V2}`]);
  assert.match(listing, new RegExp(`\\s${small.length}\\s+s3://${V2}/small\\.bin`));
  assert.match(listing, new RegExp(`\\s${big.length}\\s+s3://${V2}/big\\.bin`));
  assert.match(await v2(['info', `s3://${V2}/small.bin`]), new RegExp(`MD5 sum:\\s+${md5(small)}`));
  await v2(['get', `s3://${V2}/big.bin`, join(dirV2, 'big.down')]);
  assert.ok(readFileSync(join(dirV2, 'big.down')).equals(big));
  assert.match((await st.s3.send(new HeadObjectCommand({ Bucket: V2, Key: 'big.bin' }))).ETag ?? '', /-3"$/, 'uploaded in three parts');

  // signurl makes a V2 query-string URL (AWSAccessKeyId, Expires, Signature).
  const url = (await v2(['signurl', `s3://${V2}/small.bin`, '+300'])).trim();
  assert.match(url, /AWSAccessKeyId=.*Expires=.*Signature=|AWSAccessKeyId=.*Signature=.*Expires=/);
  const fetched = await fetch(url.replace(/^https?:\/\/[^/]+/, st.gw.url));
  assert.equal(fetched.status, 200);
  assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(small));

  rmSync(join(dirV2, 'small.bin'));
  rmSync(join(dirV2, 'big.down'));
  writeFileSync(join(dirV2, 'new.txt'), 'v2');
  await v2(['sync', '--delete-removed', `${dirV2}/`, `s3://${V2}/`]);
  assert.equal(await exists(st.s3, V2, 'small.bin'), false);
  assert.deepEqual(await getBytes(st.s3, { Bucket: V2, Key: 'new.txt' }), Buffer.from('v2'));
  await v2(['del', `s3://${V2}/new.txt`]);
  assert.equal(await exists(st.s3, V2, 'new.txt'), false);
  await v2(['rb', '--recursive', `s3://${V2}`]);
  assert.doesNotMatch(await v2(['ls']), new RegExp(V2));
});
