// Every row of the SSE error table of docs/s3-api.md: the status, the code, and that nothing was written.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Stack } from '../helpers/stack.js';
import { stackLayouts } from '../helpers/stack-layouts.js';
import { exists, getBytes, s3Error, ssec, withHeaders } from '../helpers/s3.js';

let st: Stack;
const B = 'sse-errors';
const key = randomBytes(32);
const b64 = key.toString('base64');
const md5 = createHash('md5').update(key).digest('base64');
const C = {
  alg: 'x-amz-server-side-encryption-customer-algorithm',
  key: 'x-amz-server-side-encryption-customer-key',
  md5: 'x-amz-server-side-encryption-customer-key-md5',
};

for (const layout of stackLayouts)
  describe(layout.name, { skip: layout.skip }, () => {
    before(async () => {
      st = await layout.start({ keys: ['tenant-c'] });
      await st.s3.send(new CreateBucketCommand({ Bucket: B }));
    });
    after(async () => st?.close());

    /** A PUT with these headers must fail with (status, code) and leave no object behind. */
    async function refusedPut(
      name: string,
      headers: Record<string, string | undefined>,
      status: number,
      code: string,
      client = st.s3tls,
    ): Promise<void> {
      const Key = `refused-${name}`;
      const r = await s3Error(client.send(withHeaders(new PutObjectCommand({ Bucket: B, Key, Body: 'secret plaintext' }), headers)));
      assert.deepEqual([r.status, r.code], [status, code], name);
      assert.equal(await exists(st.s3, B, Key), false, `${name}: nothing written`);
    }

    describe('SSE-C header validation (PUT)', () => {
      test('algorithm not AES256 → 400 InvalidEncryptionAlgorithmError', () =>
        refusedPut('alg', { [C.alg]: 'AES128', [C.key]: b64, [C.md5]: md5 }, 400, 'InvalidEncryptionAlgorithmError'));
      test('key without algorithm → 400 InvalidArgument', () =>
        refusedPut('noalg', { [C.key]: b64, [C.md5]: md5 }, 400, 'InvalidArgument'));
      test('key missing → 400 InvalidArgument', () => refusedPut('nokey', { [C.alg]: 'AES256', [C.md5]: md5 }, 400, 'InvalidArgument'));
      test('MD5 missing → 400 InvalidArgument', () => refusedPut('nomd5', { [C.alg]: 'AES256', [C.key]: b64 }, 400, 'InvalidArgument'));
      test('key not 32 bytes → 400 InvalidArgument', () => {
        const short = randomBytes(16);
        return refusedPut(
          'short',
          { [C.alg]: 'AES256', [C.key]: short.toString('base64'), [C.md5]: createHash('md5').update(short).digest('base64') },
          400,
          'InvalidArgument',
        );
      });
      test('MD5 mismatch → 400 InvalidArgument', () =>
        refusedPut(
          'badmd5',
          { [C.alg]: 'AES256', [C.key]: b64, [C.md5]: createHash('md5').update('other').digest('base64') },
          400,
          'InvalidArgument',
        ));
      test('SSE-C over plain HTTP → 400 InvalidRequest', () =>
        refusedPut('plain', { [C.alg]: 'AES256', [C.key]: b64, [C.md5]: md5 }, 400, 'InvalidRequest', st.s3));
    });

    describe('SSE-S3/KMS header validation (PUT)', () => {
      test('SSE-C together with SSE-S3 → 400 InvalidArgument', () =>
        refusedPut(
          'c-and-s3',
          { [C.alg]: 'AES256', [C.key]: b64, [C.md5]: md5, 'x-amz-server-side-encryption': 'AES256' },
          400,
          'InvalidArgument',
        ));
      test('SSE-C together with SSE-KMS → 400 InvalidArgument', () =>
        refusedPut(
          'c-and-kms',
          { [C.alg]: 'AES256', [C.key]: b64, [C.md5]: md5, 'x-amz-server-side-encryption': 'aws:kms' },
          400,
          'InvalidArgument',
        ));
      test('AES256 with a KMS key id → 400 InvalidArgument', () =>
        refusedPut(
          's3-keyid',
          { 'x-amz-server-side-encryption': 'AES256', 'x-amz-server-side-encryption-aws-kms-key-id': 'tenant-c' },
          400,
          'InvalidArgument',
        ));
      test('unknown SSE value → 400 InvalidArgument', () =>
        refusedPut('unknown', { 'x-amz-server-side-encryption': 'aws:kms:dsse-x' }, 400, 'InvalidArgument'));
      test('KMS key id without aws:kms → 400 InvalidArgument', () =>
        refusedPut('keyid-only', { 'x-amz-server-side-encryption-aws-kms-key-id': 'tenant-c' }, 400, 'InvalidArgument'));
      test('a KMS key that does not exist → 400 KMS.NotFoundException', () =>
        refusedPut(
          'nokmskey',
          { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'no-such-key' },
          400,
          'KMS.NotFoundException',
        ));
      test('a malformed encryption context → 400 InvalidArgument', () =>
        refusedPut(
          'ctx',
          { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-context': 'not-base64-json' },
          400,
          'InvalidArgument',
        ));
    });

    describe('Content-MD5 under every mode', () => {
      // Only SSE-S3 computes the MD5 for its ETag; a Content-MD5 header is still checked under SSE-C and SSE-KMS.
      const wrongMd5 = createHash('md5').update('something else').digest('base64');
      test('SSE-KMS with a wrong Content-MD5 → 400 BadDigest', () =>
        refusedPut('md5-kms', { 'x-amz-server-side-encryption': 'aws:kms', 'content-md5': wrongMd5 }, 400, 'BadDigest'));
      test('SSE-C with a wrong Content-MD5 → 400 BadDigest', () =>
        refusedPut('md5-c', { [C.alg]: 'AES256', [C.key]: b64, [C.md5]: md5, 'content-md5': wrongMd5 }, 400, 'BadDigest'));
      test('SSE-KMS with the right Content-MD5 is stored', async () => {
        const body = Buffer.from('secret plaintext');
        await st.s3.send(
          withHeaders(new PutObjectCommand({ Bucket: B, Key: 'md5-ok', Body: body, ServerSideEncryption: 'aws:kms' }), {
            'content-md5': createHash('md5').update(body).digest('base64'),
          }),
        );
        assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'md5-ok' })).equals(body));
      });
    });

    describe('reads', () => {
      const data = randomBytes(4096);
      before(async () => {
        await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'ssec-obj', Body: data, ...ssec(key).put }));
        await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 's3-obj', Body: data }));
      });

      test('GET/HEAD of an SSE-C object without the key → 400 InvalidRequest', async () => {
        const g = await s3Error(st.s3tls.send(new GetObjectCommand({ Bucket: B, Key: 'ssec-obj' })));
        assert.deepEqual([g.status, g.code], [400, 'InvalidRequest']);
        const h = await s3Error(st.s3tls.send(new HeadObjectCommand({ Bucket: B, Key: 'ssec-obj' })));
        assert.equal(h.status, 400);
      });
      test('GET/HEAD of an SSE-C object with the wrong key → 403 AccessDenied', async () => {
        const g = await s3Error(st.s3tls.send(new GetObjectCommand({ Bucket: B, Key: 'ssec-obj', ...ssec().put })));
        assert.deepEqual([g.status, g.code], [403, 'AccessDenied']);
        const h = await s3Error(st.s3tls.send(new HeadObjectCommand({ Bucket: B, Key: 'ssec-obj', ...ssec().put })));
        assert.equal(h.status, 403);
      });
      test('SSE-C headers on an object that is not SSE-C → 400 InvalidRequest', async () => {
        const g = await s3Error(st.s3tls.send(new GetObjectCommand({ Bucket: B, Key: 's3-obj', ...ssec(key).put })));
        assert.deepEqual([g.status, g.code], [400, 'InvalidRequest']);
      });
      test('x-amz-server-side-encryption on GET/HEAD → 400 InvalidArgument', async () => {
        const g = await s3Error(
          st.s3.send(withHeaders(new GetObjectCommand({ Bucket: B, Key: 's3-obj' }), { 'x-amz-server-side-encryption': 'AES256' })),
        );
        assert.deepEqual([g.status, g.code], [400, 'InvalidArgument']);
        const h = await s3Error(
          st.s3.send(
            withHeaders(new HeadObjectCommand({ Bucket: B, Key: 's3-obj' }), { 'x-amz-server-side-encryption-aws-kms-key-id': 'tenant-c' }),
          ),
        );
        assert.equal(h.status, 400);
      });
      test('the objects are intact after every refusal', async () => {
        assert.ok((await getBytes(st.s3tls, { Bucket: B, Key: 'ssec-obj', ...ssec(key).put })).equals(data));
        assert.ok((await getBytes(st.s3, { Bucket: B, Key: 's3-obj' })).equals(data));
      });
    });
  });
