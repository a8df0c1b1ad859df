// The admin API over real HTTP with SigV4: who may call it, what status, object-status and object-raw
// report, and the JSON errors for bad input.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { AdminClient, AdminRequestError } from '../../src/admin/client.js';
import { startGatewayWithAdmin, type AdminGateway } from '../../src/admin/admin.js';
import { signRequest } from '../../src/admin/sign.js';
import { uploadInParts } from '../helpers/s3.js';
import { parseConfig } from '../../src/config/load.js';
import type { RotationJob } from '../../src/rotation/index.js';
import {
  ACCESS_KEY,
  REGION,
  SECRET_KEY,
  content,
  customerKey,
  dataFile,
  gatewayConfig,
  gatewayFiles,
  startKes,
  startTestGateway,
  type TestGateway,
  type TestKes,
} from './helpers.js';
import { freePort } from '../../../../scripts/lib/free-port.js';

async function rejectsWith(p: Promise<unknown>, status: number, code: string | RegExp, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AdminRequestError, String(err));
    assert.equal(err.status, status, err.message);
    if (typeof code === 'string') assert.equal(err.code, code);
    else assert.match(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** A port nothing listens on: bound, then released. */

describe('admin API', () => {
  let kes: TestKes;
  let t: TestGateway;
  let gate: Promise<void> | undefined;

  before(async () => {
    kes = await startKes(['kesgate-default', 'key-a', 'key-b']);
    t = await startTestGateway(kes, { rotation: { beforeObject: () => gate } });
    await t.s3.send(new CreateBucketCommand({ Bucket: 'adm' }));
  });
  after(async () => {
    await t?.close();
    await kes?.close();
  });

  test('needs a SigV4 signature with the root credentials', async () => {
    const unsigned = await fetch(`${t.gw.url}/kesgate/admin/v1/status`);
    assert.equal(unsigned.status, 403);
    assert.match(await unsigned.text(), /<Code>AccessDenied<\/Code>/);

    const user = new AdminClient({
      endpoint: t.gw.url,
      accessKey: 'kesgate-test-user',
      secretKey: 'kesgate-test-user-secret',
      region: REGION,
    });
    await rejectsWith(user.status(), 403, 'AccessDenied', /root credentials/);
    await rejectsWith(user.startRotation({ bucket: 'adm' }), 403, 'AccessDenied');

    const wrongSecret = new AdminClient({ endpoint: t.gw.url, accessKey: ACCESS_KEY, secretKey: 'not-the-secret-at-all', region: REGION });
    await rejectsWith(wrongSecret.status(), 403, 'SignatureDoesNotMatch');

    // A body that is not the one signed is refused before it is used.
    const url = new URL(`${t.gw.url}/kesgate/admin/v1/rotate`);
    const headers = signRequest(
      { method: 'POST', url, body: '{"bucket":"adm"}' },
      { accessKey: ACCESS_KEY, secretKey: SECRET_KEY, region: REGION },
    );
    const tampered = await fetch(url, { method: 'POST', headers: { ...headers, host: url.host }, body: '{"bucket":"adm","dryRun":true}' });
    assert.equal(tampered.status, 400);
    assert.equal(((await tampered.json()) as { error: string }).error, 'XAmzContentSHA256Mismatch');
    assert.deepEqual(await t.admin.rotations(), [], 'no job was started');
  });

  test('status: backend totals, each kes endpoint (online, sealed, offline) and the default key', async () => {
    await t.s3.send(new PutObjectCommand({ Bucket: 'adm', Key: 'status/one', Body: content('st', 1234) }));
    const s = await t.admin.status();
    assert.equal(s.backend.type, 'fs');
    assert.equal(s.backend.path, t.files.dataDir);
    const stats = await t.gw.svc.store.stats();
    assert.deepEqual(s.backend.stats, stats);
    assert.ok(stats.objects >= 1 && stats.buckets >= 1);
    assert.equal(s.kes.endpoints.length, 1);
    const [e] = s.kes.endpoints;
    assert.equal(e!.endpoint, kes.url);
    assert.deepEqual([e!.online, e!.sealed], [true, false]);
    assert.equal(typeof e!.latencyMs, 'number');
    assert.deepEqual(s.kes.defaultKey, { name: 'kesgate-default', state: 'active', latestVersion: 'v1', minDecryptionVersion: 'v1' });
    assert.equal(s.rotation.running, 0);

    // A second gateway on the same kes plus an endpoint where nothing listens; kes sealed.
    const files = gatewayFiles();
    const config = gatewayConfig(kes, files);
    const dead = `https://127.0.0.1:${await freePort()}`;
    const twoEndpoints = parseConfig({ ...config, kms: { ...config.kms, endpoints: [kes.url, dead] } });
    let gw2: AdminGateway | undefined;
    await kes.admin.seal();
    try {
      gw2 = await startGatewayWithAdmin(twoEndpoints, { logger: pino({ level: 'silent' }) });
      const s2 = await new AdminClient({ endpoint: gw2.url, accessKey: ACCESS_KEY, secretKey: SECRET_KEY, region: REGION }).status();
      const [live, gone] = s2.kes.endpoints;
      assert.deepEqual([live!.online, live!.sealed, live!.unseal], [true, true, { threshold: 1, shares: 1, progress: 0 }]);
      assert.equal(gone!.endpoint, dead);
      assert.equal(gone!.online, false);
      assert.match(gone!.error!, /ECONNREFUSED|unavailable/);
      assert.match(s2.kes.defaultKey.error!, /no kes endpoint is online and unsealed/);
    } finally {
      await kes.admin.unseal(kes.shares[0]!);
      await gw2?.close();
    }
  });

  test('object-status shows the stored SSE fields and parts; object-raw returns exactly the stored bytes', async () => {
    const body = content('raw', 150_000);
    await t.s3.send(
      new PutObjectCommand({
        Bucket: 'adm',
        Key: 'dir/ké y+1',
        Body: body,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'key-a',
        SSEKMSEncryptionContext: Buffer.from('{"app":"test"}').toString('base64'),
      }),
    );
    const st = await t.admin.objectStatus('adm', 'dir/ké y+1');
    assert.deepEqual(
      Object.keys(st.sse).sort(),
      ['iv', 'kmsCiphertext', 'kmsContext', 'kmsKey', 'kmsKeyVersion', 'sealAlgorithm', 'sealedKey', 'sse'].sort(),
    );
    assert.equal(st.sse.sse, 'SSE-KMS');
    assert.equal(st.sse.kmsKey, 'key-a');
    assert.equal(st.sse.kmsKeyVersion, 'v1');
    assert.equal(st.size, body.length);
    assert.equal(st.parts.length, 1);
    const part = st.parts[0]!;
    assert.equal(part.plainSize, body.length);
    const onDisk = dataFile(t.files.dataDir, part.dataId);
    assert.equal(part.encSize, onDisk.length);
    assert.ok(part.encSize > body.length, 'the stored size includes the package overhead');
    const raw = await t.admin.objectRaw('adm', 'dir/ké y+1');
    assert.ok(raw.equals(onDisk), 'object-raw is the data file byte for byte');
    assert.equal(raw.indexOf(body.subarray(0, 32)), -1, 'and it is ciphertext');

    // SSE-C: the key's MD5 is stored, the key itself never.
    const ssec = customerKey('admin ssec');
    await t.s3.send(
      new PutObjectCommand({
        Bucket: 'adm',
        Key: 'ssec',
        Body: content('sc', 10),
        SSECustomerAlgorithm: 'AES256',
        SSECustomerKey: ssec.key.toString('base64'),
        SSECustomerKeyMD5: ssec.md5,
      }),
    );
    const sc = await t.admin.objectStatus('adm', 'ssec');
    assert.equal(sc.sse.sse, 'SSE-C');
    assert.equal(sc.sse.sseCKeyMD5, ssec.md5);
    assert.equal(sc.sse.kmsKey, undefined);
    const text = JSON.stringify(sc);
    assert.ok(!text.includes(ssec.key.toString('base64')) && !text.includes(ssec.key.toString('hex')), 'no customer key in the output');

    // Multipart: one data file per part, chosen with part=N.
    const parts = [content('p1', 5 * 1024 * 1024), content('p2', 777)];
    await uploadInParts(t.s3, { Bucket: 'adm', Key: 'mp' }, parts);
    const mp = await t.admin.objectStatus('adm', 'mp');
    assert.equal(mp.sse.multipart, true);
    assert.deepEqual(
      mp.parts.map((p) => [p.number, p.plainSize]),
      [
        [1, parts[0]!.length],
        [2, parts[1]!.length],
      ],
    );
    assert.ok((await t.admin.objectRaw('adm', 'mp', 2)).equals(dataFile(t.files.dataDir, mp.parts[1]!.dataId)));
    await rejectsWith(t.admin.objectRaw('adm', 'mp'), 400, 'InvalidRequest', /2 parts \(1, 2\): name one with part=N/);
    await rejectsWith(t.admin.objectRaw('adm', 'mp', 3), 404, 'NoSuchPart');
  });

  test('bad or missing parameters: 400 with a message; unknown bucket, key, job or route: 404', async () => {
    const c = t.admin;
    await rejectsWith(c.json('GET', '/object-status', undefined, { bucket: 'adm' }), 400, 'InvalidRequest', /"key" is required/);
    await rejectsWith(c.json('GET', '/object-status', undefined, { key: 'x' }), 400, 'InvalidRequest', /"bucket" is required/);
    await rejectsWith(
      c.json('GET', '/object-raw', undefined, { bucket: 'adm', key: 'ssec', part: 'abc' }),
      400,
      'InvalidRequest',
      /part must be a part number/,
    );
    await rejectsWith(c.json('GET', '/object-raw', undefined, { bucket: 'adm', key: 'ssec', part: '0' }), 400, 'InvalidRequest');
    await rejectsWith(c.objectStatus('adm', 'no/such/key'), 404, 'NoSuchKey');
    await rejectsWith(c.objectStatus('no-such-bucket', 'k'), 404, 'NoSuchBucket');
    await rejectsWith(c.objectRaw('no-such-bucket', 'k'), 404, 'NoSuchBucket');

    const raw = await c.send('POST', '/rotate', undefined);
    assert.equal(raw.status, 400);
    assert.match(JSON.parse(raw.body.toString()).message, /needs a JSON body/);
    await rejectsWith(c.json('POST', '/rotate', 'not an object'), 400, 'InvalidRequest', /Invalid rotation request/);
    await rejectsWith(c.json('POST', '/rotate', {}), 400, 'InvalidRequest', /bucket/);
    await rejectsWith(c.json('POST', '/rotate', { bucket: 'adm', toKey: '' }), 400, 'InvalidRequest', /toKey: must not be empty/);
    await rejectsWith(c.json('POST', '/rotate', { bucket: 'adm', dryRun: 'yes' }), 400, 'InvalidRequest', /dryRun/);
    await rejectsWith(c.json('POST', '/rotate', { bucket: 'adm', colour: 'blue' }), 400, 'InvalidRequest', /colour/);
    await rejectsWith(c.startRotation({ bucket: 'no-such-bucket' }), 404, 'NoSuchBucket');
    await rejectsWith(c.startRotation({ bucket: 'adm', toKey: 'no-such-key' }), 400, 'KMS.NotFoundException', /no-such-key/);
    await rejectsWith(c.rotation('0b1d2f'), 404, 'UnknownJob');
    await rejectsWith(c.json('GET', '/rotate', undefined, { limit: 'lots' }), 400, 'InvalidRequest');
    await rejectsWith(c.json('GET', '/nothing-here'), 404, 'NoSuchAdminRoute');
    assert.deepEqual(await c.rotations(), [], 'no refused request started a job');
  });

  test('jobs: a second job on overlapping keys is refused while one runs; list, get and cancel', async () => {
    let release!: () => void;
    gate = new Promise<void>((resolve) => (release = resolve));
    let running: RotationJob;
    try {
      running = await t.admin.startRotation({ bucket: 'adm', prefix: 'dir/', toKey: 'kesgate-default' });
      await rejectsWith(
        t.admin.startRotation({ bucket: 'adm' }),
        409,
        'RotationConflict',
        new RegExp(`${running.id} is already running on bucket "adm" with prefix "dir/"`),
      );
      const listed = await t.admin.rotations();
      assert.deepEqual(
        listed.map((j) => [j.id, j.state]),
        [[running.id, 'running']],
      );
      assert.equal((await t.admin.status()).rotation.running, 1);
      // A job on keys that do not overlap may run alongside.
      const other = await t.admin.startRotation({ bucket: 'adm', prefix: 'status/', dryRun: true });
      assert.equal(other.state, 'running');
    } finally {
      release();
      gate = undefined;
    }
    const done = await t.gw.admin.rotation.wait(running.id);
    assert.equal(done.state, 'done');
    assert.equal(done.counters.rotated, 1, 'dir/ké y+1 moved from key-a to the default key');
    const got = await t.admin.rotation(running.id);
    assert.deepEqual(got, done);
    await rejectsWith(t.admin.cancelRotation(running.id), 409, 'RotationConflict', /not running \(it is done\)/);
    const all = await t.admin.rotations();
    assert.equal(all.length, 2);
    assert.ok(all.every((j) => j.state === 'done' || j.state === 'running'));
  });
  test('key dependents: objects and uploads per bucket under a master key, matching what rotation then moves', async () => {
    await t.s3.send(new CreateBucketCommand({ Bucket: 'deps' }));
    for (const k of ['one', 'two']) {
      await t.s3.send(
        new PutObjectCommand({ Bucket: 'deps', Key: k, Body: content(k, 100), ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' }),
      );
    }
    await t.s3.send(new PutObjectCommand({ Bucket: 'deps', Key: 'default', Body: content('d', 100) }));
    await t.s3.send(new CreateMultipartUploadCommand({ Bucket: 'deps', Key: 'mp', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'key-a' }));

    const before = await t.admin.keyDependents('key-a');
    assert.deepEqual(
      before.buckets.find((b) => b.bucket === 'deps'),
      { bucket: 'deps', objects: 2, versions: 2, uploads: 1 },
    );
    const total = (f: 'objects' | 'versions' | 'uploads') => before.buckets.reduce((n, b) => n + b[f], 0);
    assert.deepEqual(
      [before.key, before.objects, before.versions, before.uploads],
      ['key-a', total('objects'), total('versions'), total('uploads')],
    );
    assert.deepEqual(
      (await t.admin.keyDependents('key-b')).buckets.filter((b) => b.bucket === 'deps'),
      [],
    );

    const job = await t.admin.startRotation({ bucket: 'deps', fromKey: 'key-a', toKey: 'key-b' });
    const done = await t.gw.admin.rotation.wait(job.id);
    assert.equal(done.counters.rotated, 3, 'the two objects and the upload the count named');
    assert.equal(
      (await t.admin.keyDependents('key-a')).buckets.find((b) => b.bucket === 'deps'),
      undefined,
    );
    assert.deepEqual(
      (await t.admin.keyDependents('key-b')).buckets.find((b) => b.bucket === 'deps'),
      { bucket: 'deps', objects: 2, versions: 2, uploads: 1 },
    );

    await rejectsWith(t.admin.keyDependents('-bad-'), 400, 'InvalidRequest', /not a kes key name/);
    await rejectsWith(t.admin.keyDependents('x'.repeat(81)), 400, 'InvalidRequest', /not a kes key name/);
  });
});
