// boto3 (Debian's python3-boto3, run with /usr/bin/python3) against the gateway: a second, independent
// S3 client — botocore signs, chunks and checksums its own way. Part of `npm run test:awscli`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { runPythonScript } from './run-tool.js';

const SCRIPT = fileURLToPath(new URL('./boto3_client.py', import.meta.url));
let st: Stack;
let dir: string;

before(async () => {
  st = await startStack({ keys: ['boto-key'] });
  dir = mkdtempSync(join(tmpdir(), 'kesgate-boto3-'));
  writeFileSync(join(dir, 'ca.pem'), st.caPem);
});
after(async () => {
  await st?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('boto3: SSE-S3, SSE-KMS, SSE-C over HTTPS, transfer-manager multipart, ranges, copy, list, delete', async () => {
  const r = await runPythonScript(SCRIPT, {
    HOME: dir,
    KG_ACCESS_KEY: ACCESS_KEY,
    KG_SECRET_KEY: SECRET_KEY,
    KG_ENDPOINT: st.gw.url,
    KG_TLS_ENDPOINT: st.gw.httpsUrl!,
    KG_CA_FILE: join(dir, 'ca.pem'),
    KG_BUCKET: 'boto3-bucket',
    KG_KMS_KEY: 'boto-key',
    KG_DIR: dir,
  }, { cwd: dir, timeoutMs: 240_000 });
  assert.deepEqual(r.s3_put, { sse: 'AES256', etag_is_md5: true });
  assert.equal(r.s3_get, true);
  assert.deepEqual(r.kms_head, { sse: 'aws:kms', key: 'boto-key', length: 300_000 });
  assert.equal(r.kms_range, true);
  assert.equal(r.ssec_get, true);
  assert.deepEqual(r.ssec_wrong_key, [403, 'AccessDenied']);
  assert.deepEqual(r.mp, { etag_parts: '3', equal: true });
  assert.equal(r.mp_range, true);
  assert.equal(r.copy, true);
  assert.deepEqual(r.list, ['copied', 'kms', 'mp', 's3', 'ssec']);
  assert.equal(r.after_delete, 0);
});
