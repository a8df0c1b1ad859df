// Refused uploads through Python's clients (Debian's /usr/bin/python3): boto3, which waits for 100 Continue,
// and http.client, which sends the whole body before reading. Over HTTP and HTTPS, 8 and 64 MiB bodies:
// UploadPart of an SSE-C upload without its key or with another key, a bad signature, a missing bucket, an
// unknown KMS key. Each must reach the client as its status and S3 error code (never a broken pipe or a
// TLS EOF), nothing may be stored, and the connections stay usable. Part of `npm run test:awscli`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { runPythonScript } from './run-tool.js';
import { getBytes, ssec } from '../helpers/s3.js';
import { snapshot } from '../edges/state.js';

const SCRIPT = fileURLToPath(new URL('./refused_uploads.py', import.meta.url));
const B = 'refused-python';
const existing = randomBytes(1000);
let st: Stack;
let dir: string;
let uploadId: string;

before(async () => {
  // SSE-C over plain HTTP is allowed here so that both listeners refuse the same upload the same way.
  st = await startStack({ gateway: { sse: { allowInsecureSSEC: true } } });
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'existing', Body: existing }));
  uploadId = (await st.s3tls.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'ssec-upload', ...ssec().put }))).UploadId!;
  dir = mkdtempSync(join(tmpdir(), 'kesgate-refused-py-'));
  writeFileSync(join(dir, 'ca.pem'), st.caPem);
});
after(async () => {
  await st?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const EXPECTED: Record<string, [number, string]> = {
  'part-without-key': [400, 'InvalidRequest'],
  'part-other-key': [400, 'InvalidRequest'],
  'bad-signature': [403, 'SignatureDoesNotMatch'],
  'missing-bucket': [404, 'NoSuchBucket'],
  'unknown-kms-key': [400, 'KMS.NotFoundException'],
};

interface Attempt {
  transport: string;
  size: number;
  case: string;
  status?: number;
  code?: string;
  exception?: string;
  accepted?: boolean;
}

test('boto3 and http.client see every refused 8 and 64 MiB upload as its S3 error over HTTP and HTTPS; nothing is stored', async () => {
  const before = await snapshot(st.s3, st.dataDir);
  const r = await runPythonScript<{ boto3: Attempt[]; http_client: Attempt[]; http_client_reuse: unknown[]; boto3_after: unknown[] }>(
    SCRIPT,
    {
      HOME: dir,
      KG_ACCESS_KEY: ACCESS_KEY,
      KG_SECRET_KEY: SECRET_KEY,
      KG_ENDPOINT: st.gw.url,
      KG_TLS_ENDPOINT: st.gw.httpsUrl!,
      KG_CA_FILE: join(dir, 'ca.pem'),
      KG_BUCKET: B,
      KG_UPLOAD_KEY: 'ssec-upload',
      KG_UPLOAD_ID: uploadId,
      KG_OTHER_SSEC_KEY: randomBytes(32).toString('base64'),
    },
    { cwd: dir, timeoutMs: 240_000 },
  );

  for (const client of ['boto3', 'http_client'] as const) {
    assert.equal(r[client].length, 2 * 2 * 5, `${client}: every transport, size and refusal was tried`);
    for (const a of r[client]) {
      const [status, code] = EXPECTED[a.case]!;
      const what = `${client} ${a.transport} ${a.size >> 20} MiB ${a.case}`;
      assert.deepEqual({ status: a.status, code: a.code }, { status, code }, `${what}: ${a.exception ?? JSON.stringify(a)}`);
    }
  }
  // After five refusals each, http.client's connection serves a GET on the same socket; boto3's pool works.
  assert.deepEqual(r.http_client_reuse, [
    { transport: 'http', size: 8 << 20, status: 200, same_socket: true },
    { transport: 'http', size: 64 << 20, status: 200, same_socket: true },
    { transport: 'https', size: 8 << 20, status: 200, same_socket: true },
    { transport: 'https', size: 64 << 20, status: 200, same_socket: true },
  ]);
  assert.deepEqual(r.boto3_after, [
    { transport: 'http', length: existing.length },
    { transport: 'https', length: existing.length },
  ]);

  assert.deepEqual(await snapshot(st.s3, st.dataDir), before, 'a refused upload must leave the store as it was');
  assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'existing' })).equals(existing));
});
