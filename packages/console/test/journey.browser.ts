// The console in a real browser (Debian's Chromium, headless, driven by playwright-core) against a real
// gateway and kes: one operator's journey end to end, with the SDK as the application whose objects it
// guards. Run by `npm run test:console` (which builds the console first), not by `npm test`.
// Screenshots of every page go to a folder printed at the start (CONSOLE_SCREENSHOTS sets it).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  GetBucketEncryptionCommand,
  GetObjectCommand,
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { chromium, type Browser, type Page } from 'playwright-core';
import { KesError } from '@kesgate/kes-client';
import { ACCESS_KEY, SECRET_KEY, startConsoleStack, type ConsoleStack } from '../../gateway/test/console/helpers.js';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '../dist');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS =
  process.env.CONSOLE_SCREENSHOTS ?? join(tmpdir(), `kesgate-console-screenshots-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const BUCKET = 'journey';

async function read(s: ConsoleStack, key: string): Promise<string> {
  const r = await s.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return r.Body!.transformToString();
}

async function failure(p: Promise<unknown>): Promise<{ status: number; code: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException) return { status: err.$metadata.httpStatusCode ?? 0, code: err.name };
    throw err;
  }
  assert.fail('the request succeeded');
}

describe('the console in a browser: an operator journey', () => {
  let s: ConsoleStack;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  let shot = 0;
  const screenshot = async (name: string): Promise<void> => {
    shot++;
    await page.screenshot({ path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const go = async (link: string): Promise<void> => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: link, exact: true }).click();
    await page.getByRole('heading', { level: 2 }).first().waitFor();
  };
  const keyRow = (name: string) => page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^${name}`) }) });

  before(async () => {
    assert.ok(existsSync(join(DIST, 'index.html')), `the console is not built in ${DIST}: run npm run build`);
    mkdirSync(SHOTS, { recursive: true });
    console.log(`console screenshots: ${SHOTS}`);
    s = await startConsoleStack({ consoleDir: DIST, shares: 3, threshold: 2 });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // Any script error or CSP violation is a failure of the console.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/the server responded with a status of 4\d\d/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await s?.close();
  });

  it('signs in with the root credentials', async () => {
    await page.goto(`${s.url}/console/`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await screenshot('sign-in');
    await page.getByLabel('Access key').fill(ACCESS_KEY);
    await page.getByLabel('Secret key').fill('a wrong secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong' }).waitFor();
    await page.getByLabel('Secret key').fill(SECRET_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    for (const link of ['Overview', 'Keys', 'Buckets', 'Rotation', 'Audit'])
      await page.getByRole('link', { name: link, exact: true }).waitFor();
    await page.getByText('online, unsealed').waitFor();
    await screenshot('overview');
  });

  it('creates a key; the SDK writes under it; sealing the key in the console makes the GET fail with 403, unsealing makes it read', async () => {
    await go('Keys');
    await page.getByLabel('Key name').fill('tenant-a');
    await page.getByRole('button', { name: 'Create key' }).click();
    await keyRow('tenant-a').waitFor();
    assert.equal((await s.kesAdmin.describeKey('tenant-a')).name, 'tenant-a');

    await s.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (let i = 0; i < 40; i++) {
      await s.s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: `doc-${String(i).padStart(2, '0')}.txt`,
          Body: `hello ${i}`,
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: 'tenant-a',
        }),
      );
    }
    await page.reload();
    await keyRow('tenant-a').getByText('40 objects').waitFor();

    await keyRow('tenant-a').getByRole('button', { name: 'Seal', exact: true }).click();
    await keyRow('tenant-a').getByText('sealed', { exact: true }).waitFor();
    await screenshot('keys-tenant-a-sealed');
    assert.deepEqual(await failure(read(s, 'doc-00.txt')), { status: 403, code: 'KMS.DisabledException' });

    await keyRow('tenant-a').getByRole('button', { name: 'Unseal', exact: true }).click();
    await keyRow('tenant-a').getByText('active', { exact: true }).waitFor();
    assert.equal(await read(s, 'doc-00.txt'), 'hello 0');
  });

  it('shows what deleting a key would make unreadable, and deletes nothing on Cancel', async () => {
    await keyRow('tenant-a').getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('40 objects and 0 unfinished uploads become unreadable').waitFor();
    await dialog.getByText(`${BUCKET}: 40 objects`).waitFor();
    const del = dialog.getByRole('button', { name: 'Delete key' });
    assert.equal(await del.isDisabled(), true, 'disabled until the name is typed');
    await dialog.getByLabel('Type the key name to confirm').fill('tenant-');
    assert.equal(await del.isDisabled(), true);
    await screenshot('keys-delete-warning');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await s.kesAdmin.describeKey('tenant-a')).name, 'tenant-a');
  });

  it('rotates the bucket to another key in the console and the bar reaches 100%', async () => {
    await page.getByLabel('Key name').fill('tenant-b');
    await page.getByRole('button', { name: 'Create key' }).click();
    await keyRow('tenant-b').waitFor();

    await go('Rotation');
    await page.getByLabel('Bucket').selectOption(BUCKET);
    await page.getByLabel('From key').fill('tenant-a');
    await page.getByLabel('To key').fill('tenant-b');
    await page.getByRole('button', { name: 'Start rotation' }).click();
    const bar = page.getByRole('progressbar', { name: `Rotation of ${BUCKET} to tenant-b` }).first();
    await bar.waitFor();
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const v = await bar.getAttribute('aria-valuenow');
      if (v !== null) seen.add(v);
      if (v === '100') break;
      await page.waitForTimeout(50);
    }
    assert.ok(seen.has('100'), `the bar reached ${[...seen].join(', ')}`);
    await page.getByRole('row').filter({ hasText: 'done' }).first().waitFor();
    await page.getByText('40 of 40 scanned, 40 rotated').waitFor();
    await screenshot('rotation-done');
  });

  it('deletes the old key after its name is typed; the objects still read', async () => {
    await go('Keys');
    await keyRow('tenant-b').getByText('40 objects').waitFor();
    await keyRow('tenant-a').getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('No object or upload of this gateway depends on tenant-a').waitFor();
    await dialog.getByLabel('Type the key name to confirm').fill('tenant-a');
    await screenshot('keys-delete-confirm');
    await dialog.getByRole('button', { name: 'Delete key' }).click();
    await page.getByText('Key tenant-a deleted.').waitFor();
    assert.equal(await keyRow('tenant-a').count(), 0);
    await screenshot('keys-after-delete');
    try {
      await s.kesAdmin.describeKey('tenant-a');
      assert.fail('tenant-a still exists at kes');
    } catch (err) {
      assert.ok(err instanceof KesError && err.status === 404, String(err));
    }
    assert.equal(await read(s, 'doc-00.txt'), 'hello 0');
    assert.equal(await read(s, 'doc-39.txt'), 'hello 39');
  });

  it("changes a bucket's default encryption", async () => {
    await go('Buckets');
    await page.getByRole('row').filter({ hasText: BUCKET }).getByText('tenant-b (40)').waitFor();
    await page.getByRole('button', { name: `Change default encryption of ${BUCKET}` }).click();
    await page.getByRole('combobox', { name: /^Default encryption/ }).selectOption('aws:kms');
    await page.getByLabel('KMS key').fill('tenant-b');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('row').filter({ hasText: BUCKET }).getByText('SSE-KMS (tenant-b)').waitFor();
    await screenshot('buckets');
    const enc = await s.s3.send(new GetBucketEncryptionCommand({ Bucket: BUCKET }));
    assert.deepEqual(enc.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault, {
      SSEAlgorithm: 'aws:kms',
      KMSMasterKeyID: 'tenant-b',
    });
  });

  it("shows each bucket's versioning state, and objects and bytes by SSE mode on the overview", async () => {
    await page.getByRole('row').filter({ hasText: BUCKET }).getByRole('cell', { name: 'Unversioned', exact: true }).waitFor();
    await s.s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
    await s.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'plain.txt', Body: 'x'.repeat(2048), ServerSideEncryption: 'AES256' }));
    await page.reload();
    await page.getByRole('row').filter({ hasText: BUCKET }).getByRole('cell', { name: 'Enabled', exact: true }).waitFor();
    await screenshot('buckets-versioning');

    await go('Overview');
    const byMode = page.getByRole('table', { name: 'Objects by SSE mode' });
    const mode = (name: string) => byMode.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
    // The 40 documents, rotated from tenant-a to tenant-b, are still SSE-KMS; the new one is SSE-S3; none SSE-C.
    await mode('SSE-KMS').getByRole('cell', { name: '40', exact: true }).waitFor();
    await mode('SSE-S3').getByRole('cell', { name: '1', exact: true }).waitFor();
    assert.equal(await mode('SSE-S3').getByRole('cell').nth(1).textContent(), '2.0 KiB', 'its plaintext bytes');
    await mode('SSE-C').getByRole('cell', { name: '0', exact: true }).waitFor();
    await screenshot('overview-by-sse-mode');
  });

  it('seals kes with confirmation and unseals it share by share (2 of 3), with progress', async () => {
    await page.getByRole('link', { name: 'Seal', exact: true }).click();
    await page.getByRole('button', { name: 'Seal kes…' }).click();
    await page.getByRole('button', { name: 'Seal kes', exact: true }).click();
    await page.getByText('kes is sealed.').waitFor();
    assert.equal((await s.kesAdmin.sealStatus()).sealed, true);
    assert.equal((await failure(read(s, 'doc-01.txt'))).status, 503);
    const progress = page.getByRole('progressbar', { name: /Unseal progress/ });
    await progress.waitFor();
    assert.equal(await progress.getAttribute('aria-valuenow'), '0');
    await screenshot('seal-sealed');
    await page.getByLabel('Unseal share').fill(s.shares[2]!);
    await page.getByRole('button', { name: 'Submit share' }).click();
    await page.getByText('Share accepted. Enter the next share.').waitFor();
    await page.getByText('1 of 2 shares').waitFor();
    assert.equal(await progress.getAttribute('aria-valuenow'), '50');
    assert.equal((await s.kesAdmin.sealStatus()).sealed, true);
    await screenshot('seal-one-share');
    await page.getByLabel('Unseal share').fill(s.shares[0]!);
    await page.getByRole('button', { name: 'Submit share' }).click();
    await page.getByText('kes is unsealed.').waitFor();
    assert.equal(await read(s, 'doc-01.txt'), 'hello 1');
  });

  it('shows the kes audit log, filterable by identity, key and status', async () => {
    await go('Audit');
    await page.getByRole('cell', { name: 'tenant-b' }).first().waitFor();
    await page.getByLabel('Identity').fill('console');
    await page.getByLabel('Key').fill('tenant-a');
    await page.getByRole('cell', { name: /DELETE \/v1\/key\/delete\/tenant-a/ }).waitFor();
    await screenshot('audit');
    await page.getByLabel('Status').fill('5xx');
    await page.getByText('No entries match.').waitFor();
  });

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.getByText('You signed out.').waitFor();
    assert.deepEqual(problems, [], 'no script error or CSP violation in the page');
  });
});
