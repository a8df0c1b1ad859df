// A refused upload reaches its client as the S3 error, never as a reset connection, whatever the body size
// and whether or not the client waits for 100 Continue: the SDK v3 (waits over HTTP; over HTTPS with its own
// agent it sends the body at once), curl (waits, and with `Expect:` emptied sends at once while reading) and
// hand-driven connections (whole body first without reading, like Python's http.client; waiting for 100;
// giving up waiting; a body beyond the gateway's discard bound). Refusals: UploadPart of an SSE-C upload
// without its key or with another key, a bad signature, a missing bucket, an unknown KMS key. Each checks
// the status and code the client got and that nothing was stored. The Python clients (boto3, http.client)
// are in test/awscli/refused-uploads.awscli.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DISCARD_MAX_BYTES } from '../../src/s3/refused-body.js';
import { ACCESS_KEY, SECRET_KEY, startStack, type Stack } from '../helpers/stack.js';
import { getBytes, s3Error, ssec } from '../helpers/s3.js';
import { errorCode, RawClient } from './raw.js';
import { snapshot } from './state.js';
import { head, Wire } from './wire.js';

const B = 'refused-uploads';
const MiB = 1024 * 1024;
const SIZES = [8 * MiB, 64 * MiB];
/** Every refused body: the bytes do not matter, their size does. One buffer (the 8 MiB bodies are its start) instead
 * of fresh random bodies per size and client, which cost seconds of CPU and page faults and slow every curl spawn. */
const body = Buffer.alloc(Math.max(...SIZES), 0x61);
const existing = randomBytes(1000);
const uploadKey = ssec();
const otherKey = ssec();
let st: Stack;
let uploadId: string;
let dir: string;

interface Refusal {
  name: string;
  status: number;
  code: string;
  /** Path and query as sent. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Signed with this secret instead of the right one. */
  secret?: string;
}

const ssecHeaders = (k: ReturnType<typeof ssec>): Record<string, string> => ({
  'x-amz-server-side-encryption-customer-algorithm': 'AES256',
  'x-amz-server-side-encryption-customer-key': k.key.toString('base64'),
  'x-amz-server-side-encryption-customer-key-md5': createHash('md5').update(k.key).digest('base64'),
});

function refusals(): Refusal[] {
  const part = { partNumber: '1', uploadId };
  return [
    { name: 'UploadPart of an SSE-C upload without its key', status: 400, code: 'InvalidRequest', path: `/${B}/ssec-upload`, query: part },
    {
      name: 'UploadPart of an SSE-C upload with another key',
      status: 400,
      code: 'InvalidRequest',
      path: `/${B}/ssec-upload`,
      query: part,
      headers: ssecHeaders(otherKey),
    },
    { name: 'PutObject with a bad signature', status: 403, code: 'SignatureDoesNotMatch', path: `/${B}/new`, secret: 'not-the-secret' },
    { name: 'PutObject to a missing bucket', status: 404, code: 'NoSuchBucket', path: '/no-such-bucket/new' },
    {
      name: 'PutObject under an unknown KMS key',
      status: 400,
      code: 'KMS.NotFoundException',
      path: `/${B}/new`,
      headers: { 'x-amz-server-side-encryption': 'aws:kms', 'x-amz-server-side-encryption-aws-kms-key-id': 'no-such-key' },
    },
  ];
}

const TRANSPORTS = ['http', 'https'] as const;
type Transport = (typeof TRANSPORTS)[number];
const portOf = (t: Transport): number => (t === 'http' ? st.gw.httpPort : st.gw.httpsPort!);
const caOf = (t: Transport): string | undefined => (t === 'http' ? undefined : st.caPem);

before(async () => {
  // SSE-C over plain HTTP is allowed here so that both listeners refuse the same upload the same way.
  st = await startStack({ gateway: { sse: { allowInsecureSSEC: true } } });
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'existing', Body: existing }));
  const up = await st.s3tls.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'ssec-upload', ...uploadKey.put }));
  uploadId = up.UploadId!;
  dir = mkdtempSync(join(tmpdir(), 'kesgate-refused-'));
  writeFileSync(join(dir, 'ca.pem'), st.caPem);
  for (const size of SIZES) writeFileSync(join(dir, `${size}.bin`), body.subarray(0, size));
});
after(async () => {
  await st?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs `attempt`, then checks that the store is exactly as it was and the gateway still serves objects. */
async function nothingStored(attempt: () => Promise<void>): Promise<void> {
  const before = await snapshot(st.s3, st.dataDir);
  await attempt();
  assert.deepEqual(await snapshot(st.s3, st.dataDir), before, 'a refused upload must leave the store as it was');
  assert.ok((await getBytes(st.s3, { Bucket: B, Key: 'existing' })).equals(existing));
}

/** The signed head of `r` for a body of `size` bytes sent UNSIGNED-PAYLOAD, plus `extra` unsigned headers. */
async function signedHead(t: Transport, r: Refusal, size: number, extra: Record<string, string> = {}): Promise<string> {
  const raw = new RawClient(portOf(t), ACCESS_KEY, SECRET_KEY);
  const headers = await raw.sign(
    { method: 'PUT', path: r.path, ...(r.query ? { query: r.query } : {}), headers: { 'content-length': String(size), ...r.headers } },
    { payloadHash: 'UNSIGNED-PAYLOAD', ...(r.secret ? { secretKey: r.secret } : {}) },
  );
  const q = new URLSearchParams(r.query ?? {}).toString();
  return head('PUT', q ? `${r.path}?${q}` : r.path, { ...headers, ...extra });
}

function assertRefused(answer: { status: number; body: string } | undefined, r: Refusal, what: string): void {
  assert.ok(answer, `${what}: the client got no answer`);
  assert.equal(answer.status, r.status, `${what}: ${answer.body}`);
  assert.equal(errorCode(answer.body), r.code, `${what}: ${answer.body}`);
}

describe('refused uploads reach their clients', () => {
  test('SDK v3: each refusal arrives as its S3 error, over HTTP and HTTPS, with 8 and 64 MiB bodies; nothing is stored', async () => {
    const wrongSecret = (t: Transport): S3Client =>
      new S3Client({
        endpoint: t === 'http' ? st.gw.url : st.gw.httpsUrl!,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: 'not-the-secret' },
        maxAttempts: 1,
        ...(t === 'https' ? { requestHandler: { httpsAgent: new Agent({ ca: st.caPem, keepAlive: true }) } } : {}),
      });
    await nothingStored(async () => {
      for (const t of TRANSPORTS) {
        const s3 = t === 'http' ? st.s3 : st.s3tls;
        const forger = wrongSecret(t);
        try {
          for (const size of SIZES) {
            const Body = body.subarray(0, size);
            const part = { Bucket: B, Key: 'ssec-upload', UploadId: uploadId, PartNumber: 1, Body };
            const calls: [string, () => Promise<unknown>, number, string][] = [
              ['UploadPart without the key', () => s3.send(new UploadPartCommand(part)), 400, 'InvalidRequest'],
              ['UploadPart with another key', () => s3.send(new UploadPartCommand({ ...part, ...otherKey.put })), 400, 'InvalidRequest'],
              [
                'PutObject with a bad signature',
                () => forger.send(new PutObjectCommand({ Bucket: B, Key: 'new', Body })),
                403,
                'SignatureDoesNotMatch',
              ],
              [
                'PutObject to a missing bucket',
                () => s3.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'new', Body })),
                404,
                'NoSuchBucket',
              ],
              [
                'PutObject under an unknown KMS key',
                () =>
                  s3.send(
                    new PutObjectCommand({ Bucket: B, Key: 'new', Body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'no-such-key' }),
                  ),
                400,
                'KMS.NotFoundException',
              ],
            ];
            for (const [what, call, status, code] of calls) {
              const err = await s3Error(call());
              assert.deepEqual({ status: err.status, code: err.code }, { status, code }, `${t} ${size >> 20} MiB ${what}: ${err.message}`);
            }
          }
          // The clients' keep-alive connections still serve requests after all that.
          await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'existing' }));
        } finally {
          forger.destroy();
        }
      }
    });
  });

  /** curl's exit status (0: the exchange completed; 55/56: a send/receive failure such as a reset), HTTP status and body. */
  function curl(
    t: Transport,
    r: Refusal,
    file: string,
    expect: boolean,
  ): Promise<{ exit: number; status: number; body: string; stderr: string }> {
    const base = t === 'http' ? st.gw.url : st.gw.httpsUrl!;
    const q = new URLSearchParams(r.query ?? {}).toString();
    const args = [
      '-sS',
      '--cacert',
      join(dir, 'ca.pem'),
      '--aws-sigv4',
      'aws:amz:us-east-1:s3',
      '--user',
      `${ACCESS_KEY}:${r.secret ?? SECRET_KEY}`,
      '-H',
      'x-amz-content-sha256: UNSIGNED-PAYLOAD',
      ...Object.entries(r.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
      // curl waits for 100 Continue before bodies over 1 MiB; an empty Expect makes it send at once.
      ...(expect ? [] : ['-H', 'Expect:']),
      '-T',
      file,
      '-w',
      '\n%{http_code}',
      `${base}${r.path}${q ? `?${q}` : ''}`,
    ];
    return new Promise((resolve) => {
      execFile('/usr/bin/curl', args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        const nl = stdout.lastIndexOf('\n');
        resolve({
          exit: (err as { code?: number } | null)?.code ?? 0,
          status: Number(stdout.slice(nl + 1)),
          body: stdout.slice(0, nl),
          stderr,
        });
      });
    });
  }

  test('curl, waiting for 100 Continue and not: each refusal arrives as its S3 error over HTTP and HTTPS, 8 and 64 MiB; nothing is stored', async () => {
    await nothingStored(async () => {
      for (const t of TRANSPORTS) {
        for (const size of SIZES) {
          for (const expect of [true, false]) {
            for (const r of refusals()) {
              const what = `${t} ${size >> 20} MiB ${expect ? 'Expect' : 'no Expect'}: ${r.name}`;
              const res = await curl(t, r, join(dir, `${size}.bin`), expect);
              assert.equal(res.exit, 0, `${what}: curl failed: ${res.stderr}`);
              assertRefused(res, r, what);
            }
          }
        }
      }
    });
  });

  test('a client sending its whole body before reading (no Expect) gets the answer, and its connection serves the next request', async () => {
    await nothingStored(async () => {
      for (const t of TRANSPORTS) {
        for (const size of SIZES) {
          const wire = await Wire.open(portOf(t), caOf(t));
          try {
            for (const r of refusals()) {
              const what = `${t} ${size >> 20} MiB: ${r.name}`;
              // Deaf while sending, as Python's http.client: a reset would discard the answer unread.
              wire.socket.pause();
              assert.ok(await wire.write(await signedHead(t, r, size)), `${what}: the head was not accepted`);
              assert.equal(await wire.writeBody(size), size, `${what}: the body was not accepted: ${wire.error?.code}`);
              wire.socket.resume();
              assertRefused(await wire.answer(), r, what);
              assert.equal(wire.error, undefined, `${what}: the connection failed`);
            }
            // The same connection, after five refused bodies, serves a GET.
            const get = new RawClient(portOf(t), ACCESS_KEY, SECRET_KEY);
            await wire.write(head('GET', `/${B}/existing`, await get.sign({ method: 'GET', path: `/${B}/existing` })));
            const answer = await wire.answer();
            assert.equal(answer?.status, 200, answer?.body);
            assert.equal(answer.headers['content-length'], String(existing.length));
            assert.equal(wire.error, undefined);
          } finally {
            wire.close();
          }
        }
      }
    });
  });

  test('a client waiting for 100 Continue gets the final answer instead and no body is read; the connection closes cleanly', async () => {
    await nothingStored(async () => {
      for (const t of TRANSPORTS) {
        for (const r of refusals()) {
          const what = `${t}: ${r.name}`;
          const wire = await Wire.open(portOf(t), caOf(t));
          try {
            await wire.write(await signedHead(t, r, 64 * MiB, { expect: '100-continue' }));
            const answer = await wire.answer();
            assertRefused(answer, r, what);
            assert.deepEqual(wire.interim, [], `${what}: no 100 Continue before a refusal`);
            assert.equal(answer!.headers.connection, 'close', what);
            await wire.untilClosed();
            assert.ok(wire.ended, `${what}: the gateway ends the connection`);
            assert.equal(wire.error, undefined, `${what}: closed cleanly, not reset`);
          } finally {
            wire.close();
          }
        }
      }
    });
  });

  test('a client that stops waiting for 100 Continue and sends its body anyway still gets the answer; the connection closes cleanly', async () => {
    await nothingStored(async () => {
      for (const t of TRANSPORTS) {
        for (const r of refusals()) {
          const what = `${t}: ${r.name}`;
          const wire = await Wire.open(portOf(t), caOf(t));
          try {
            wire.socket.pause();
            await wire.write(await signedHead(t, r, 8 * MiB, { expect: '100-continue' }));
            assert.equal(await wire.writeBody(8 * MiB), 8 * MiB, `${what}: the body was not accepted: ${wire.error?.code}`);
            wire.socket.resume();
            const answer = await wire.answer();
            assertRefused(answer, r, what);
            assert.equal(answer!.headers.connection, 'close', what);
            await wire.untilClosed();
            assert.equal(wire.error, undefined, `${what}: closed cleanly, not reset`);
          } finally {
            wire.close();
          }
        }
      }
    });
  });

  test('an upload the gateway accepts is told to continue when its body is wanted, and stored', async () => {
    for (const t of TRANSPORTS) {
      const key = `continued-${t}`;
      const wire = await Wire.open(portOf(t), caOf(t));
      try {
        await wire.write(
          await signedHead(t, { name: 'accepted', status: 200, code: '', path: `/${B}/${key}` }, 3 * MiB, { expect: '100-continue' }),
        );
        while (!wire.sawContinue() && !wire.closed) await new Promise((resolve) => setTimeout(resolve, 5));
        assert.deepEqual(wire.interim, [100]);
        assert.equal(await wire.writeBody(3 * MiB), 3 * MiB);
        const answer = await wire.answer();
        assert.equal(answer?.status, 200, answer?.body);
        assert.notEqual(answer.headers.connection, 'close', 'the connection stays open after a continued upload');
      } finally {
        wire.close();
      }
      assert.ok((await getBytes(st.s3, { Bucket: B, Key: key })).equals(Buffer.alloc(3 * MiB, 0x61)));
    }
  });

  test('a refused request without a body (a GET with a bad signature) leaves its keep-alive connection open', async () => {
    for (const t of TRANSPORTS) {
      const raw = new RawClient(portOf(t), ACCESS_KEY, SECRET_KEY);
      const wire = await Wire.open(portOf(t), caOf(t));
      try {
        await wire.write(
          head('GET', `/${B}/existing`, await raw.sign({ method: 'GET', path: `/${B}/existing` }, { secretKey: 'not-the-secret' })),
        );
        const refusedGet = await wire.answer();
        assert.equal(refusedGet?.status, 403, refusedGet?.body);
        assert.notEqual(refusedGet.headers.connection, 'close', t);
        await wire.write(head('GET', `/${B}/existing`, await raw.sign({ method: 'GET', path: `/${B}/existing` })));
        assert.equal((await wire.answer())?.status, 200, `${t}: the same connection serves the next request`);
        assert.equal(wire.error, undefined);
      } finally {
        wire.close();
      }
    }
  });

  test(`a refused body beyond ${DISCARD_MAX_BYTES >> 20} MiB: the answer says Connection: close and the gateway cuts the connection past that bound`, async () => {
    const declared = 4 * DISCARD_MAX_BYTES;
    const missing: Refusal = { name: 'missing bucket', status: 404, code: 'NoSuchBucket', path: '/no-such-bucket/huge' };
    await nothingStored(async () => {
      const wire = await Wire.open(st.gw.httpPort, undefined, true);
      try {
        await wire.write(await signedHead('http', missing, declared));
        const answer = await wire.answer();
        assertRefused(answer, missing, 'huge body');
        assert.equal(answer!.headers.connection, 'close');
        // Keep sending as a client that does not read answers would: the gateway discards up to its bound, then closes.
        const sent = await wire.writeBody(declared);
        await wire.untilClosed();
        assert.ok(sent >= DISCARD_MAX_BYTES, `the gateway read ${sent} bytes, less than its bound`);
        assert.ok(sent < declared, 'the gateway cut the connection before the whole declared body');
      } finally {
        wire.close();
      }
    });
  });
});
