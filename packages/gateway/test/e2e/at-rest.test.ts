// Nothing reaches the disk in plaintext: after writes in every SSE mode (small objects inline in the metadata
// store among them), no file of the gateway's data directory, of kes's store or of the gateway's log holds the plaintext, the SSE-C key, a data key or an object key.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { pino } from 'pino';
import { unsealObjectKey } from '@kesgate/dare';
import { kmsContext, decodeClientContext } from '../../src/sse/kms-context.js';
import { bucketKeyContext } from '../../src/sse/bucket-keys.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { ssec } from '../helpers/s3.js';

let st: Stack;
let logPath: string;
const B = 'at-rest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

before(async () => {
  // The gateway logs at debug level to a file, so the log can be searched too.
  logPath = join(mkdtempSync(join(tmpdir(), 'kesgate-log-')), 'gateway.log');
  const logger = pino({ level: 'debug' }, pino.destination({ dest: logPath, sync: true }));
  st = await startStack({
    keys: ['tenant-x'],
    gatewayOptions: { logger },
    // The default config: small objects inline in meta.db.
  });
  await st.s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(async () => st?.close());

test('no plaintext, SSE-C key, data key or object key in the data dir, the kes store or the log', async () => {
  // Distinctive plaintext: any 64-byte window of it found on disk is a leak.
  const plain = Buffer.concat(Array.from({ length: 200 }, () => Buffer.from('PLAINTEXT-MARKER-kesgate-' + randomBytes(8).toString('hex'))));
  const k = ssec();
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 's3', Body: plain }));
  await st.s3.send(
    new PutObjectCommand({
      Bucket: B,
      Key: 'kms',
      Body: plain,
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'tenant-x',
      SSEKMSEncryptionContext: Buffer.from('{"app":"x"}').toString('base64'),
    }),
  );
  await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'c', Body: plain, ...k.put }));
  await st.s3.send(
    new PutObjectCommand({
      Bucket: B,
      Key: 'bk',
      Body: plain,
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'tenant-x',
      BucketKeyEnabled: true,
    }),
  );
  const big = Buffer.concat(Array.from({ length: 6 * 1024 }, () => plain.subarray(0, 1024)));
  await new Upload({ client: st.s3, params: { Bucket: B, Key: 'mp', Body: big }, partSize: 5 * 1024 * 1024 }).done();
  // Small objects live inline in meta.db (its scan below covers them): still only ciphertext there.
  const small = plain.subarray(0, 3000);
  await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 's3-small', Body: small }));
  await st.s3.send(
    new PutObjectCommand({ Bucket: B, Key: 'kms-small', Body: small, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'tenant-x' }),
  );
  await st.s3tls.send(new PutObjectCommand({ Bucket: B, Key: 'c-small', Body: small, ...k.put }));
  for (const key of ['s3-small', 'kms-small', 'c-small']) {
    assert.ok((await st.gw.svc.store.getObject(B, key))!.parts[0]!.inline, `${key} is stored inline`);
  }

  // The secrets: the SSE-C key (raw and as sent), every data key or bucket key (EK) and object key (OEK).
  const secrets: [string, Buffer][] = [
    ['SSE-C key', k.key],
    ['SSE-C key base64', Buffer.from(k.key.toString('base64'))],
  ];
  for (const key of ['s3', 'kms', 'mp', 'bk', 's3-small', 'kms-small']) {
    const rec = await st.gw.svc.store.getObject(B, key);
    const sse = rec!.sse;
    const client = decodeClientContext(sse.kmsContext);
    const ctx = sse.bucketKey ? bucketKeyContext(B, sse.bucketKey.id, client) : kmsContext(B, key, client);
    const ciphertext = sse.bucketKey ? sse.bucketKey.kmsCiphertext : sse.kmsCiphertext!;
    const ek = await st.kesAdmin.decryptKey(sse.kmsKey!, Buffer.from(ciphertext, 'base64'), ctx);
    const oek = unsealObjectKey({
      ek,
      domain: sse.sse,
      path: `${B}/${key}`,
      iv: Buffer.from(sse.iv, 'base64'),
      sealedKey: Buffer.from(sse.sealedKey, 'base64'),
    });
    secrets.push(
      [`data key of ${key}`, ek],
      [`data key of ${key} base64`, Buffer.from(ek.toString('base64'))],
      [`object key of ${key}`, oek],
    );
  }

  const scanned = [...files(st.dataDir), ...files(join(st.dir, 'kes')), logPath];
  assert.ok(
    scanned.some((f) => f.endsWith('meta.db')),
    'the metadata store is scanned',
  );
  assert.ok(scanned.filter((f) => f.includes(`${join('data', '')}`)).length >= 4, 'the data files are scanned');
  for (const f of scanned) {
    const bytes = readFileSync(f);
    for (let i = 0; i < plain.length - 64; i += 997) {
      assert.equal(bytes.indexOf(plain.subarray(i, i + 64)), -1, `plaintext found in ${f}`);
    }
    for (const [what, secret] of secrets) assert.equal(bytes.indexOf(secret), -1, `${what} found in ${f}`);
  }
  assert.ok(readFileSync(logPath, 'utf8').includes('PutObject'), 'the log was written');
});
