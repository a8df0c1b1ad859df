// boto3 (Debian's python3-boto3, run with /usr/bin/python3) against the gateway: a second, independent
// S3 client — botocore signs, chunks and checksums its own way. Runs on the embedded layout and on the
// cluster (two gateways behind a round-robin balancer). Part of `npm run test:awscli`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACCESS_KEY, SECRET_KEY } from '../helpers/stack.js';
import { toolLayouts, type ToolStack } from '../helpers/tool-layouts.js';
import { runPythonScript } from './run-tool.js';

const SCRIPT = fileURLToPath(new URL('./boto3_client.py', import.meta.url));

for (const layout of toolLayouts) {
  describe(layout.name, { skip: layout.skip }, () => {
    let tools: ToolStack;
    let dir: string;

    before(async () => {
      tools = await layout.start({ keys: ['boto-key'] });
      dir = mkdtempSync(join(tmpdir(), 'kesgate-boto3-'));
      writeFileSync(join(dir, 'ca.pem'), tools.stack.caPem);
    });
    after(async () => {
      await tools?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('boto3: SSE-S3, SSE-KMS, SSE-C over HTTPS, transfer-manager multipart, ranges, copy, list, delete', async () => {
      const r = await runPythonScript(
        SCRIPT,
        {
          HOME: dir,
          KG_ACCESS_KEY: ACCESS_KEY,
          KG_SECRET_KEY: SECRET_KEY,
          KG_ENDPOINT: tools.url,
          KG_TLS_ENDPOINT: tools.httpsUrl,
          KG_CA_FILE: join(dir, 'ca.pem'),
          KG_BUCKET: 'boto3-bucket',
          KG_KMS_KEY: 'boto-key',
          KG_DIR: dir,
        },
        { cwd: dir, timeoutMs: 240_000 },
      );
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

    if (layout.balanced) {
      test("the balancer spread boto3's connections over both gateways", () => {
        const [a, b] = tools.connections();
        assert.ok(a! > 0 && b! > 0, `connections per gateway: ${tools.connections().join(', ')}`);
      });
    }
  });
}
