// The console's server side through real HTTP(S) requests as its page sends them: cookie flags, CSRF
// refusals that change nothing, the CSP, session expiry and sign-out, the audit trail, read-only mode without
// a console identity, and that the console identity at kes can do no more than its policy allows.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetBucketEncryptionCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { KesError } from '@kesgate/kes-client';
import { CONSOLE_CSP } from '../../src/console/index.js';
import { tempDir } from '../admin/helpers.js';
import { ACCESS_KEY, DEFAULT_KEY, request, SECRET_KEY, signIn, startConsoleStack, type ConsoleStack } from './helpers.js';

async function kesStatusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof KesError) return err.status;
    throw err;
  }
}

describe('console: sign-in, sessions, CSRF, CSP, audit', () => {
  let s: ConsoleStack;
  const logLines: Record<string, unknown>[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    s = await startConsoleStack({ logger: pino({ level: 'info' }, sink) });
  });
  after(() => s.close());

  it('serves the console with a strict CSP and the protective headers', async () => {
    const page = await request(`${s.url}/console/`);
    assert.equal(page.status, 200);
    assert.match(page.text, /kesgate console/);
    assert.equal(page.headers['content-security-policy'], CONSOLE_CSP);
    assert.match(CONSOLE_CSP, /script-src 'self'(;|$)/);
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval/);
    assert.match(CONSOLE_CSP, /frame-ancestors 'none'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const api = await request(`${s.url}/console/api/session`);
    assert.equal(api.headers['content-security-policy'], CONSOLE_CSP);
    assert.equal(api.headers['cache-control'], 'no-store');
    const bare = await request(`${s.url}/console`);
    assert.equal(bare.status, 302);
    assert.equal(bare.headers.location, '/console/');
  });

  it('sets the session cookie HttpOnly and SameSite=Strict, and Secure on the HTTPS listener', async () => {
    const plain = await signIn(s.url);
    const flags = (plain.answer.headers['set-cookie']?.[0] ?? '').split(';').map((f) => f.trim().toLowerCase());
    assert.ok(flags.includes('httponly'), flags.join('; '));
    assert.ok(flags.includes('samesite=strict'), flags.join('; '));
    assert.ok(flags.includes('path=/console'), flags.join('; '));
    assert.ok(!flags.includes('secure'), 'no Secure flag on plain HTTP, or the browser would never send it back');
    assert.equal(plain.answer.json.user, ACCESS_KEY);
    assert.doesNotMatch(plain.answer.text, new RegExp(SECRET_KEY));

    const tls = await signIn(s.httpsUrl, { ca: s.caPem });
    const tlsFlags = (tls.answer.headers['set-cookie']?.[0] ?? '').split(';').map((f) => f.trim().toLowerCase());
    assert.ok(tlsFlags.includes('secure'), tlsFlags.join('; '));
    assert.ok(tlsFlags.includes('httponly') && tlsFlags.includes('samesite=strict'), tlsFlags.join('; '));
    const me = await request(`${s.httpsUrl}/console/api/session`, { cookie: tls.cookie, ca: s.caPem });
    assert.equal(me.status, 200);
    assert.equal(me.json.csrf, tls.csrf);
  });

  it('refuses wrong credentials with 403 and no cookie', async () => {
    const r = await request(`${s.url}/console/api/session`, {
      method: 'POST',
      body: { accessKey: ACCESS_KEY, secretKey: 'not-the-secret-key' },
    });
    assert.equal(r.status, 403);
    assert.equal(r.json.error, 'InvalidCredentials');
    assert.equal(r.headers['set-cookie'], undefined);
    // A cross-site form post (not JSON) is refused before the credentials are even looked at.
    const form = await request(`${s.url}/console/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: { accessKey: ACCESS_KEY, secretKey: SECRET_KEY },
    });
    assert.equal(form.status, 415);
    assert.equal(form.headers['set-cookie'], undefined);
    const none = await request(`${s.url}/console/api/keys`);
    assert.equal(none.status, 401);
    assert.equal(none.json.error, 'NotSignedIn');
  });

  it('refuses every state change without the CSRF token, and nothing changes', async () => {
    const { cookie, csrf } = await signIn(s.url);
    // A key create without a token, and with another session's token.
    const other = await signIn(s.url);
    for (const token of [undefined, other.csrf, `${csrf}x`]) {
      const r = await request(`${s.url}/console/api/keys`, {
        method: 'POST',
        body: { name: 'csrf-victim' },
        cookie,
        ...(token ? { csrf: token } : {}),
      });
      assert.equal(r.status, 403);
      assert.equal(r.json.error, 'InvalidCsrfToken');
      assert.match(String(r.json.message), /x-csrf-token/);
    }
    assert.equal(await kesStatusOf(s.kesAdmin.describeKey('csrf-victim')), 404, 'the key was not created');

    // Seal kes without a token: kes stays unsealed.
    const seal = await request(`${s.url}/console/api/seal`, { method: 'POST', cookie });
    assert.equal(seal.status, 403);
    assert.equal(seal.json.error, 'InvalidCsrfToken');
    assert.equal((await s.kesAdmin.sealStatus()).sealed, false);

    // A bucket's default encryption, without a token: unchanged.
    await s.s3.send(new CreateBucketCommand({ Bucket: 'csrf-bucket' }));
    await s.s3.send(
      new PutBucketEncryptionCommand({
        Bucket: 'csrf-bucket',
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      }),
    );
    const enc = await request(`${s.url}/console/api/buckets/csrf-bucket/encryption`, {
      method: 'PUT',
      body: { sse: 'aws:kms', kmsKeyId: DEFAULT_KEY },
      cookie,
    });
    assert.equal(enc.status, 403);
    assert.equal(enc.json.error, 'InvalidCsrfToken');
    const after = await s.s3.send(new GetBucketEncryptionCommand({ Bucket: 'csrf-bucket' }));
    assert.equal(after.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256');

    // With the token the same request works.
    const ok = await request(`${s.url}/console/api/keys`, { method: 'POST', body: { name: 'csrf-victim' }, cookie, csrf });
    assert.equal(ok.status, 201, ok.text);
    assert.equal((await s.kesAdmin.describeKey('csrf-victim')).name, 'csrf-victim');
  });

  it("shows objects and bytes by SSE mode on the overview, and each bucket's versioning state", async () => {
    const { cookie } = await signIn(s.url);
    type ModeRow = { sse: string; objects: number; bytes: number; storedBytes: number };
    const modes = async (): Promise<Record<string, [number, number]>> => {
      const r = await request(`${s.url}/console/api/overview`, { cookie });
      assert.equal(r.status, 200, r.text);
      const backend = r.json.backend as { sseTotals: ModeRow[]; stats: { objects: number } };
      assert.equal(
        backend.sseTotals.reduce((n, t) => n + t.objects, 0),
        backend.stats.objects,
        'the modes add up to the object total',
      );
      for (const t of backend.sseTotals) assert.ok(t.storedBytes >= t.bytes, `${t.sse}: stored bytes include the encryption overhead`);
      return Object.fromEntries(backend.sseTotals.map((t) => [t.sse, [t.objects, t.bytes]]));
    };
    const before = await modes();
    const grown = (after: Record<string, [number, number]>): Record<string, [number, number]> =>
      Object.fromEntries(
        Object.entries(after)
          .map(([m, [o, b]]): [string, [number, number]] => [m, [o - (before[m]?.[0] ?? 0), b - (before[m]?.[1] ?? 0)]])
          .filter(([, [o, b]]) => o !== 0 || b !== 0),
      );
    // One object per mode (SSE-C over HTTPS), then a second version of the SSE-S3 one.
    const tls = new S3Client({
      endpoint: s.httpsUrl,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      requestHandler: { httpsAgent: new https.Agent({ ca: s.caPem }) },
    });
    try {
      await s.s3.send(new CreateBucketCommand({ Bucket: 'by-mode' }));
      await s.s3.send(new PutBucketVersioningCommand({ Bucket: 'by-mode', VersioningConfiguration: { Status: 'Enabled' } }));
      await s.s3.send(new PutObjectCommand({ Bucket: 'by-mode', Key: 's3', Body: 'x'.repeat(10), ServerSideEncryption: 'AES256' }));
      await s.s3.send(new PutObjectCommand({ Bucket: 'by-mode', Key: 's3', Body: 'y'.repeat(11), ServerSideEncryption: 'AES256' }));
      await s.s3.send(
        new PutObjectCommand({
          Bucket: 'by-mode',
          Key: 'kms',
          Body: 'z'.repeat(20),
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: DEFAULT_KEY,
        }),
      );
      const key = randomBytes(32);
      await tls.send(
        new PutObjectCommand({
          Bucket: 'by-mode',
          Key: 'c',
          Body: 'c'.repeat(30),
          SSECustomerAlgorithm: 'AES256',
          SSECustomerKey: key.toString('base64'),
          SSECustomerKeyMD5: createHash('md5').update(key).digest('base64'),
        }),
      );
    } finally {
      tls.destroy();
    }
    assert.deepEqual(grown(await modes()), { 'SSE-C': [1, 30], 'SSE-KMS': [1, 20], 'SSE-S3': [2, 21] });

    // Versioning per bucket: never versioned, enabled, suspended.
    await s.s3.send(new CreateBucketCommand({ Bucket: 'by-mode-suspended' }));
    await s.s3.send(new PutBucketVersioningCommand({ Bucket: 'by-mode-suspended', VersioningConfiguration: { Status: 'Enabled' } }));
    await s.s3.send(new PutBucketVersioningCommand({ Bucket: 'by-mode-suspended', VersioningConfiguration: { Status: 'Suspended' } }));
    await s.s3.send(new CreateBucketCommand({ Bucket: 'by-mode-never' }));
    const list = await request(`${s.url}/console/api/buckets`, { cookie });
    assert.equal(list.status, 200, list.text);
    const rows = list.json.buckets as { name: string; versioning: string; objects: number; encryption: Record<string, unknown> | null }[];
    const row = (name: string) => rows.find((b) => b.name === name)!;
    assert.equal(row('by-mode').versioning, 'Enabled');
    assert.equal(row('by-mode').objects, 3, 'the listing counts current objects');
    assert.equal(row('by-mode-suspended').versioning, 'Suspended');
    assert.equal(row('by-mode-never').versioning, 'Unversioned');
  });

  it('deletes a key only when its name is typed out', async () => {
    const { cookie, csrf } = await signIn(s.url);
    await s.kesAdmin.createKey('typed-name');
    const wrong = await request(`${s.url}/console/api/keys/typed-name`, { method: 'DELETE', body: { confirm: 'typed-nam' }, cookie, csrf });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error, 'ConfirmationMismatch');
    assert.equal((await s.kesAdmin.describeKey('typed-name')).name, 'typed-name', 'still there');
    const ok = await request(`${s.url}/console/api/keys/typed-name`, { method: 'DELETE', body: { confirm: 'typed-name' }, cookie, csrf });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(await kesStatusOf(s.kesAdmin.describeKey('typed-name')), 404);
  });

  it('signs out: the session is gone and the cookie cleared', async () => {
    const { cookie, csrf } = await signIn(s.url);
    assert.equal((await request(`${s.url}/console/api/session`, { cookie })).status, 200);
    const noToken = await request(`${s.url}/console/api/session`, { method: 'DELETE', cookie });
    assert.equal(noToken.status, 403, 'sign-out is a state change too');
    assert.equal((await request(`${s.url}/console/api/session`, { cookie })).status, 200, 'still signed in');
    const out = await request(`${s.url}/console/api/session`, { method: 'DELETE', cookie, csrf });
    assert.equal(out.status, 200);
    assert.match(out.headers['set-cookie']?.[0] ?? '', /^kesgate_console=;.*Expires=Thu, 01 Jan 1970/i);
    const after = await request(`${s.url}/console/api/session`, { cookie });
    assert.equal(after.status, 401);
    assert.equal(after.json.error, 'NotSignedIn');
  });

  it('logs every console action with its user and outcome, never a secret', async () => {
    const { cookie, csrf } = await signIn(s.url);
    await request(`${s.url}/console/api/keys`, { method: 'POST', body: { name: 'audited-key' }, cookie, csrf });
    await request(`${s.url}/console/api/unseal`, { method: 'POST', body: { share: 'not-a-real-share-0123456789' }, cookie });
    // kes is unsealed, so the console asks for its state and does not pass the share on; seal it to have kes see a wrong share.
    await s.kesAdmin.seal();
    const wrong = await request(`${s.url}/console/api/unseal`, {
      method: 'POST',
      body: { share: 'not-a-real-share-0123456789' },
      cookie,
      csrf,
    });
    assert.equal(wrong.status, 200);
    const ep = (wrong.json.endpoints as { error?: string; status?: { sealed: boolean } }[])[0]!;
    assert.ok(ep.error !== undefined || ep.status?.sealed === true, JSON.stringify(wrong.json));
    assert.doesNotMatch(wrong.text, /not-a-real-share/);
    assert.equal((await s.kesAdmin.sealStatus()).sealed, true);
    await s.kesAdmin.unseal(s.shares[0]!);
    await request(`${s.url}/console/api/session`, { method: 'POST', body: { accessKey: 'intruder', secretKey: 'guess-guess-guess' } });
    await new Promise((r) => setImmediate(r));
    const actions = logLines.filter((l) => l.msg === 'console action').map((l) => l.console as Record<string, unknown>);
    assert.ok(
      actions.some((a) => a.user === ACCESS_KEY && a.action === 'POST /keys' && a.status === 201),
      JSON.stringify(actions),
    );
    assert.ok(
      actions.some((a) => a.user === ACCESS_KEY && a.action === 'POST /unseal' && a.status === 403),
      JSON.stringify(actions),
    );
    assert.ok(
      actions.some((a) => a.user === ACCESS_KEY && a.action === 'POST /unseal' && a.status === 200),
      JSON.stringify(actions),
    );
    assert.ok(
      actions.some((a) => a.user === 'intruder' && a.action === 'POST /session' && a.status === 403),
      JSON.stringify(actions),
    );
    const all = JSON.stringify(logLines);
    assert.doesNotMatch(all, new RegExp(SECRET_KEY));
    assert.doesNotMatch(all, /guess-guess-guess|not-a-real-share/);
    assert.doesNotMatch(all, new RegExp(csrf));
  });

  it('leaves signed requests for a bucket named "console" to S3', async () => {
    await s.s3.send(new CreateBucketCommand({ Bucket: 'console' }));
    await s.s3.send(new PutObjectCommand({ Bucket: 'console', Key: 'api/session', Body: 'an object, not a session' }));
    const list = await s.s3.send(new ListObjectsV2Command({ Bucket: 'console' }));
    assert.deepEqual(
      list.Contents?.map((o) => o.Key),
      ['api/session'],
    );
  });
});

describe('console: session expiry and console users', () => {
  let s: ConsoleStack;
  before(async () => {
    s = await startConsoleStack({
      console: { sessionTtlSeconds: 1, users: [{ accessKey: 'operator', secretKey: 'operator-secret-123' }] },
    });
  });

  it('signs in a console user, who cannot sign S3 requests', async () => {
    const { answer } = await signIn(s.url, { accessKey: 'operator', secretKey: 'operator-secret-123' });
    assert.equal(answer.json.user, 'operator');
    const s3 = new S3Client({
      endpoint: s.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'operator', secretAccessKey: 'operator-secret-123' },
      maxAttempts: 1,
    });
    await assert.rejects(
      s3.send(new CreateBucketCommand({ Bucket: 'by-console-user' })),
      (e: { name: string; $metadata: { httpStatusCode?: number } }) => {
        assert.equal(e.$metadata.httpStatusCode, 403);
        assert.equal(e.name, 'InvalidAccessKeyId');
        return true;
      },
    );
    s3.destroy();
    assert.equal((await s.s3.send(new ListBucketsCommand({}))).Buckets?.length ?? 0, 0);
  });
  after(() => s.close());

  it("does not keep a session alive with the page's background refreshes", async () => {
    const { cookie } = await signIn(s.url);
    const bg = { cookie, headers: { 'x-console-background': '1' } };
    // A refresh every 0.4 s: with a 1 s session, one of the first few finds it ended.
    let last = await request(`${s.url}/console/api/overview`, bg);
    assert.equal(last.status, 200);
    for (let i = 0; i < 5 && last.status === 200; i++) {
      await new Promise((r) => setTimeout(r, 400));
      last = await request(`${s.url}/console/api/overview`, bg);
    }
    assert.equal(last.status, 401, 'the refreshes kept the session alive');
    assert.equal(last.json.error, 'NotSignedIn');
  });

  it('ends a session its time after the last request', async () => {
    const { cookie, csrf } = await signIn(s.url);
    assert.equal((await request(`${s.url}/console/api/session`, { cookie })).status, 200);
    await new Promise((r) => setTimeout(r, 1500));
    const r = await request(`${s.url}/console/api/keys`, { method: 'POST', body: { name: 'too-late' }, cookie, csrf });
    assert.equal(r.status, 401);
    assert.equal(r.json.error, 'NotSignedIn');
    assert.equal(await kesStatusOf(s.kesAdmin.describeKey('too-late')), 404);
  });
});

describe("console: the console's identity at kes", () => {
  let s: ConsoleStack;
  before(async () => {
    s = await startConsoleStack();
  });
  after(() => s.close());

  it('may do what the console does', async () => {
    await s.kesConsole.createKey('console-made');
    assert.ok((await s.kesConsole.allKeys()).includes('console-made'));
    await s.kesConsole.sealKey('console-made');
    await s.kesConsole.unsealKey('console-made');
    await s.kesConsole.rotateKey('console-made');
    assert.equal((await s.kesConsole.sealStatus()).sealed, false);
  });

  it('may not use keys, import them, change their config or read policies: 403 from kes', async () => {
    assert.equal(await kesStatusOf(s.kesConsole.generateKey(DEFAULT_KEY)), 403);
    const dek = await s.kesAdmin.generateKey(DEFAULT_KEY);
    assert.equal(await kesStatusOf(s.kesConsole.decryptKey(DEFAULT_KEY, dek.ciphertext)), 403);
    assert.equal(await kesStatusOf(s.kesConsole.encrypt(DEFAULT_KEY, Buffer.alloc(16))), 403);
    assert.equal(await kesStatusOf(s.kesConsole.importKey('imported', Buffer.alloc(32, 7))), 403);
    assert.equal(await kesStatusOf(s.kesConsole.configureKey(DEFAULT_KEY, { min_decryption_version: 1 })), 403);
    assert.equal(await kesStatusOf(s.kesConsole.json('GET', '/v1/policy/list/*')), 403);
    assert.equal(await kesStatusOf(s.kesConsole.json('GET', '/v1/metrics')), 403);
    // Nothing happened: no key imported.
    assert.equal(await kesStatusOf(s.kesAdmin.describeKey('imported')), 404);
  });
});

describe('console: without a console identity the kes pages are read-only', () => {
  let s: ConsoleStack;
  before(async () => {
    s = await startConsoleStack({ operator: false });
  });
  after(() => s.close());

  it('shows the default key and refuses key changes', async () => {
    const { cookie, csrf } = await signIn(s.url);
    const keys = await request(`${s.url}/console/api/keys`, { cookie });
    assert.equal(keys.status, 200);
    assert.equal(keys.json.writable, false);
    assert.deepEqual(
      (keys.json.keys as { name: string }[]).map((k) => k.name),
      [DEFAULT_KEY],
    );
    const create = await request(`${s.url}/console/api/keys`, { method: 'POST', body: { name: 'read-only-made' }, cookie, csrf });
    assert.equal(create.status, 403);
    assert.equal(create.json.error, 'ConsoleReadOnly');
    assert.match(String(create.json.message), /console\.kes/);
    assert.equal(await kesStatusOf(s.kesAdmin.describeKey('read-only-made')), 404);
    const seal = await request(`${s.url}/console/api/seal`, { method: 'POST', cookie, csrf });
    assert.equal(seal.status, 403);
    assert.equal(seal.json.error, 'ConsoleReadOnly');
    assert.equal((await s.kesAdmin.sealStatus()).sealed, false);
  });
});

describe('console: not built', () => {
  let s: ConsoleStack;
  before(async () => {
    const empty = join(tempDir('kesgate-console-empty-'), 'dist');
    mkdirSync(empty);
    s = await startConsoleStack({ consoleDir: empty });
  });
  after(() => s.close());

  it('says how to build it', async () => {
    const r = await request(`${s.url}/console/`);
    assert.equal(r.status, 503);
    assert.match(r.text, /npm run build/);
    // The API answers all the same.
    assert.equal((await signIn(s.url)).answer.status, 200);
  });
});
