// `kes key delete` (the kes CLI, as an operator runs it) against a real kes and a real gateway: it asks the
// gateway what depends on the key and refuses while objects do, naming the counts — found through
// $KESGATE_HOME's gateway.yaml and credentials, or KESGATE_ADDRESS and the root credentials; a gateway that
// cannot be asked is a refusal too; --force deletes anyway; with no gateway configured it deletes as KES does.
// The first case runs the real binary (bin/kes.js); the others run the same command in this process (runKes,
// what the binary runs), which proves the same about the gateway check at no process start each.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { kes as kesInProcess, kesBinary, type RunResult } from '../../../kes/test/cli/helpers.js';
import { freePort } from '../helpers/upstreams.js';
import { pki } from '../helpers/pki.js';
import {
  ACCESS_KEY,
  content,
  getBytes,
  SECRET_KEY,
  startKes,
  startTestGateway,
  tempDir,
  type TestGateway,
  type TestKes,
} from '../admin/helpers.js';
import { s3Error } from '../helpers/s3.js';

describe('kes key delete asks the gateway first', () => {
  let kes: TestKes;
  let t: TestGateway;
  let kesEnv: Record<string, string>;

  /**
   * `kes args...` with the admin's KES_* variables, nothing inherited of KES_ or KESGATE_ variables, in an empty
   * directory: in this process, or as a child process of the real binary with `binary`.
   */
  function kesCli(args: string[], extra: Record<string, string> = {}, binary = false): Promise<RunResult> {
    return (binary ? kesBinary : kesInProcess)(args, { env: { ...kesEnv, ...extra }, cwd: tempDir('kes-delete-cwd-') });
  }

  /** A state directory as `npm start` writes it, for the gateway part: gateway.yaml and credentials. */
  function gatewayHome(): string {
    const home = tempDir('kes-delete-home-');
    writeFileSync(
      join(home, 'gateway.yaml'),
      `# as npm start writes it\naddress: 127.0.0.1:${t.gw.httpPort}\nregion: us-east-1\ncredentials:\n  accessKey: \${KESGATE_ROOT_USER}\n  secretKey: \${KESGATE_ROOT_PASSWORD}\n`,
    );
    writeFileSync(join(home, 'credentials'), `KESGATE_ROOT_USER=${ACCESS_KEY}\nKESGATE_ROOT_PASSWORD=${SECRET_KEY}\n`, { mode: 0o600 });
    return home;
  }

  before(async () => {
    kes = await startKes(['kesgate-default', 'in-use', 'in-use-2', 'unused', 'unused-2']);
    t = await startTestGateway(kes);
    const p = pki();
    const dir = tempDir('kes-delete-certs-');
    writeFileSync(join(dir, 'admin.crt'), p.admin.cert);
    writeFileSync(join(dir, 'admin.key'), p.admin.key, { mode: 0o600 });
    writeFileSync(join(dir, 'ca.crt'), p.ca.cert);
    kesEnv = {
      KES_SERVER: kes.url,
      KES_CLIENT_CERT: join(dir, 'admin.crt'),
      KES_CLIENT_KEY: join(dir, 'admin.key'),
      KES_CA: join(dir, 'ca.crt'),
    };
    for (const bucket of ['deps-a', 'deps-b']) await t.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = (Bucket: string, Key: string, kmsKey: string) =>
      t.s3.send(new PutObjectCommand({ Bucket, Key, Body: content(Key, 100), ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKey }));
    await put('deps-a', 'one', 'in-use');
    await put('deps-a', 'two', 'in-use');
    await put('deps-b', 'three', 'in-use');
    await put('deps-b', 'forced', 'in-use-2');
  });
  after(async () => {
    await t?.close();
    await kes?.close();
  });

  test('objects depend on the key: refused with the counts per bucket (gateway from $KESGATE_HOME); the key and its objects remain', async () => {
    const r = await kesCli(['key', 'delete', 'in-use', '--yes'], { KESGATE_HOME: gatewayHome() }, true);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      /not deleted: 3 objects \(3 versions\) and 0 unfinished uploads in the gateway at http:\/\/127\.0\.0\.1:\d+ depend on key in-use/,
    );
    assert.match(r.stderr, /^ {2}deps-a: 2 objects \(2 versions\), 0 uploads$/m);
    assert.match(r.stderr, /^ {2}deps-b: 1 object \(1 version\), 0 uploads$/m);
    assert.match(r.stderr, /kesgate rotate --bucket B --from-key in-use/);
    assert.equal(r.stdout, '');
    assert.equal((await kes.admin.describeKey('in-use')).name, 'in-use', 'the key is still there');
    assert.ok((await getBytes(t.s3, 'deps-a', 'one')).equals(content('one', 100)));
  });

  test('the same through KESGATE_ADDRESS and KESGATE_ROOT_USER/PASSWORD, with `kes key rm`', async () => {
    const r = await kesCli(['key', 'rm', 'in-use', '--yes'], {
      KESGATE_ADDRESS: `127.0.0.1:${t.gw.httpPort}`,
      KESGATE_ROOT_USER: ACCESS_KEY,
      KESGATE_ROOT_PASSWORD: SECRET_KEY,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not deleted: 3 objects/);
    assert.equal((await kes.admin.describeKey('in-use')).name, 'in-use');
  });

  test('nothing depends on the key: deleted, saying the gateway was asked', async () => {
    const r = await kesCli(['key', 'delete', 'unused', '--yes'], { KESGATE_HOME: gatewayHome() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /the gateway at http:\/\/127\.0\.0\.1:\d+ has no object under key unused/);
    assert.match(r.stdout, /deleted key unused/);
    await assert.rejects(kes.admin.describeKey('unused'), { status: 404 });
  });

  test('a gateway that cannot be asked (not listening, wrong credentials): refused, nothing deleted', async () => {
    const down = await kesCli(['key', 'delete', 'in-use', '--yes'], {
      KESGATE_ADDRESS: `127.0.0.1:${await freePort()}`,
      KESGATE_ROOT_USER: ACCESS_KEY,
      KESGATE_ROOT_PASSWORD: SECRET_KEY,
    });
    assert.equal(down.code, 1);
    assert.match(
      down.stderr,
      /cannot ask the gateway at http:\/\/127\.0\.0\.1:\d+ what depends on key in-use: .*ECONNREFUSED.*; not deleted\. Pass --force/,
    );
    const denied = await kesCli(['key', 'delete', 'in-use', '--yes'], {
      KESGATE_ADDRESS: t.gw.url,
      KESGATE_ROOT_USER: ACCESS_KEY,
      KESGATE_ROOT_PASSWORD: 'not-the-secret-key',
    });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /it answered 403: The request signature we calculated does not match/);
    assert.equal(denied.stderr.includes('not-the-secret-key'), false, 'no secret in the message');
    assert.equal((await kes.admin.describeKey('in-use')).name, 'in-use');
  });

  test('--force deletes a key objects depend on: they are unreadable for good', async () => {
    const r = await kesCli(['key', 'delete', 'in-use-2', '--yes', '--force'], { KESGATE_HOME: gatewayHome() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /--force: not asking a gateway/);
    await assert.rejects(kes.admin.describeKey('in-use-2'), { status: 404 });
    const err = await s3Error(getBytes(t.s3, 'deps-b', 'forced'));
    assert.match(err.code, /KMS\.NotFoundException/);
  });

  test('no gateway configured: deleted as KES does, with a note that nothing was checked', async () => {
    const r = await kesCli(['key', 'delete', 'unused-2', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no kesgate gateway configured .*not checked for objects under key unused-2/);
    await assert.rejects(kes.admin.describeKey('unused-2'), { status: 404 });
  });
});
