// boto3 (Debian's python3-boto3 1.26, run with /usr/bin/python3) signing with Signature Version 2: its
// default presigned URLs and presigned POST forms, and header-signed requests with signature_version='s3'
// (put, head, get, range, list v1/v2, delete), plus a SigV4 POST form. Part of `npm run test:awscli`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { runPythonScript } from './run-tool.js';
import { exists } from '../helpers/s3.js';

const SCRIPT = fileURLToPath(new URL('./boto3_sigv2.py', import.meta.url));
const B = 'boto3-sigv2';
let st: Stack;
let dir: string;

before(async () => {
  st = await startStack({ keys: ['boto-v2-key'] });
  dir = mkdtempSync(join(tmpdir(), 'kesgate-boto3-v2-'));
});
after(async () => {
  await st?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('boto3 SigV2: presigned GET/PUT (its default), header-signed put/head/get/list/delete, presigned POST forms', async () => {
  const r = await runPythonScript(
    SCRIPT,
    { HOME: dir, KG_ACCESS_KEY: ACCESS_KEY, KG_SECRET_KEY: SECRET_KEY, KG_ENDPOINT: st.gw.url, KG_BUCKET: B, KG_KMS_KEY: 'boto-v2-key' },
    { cwd: dir, timeoutMs: 240_000 },
  );
  assert.deepEqual(r.presigned_get, { v2: true, status: 200, equal: true });
  assert.deepEqual(r.presigned_put, { status: 200, equal: true, error: null });
  assert.deepEqual(r.presigned_put_kms, { status: 200, sse: 'aws:kms', key: 'boto-v2-key' });
  assert.deepEqual(r.presigned_override, { status: 200, content_type: 'text/x-boto' });
  assert.deepEqual(r.presigned_expired, [403, 'AccessDenied', true]);
  assert.deepEqual(r.presigned_forged, [403, 'SignatureDoesNotMatch']);

  assert.deepEqual(r.v2_put, { sse: 'aws:kms', key: 'boto-v2-key' });
  assert.deepEqual(r.v2_head, { length: 300_000, meta: 'v2', type: 'text/plain' });
  assert.equal(r.v2_get, true);
  assert.equal(r.v2_range, true);
  assert.deepEqual(r.v2_list, ['v2/obj']);
  assert.deepEqual(r.v2_list_all, ['existing', 'presigned-kms', 'presigned-put', 'v2/obj']);
  assert.equal(r.v2_deleted, true);
  assert.deepEqual(r.v2_forged, [403, 'SignatureDoesNotMatch']);
  assert.equal(await exists(st.s3, B, 'v2/forged'), false);

  assert.deepEqual(r.post_v2, { v2: true, status: 201, key_in_reply: true, equal: true, meta: 'form', sse: 'AES256' });
  assert.deepEqual(r.post_v2_too_large, [400, 'EntityTooLarge']);
  assert.equal(await exists(st.s3, B, 'forms/big.bin'), false);
  assert.deepEqual(r.post_v4, { v4: true, status: 204, sse: 'aws:kms' });
  assert.deepEqual(r.post_v4_condition, [403, 'AccessDenied']);
  assert.equal(await exists(st.s3, B, 'forms/elsewhere.bin'), false);
  // The SigV2 form's object is encrypted like any PUT's (SSE-S3 by default).
  assert.equal((await st.s3.send(new HeadObjectCommand({ Bucket: B, Key: 'forms/upload.bin' }))).ServerSideEncryption, 'AES256');
});
