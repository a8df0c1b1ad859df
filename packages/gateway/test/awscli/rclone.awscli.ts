// rclone (Debian's 1.60, a Go client: its XML is encoding/xml's) against a real kes and gateway: copy of a
// tree with a multipart upload, check by hash, ranged cat, sync with deletions, versioning status, purge;
// SSE-KMS with a named key; SSE-C over HTTPS. This suite found two incompatibilities: ETags in
// CompleteMultipartUpload written as &#34;…&#34; (numeric character references) were not decoded, and
// GetBucketVersioning was 501. Not part of `npm test` (it needs /usr/bin/rclone): `npm run test:awscli`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { getBytes, s3Error } from '../helpers/s3.js';
import { rclone, rcloneInstalled, type Rclone } from './rclone.js';

const MiB = 1024 * 1024;
const KMS_KEY = 'rclone-tenant';
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

let st: Stack;
let rc: Rclone;
let src: string;
const files = new Map<string, Buffer>();

before(async () => {
  assert.ok(rcloneInstalled(), "this suite needs Debian's rclone at /usr/bin/rclone (apt-get install -y rclone)");
  st = await startStack({ keys: [KMS_KEY] });
  rc = rclone({ accessKey: ACCESS_KEY, secretKey: SECRET_KEY, endpoint: st.gw.url, tlsEndpoint: st.gw.httpsUrl!, caPem: st.caPem });
  src = join(rc.dir, 'src');
  mkdirSync(join(src, 'sub'), { recursive: true });
  files.set('small.txt', Buffer.from('hello, kesgate\n'));
  files.set('sub/medium.bin', randomBytes(300_000));
  files.set('big.bin', randomBytes(12 * MiB)); // over the 5 MiB cutoff below: a multipart upload of 3 parts
  for (const [name, data] of files) writeFileSync(join(src, name), data);
});
after(async () => {
  rc?.close();
  await st?.close();
});

/** Flags that make rclone upload anything over 5 MiB in 5 MiB parts. */
const MULTIPART = ['--s3-upload-cutoff', '5M', '--s3-chunk-size', '5M'];

describe('rclone', () => {
  test('copy (with a multipart upload), check by hash, lsl sizes, ranged cat, sync with deletions, versioning, purge', async () => {
    await rc.run(['mkdir', 'kg:rclone-plain']);
    await rc.run(['copy', src, 'kg:rclone-plain/tree', ...MULTIPART]);
    const checked = await rc.run(['check', src, 'kg:rclone-plain/tree', '--one-way']).catch((e: Error) => e.message);
    assert.doesNotMatch(checked, /differences found|ERROR/, checked);
    const sums = await rc.run(['md5sum', 'kg:rclone-plain/tree']);
    for (const [name, data] of files) assert.match(sums, new RegExp(`^${md5(data)}  ${name.replace('.', '\\.')}$`, 'm'), name);
    const listing = await rc.run(['lsl', 'kg:rclone-plain/tree']);
    for (const [name, data] of files) assert.match(listing, new RegExp(`^\\s*${data.length} .* ${name.replace('.', '\\.')}$`, 'm'), name);
    // The multipart object reads back whole through another client.
    assert.ok((await getBytes(st.s3, { Bucket: 'rclone-plain', Key: 'tree/big.bin' })).equals(files.get('big.bin')!));

    const range = await rc.run(['cat', 'kg:rclone-plain/tree/sub/medium.bin', '--offset', '65530', '--count', '20']);
    assert.ok(Buffer.from(range, 'latin1').equals(files.get('sub/medium.bin')!.subarray(65530, 65550)));

    rmSync(join(src, 'small.txt'));
    await rc.run(['sync', src, 'kg:rclone-plain/tree', ...MULTIPART]);
    assert.doesNotMatch(await rc.run(['ls', 'kg:rclone-plain/tree']), /small\.txt/);
    writeFileSync(join(src, 'small.txt'), files.get('small.txt')!);

    assert.match(await rc.run(['backend', 'versioning', 'kg:rclone-plain']), /Unversioned/);
    await rc.run(['purge', 'kg:rclone-plain']);
    assert.doesNotMatch(await rc.run(['lsd', 'kg:']), /rclone-plain/);
  });

  test('keys with spaces, quotes, ampersands, plus, percent and non-ASCII letters: copy, list, check, delete', async () => {
    const odd = join(rc.dir, 'odd');
    const names = ['a b+c%d é.txt', `dir with space/x&y'z"q.txt`, 'ünïcode/日本語.txt'];
    for (const [i, name] of names.entries()) {
      mkdirSync(join(odd, name, '..'), { recursive: true });
      writeFileSync(join(odd, name), `content ${i}`);
    }
    await rc.run(['mkdir', 'kg:rclone-odd']);
    await rc.run(['copy', odd, 'kg:rclone-odd']);
    const listed = await rc.run(['lsf', '-R', '--files-only', 'kg:rclone-odd']);
    assert.deepEqual(Buffer.from(listed, 'latin1').toString('utf8').trim().split('\n').sort(), [...names].sort());
    const checked = await rc.run(['check', odd, 'kg:rclone-odd']).catch((e: Error) => e.message);
    assert.doesNotMatch(checked, /differences found|ERROR/, checked);
    for (const [i, name] of names.entries())
      assert.equal((await getBytes(st.s3, { Bucket: 'rclone-odd', Key: name })).toString(), `content ${i}`, name);
    await rc.run(['delete', 'kg:rclone-odd']);
    assert.equal((await rc.run(['lsf', '-R', 'kg:rclone-odd', '--files-only'])).trim(), '');
    await rc.run(['rmdir', 'kg:rclone-odd']);
  });

  test('SSE-KMS with a named key: stored under it, and rclone checks the hashes it recorded', async () => {
    const kms = ['--s3-server-side-encryption', 'aws:kms', '--s3-sse-kms-key-id', KMS_KEY];
    await rc.run(['mkdir', 'kg:rclone-kms']);
    await rc.run(['copy', src, 'kg:rclone-kms', ...MULTIPART, ...kms]);
    const checked = await rc.run(['check', src, 'kg:rclone-kms', ...kms]).catch((e: Error) => e.message);
    assert.doesNotMatch(checked, /differences found|ERROR/, checked);
    for (const name of files.keys()) {
      const head = await st.s3.send(new HeadObjectCommand({ Bucket: 'rclone-kms', Key: name }));
      assert.deepEqual([head.ServerSideEncryption, head.SSEKMSKeyId], ['aws:kms', KMS_KEY], name);
    }
    const down = await rc.run(['cat', 'kg:rclone-kms/big.bin']);
    assert.ok(Buffer.from(down, 'latin1').equals(files.get('big.bin')!));
  });

  test('SSE-C over HTTPS: round trip with the key; without it the objects do not open', async () => {
    const key = randomBytes(16).toString('hex'); // 32 characters: rclone sends them as the 256-bit key
    const ssec = ['--s3-sse-customer-algorithm', 'AES256', '--s3-sse-customer-key', key];
    await rc.run(['mkdir', 'kg:rclone-ssec'], { tls: true });
    await rc.run(['copy', src, 'kg:rclone-ssec', ...MULTIPART, ...ssec], { tls: true });
    const checked = await rc.run(['check', src, 'kg:rclone-ssec', '--download', ...ssec], { tls: true }).catch((e: Error) => e.message);
    assert.doesNotMatch(checked, /differences found|ERROR/, checked);
    const down = await rc.run(['cat', 'kg:rclone-ssec/sub/medium.bin', ...ssec], { tls: true });
    assert.ok(Buffer.from(down, 'latin1').equals(files.get('sub/medium.bin')!));
    const without = await s3Error(st.s3tls.send(new HeadObjectCommand({ Bucket: 'rclone-ssec', Key: 'big.bin' })));
    assert.equal(without.status, 400);
  });
});
