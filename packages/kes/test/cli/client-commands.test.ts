// The client commands against a real `kes server` process: init, status, seal/unseal with
// shares on stdin, every `kes key` subcommand with its --json output, the audit log stream,
// policy refusals, and a graceful stop on SIGTERM.
import assert from 'node:assert/strict';
import { createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { KesClient } from '@kesgate/kes-client';
import {
  clientFor,
  HAS_SCRIPT,
  kes,
  kesJson,
  makeInstallation,
  spawnKes,
  spawnKesInTerminal,
  startServer,
  stopAllChildren,
  stopChild,
  waitForOutput,
  type Installation,
  type ServerProcess,
} from './helpers.js';

interface SealStatus {
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
}
interface Description {
  name: string;
  algorithm: string;
  state: string;
  versions: string[];
  latest_version: string;
  min_decryption_version: string;
  created_by: string;
}
interface Dek {
  plaintext: string;
  ciphertext: string;
  version: string;
}

/** KES's AES256 ciphertext opened from the formula of docs/kes-api.md: ct‖tag‖iv16‖nonce12, subkey = HMAC-SHA256(key, iv). */
function openByHand(key: Buffer, ciphertext: Buffer, context = Buffer.alloc(0)): Buffer {
  const nonce = ciphertext.subarray(-12);
  const iv = ciphertext.subarray(-28, -12);
  const tag = ciphertext.subarray(-44, -28);
  const body = ciphertext.subarray(0, -44);
  const d = createDecipheriv('aes-256-gcm', createHmac('sha256', key).update(iv).digest(), nonce);
  d.setAAD(context);
  d.setAuthTag(tag);
  return Buffer.concat([d.update(body), d.final()]);
}

let inst: Installation;
let server: ServerProcess;
let admin: KesClient;
let shares: string[];
let as: { env: Record<string, string> };
const context = Buffer.from('bucket/object');
let firstDek: Dek;

before(async () => {
  inst = await makeInstallation();
  as = { env: inst.adminEnv };
  const init = await kesJson<{ shares: string[]; threshold: number }>([
    'init',
    '--config',
    inst.config,
    '--shares',
    '3',
    '--threshold',
    '2',
  ]);
  assert.equal(init.threshold, 2);
  shares = init.shares;
  server = await startServer(inst);
  admin = clientFor(inst);
});

after(async () => {
  admin?.close();
  await stopAllChildren();
});

describe('kes CLI against a running server', () => {
  test('init printed 3 distinct shares once; a second init is refused and changes nothing', async () => {
    assert.equal(shares.length, 3);
    assert.equal(new Set(shares).size, 3);
    for (const s of shares) assert.match(s, /^[0-9a-f]{66}$/);
    const again = await kes(['init', '--config', inst.config, '--shares', '3', '--threshold', '2']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already initialized.*Nothing was changed/);
    assert.equal(again.stdout, '');
    // (that the original shares still unseal is shown by the next tests)
  });

  test('status shows the server sealed with unseal progress 0 of 2, and exits 2 (as `vault status`)', async () => {
    const [jsonRun, human, other] = await Promise.all([kes(['status', '--json'], as), kes(['status'], as), kes(['--version'])]);
    assert.equal(jsonRun.code, 2, jsonRun.stderr);
    assert.equal(other.code, 0, 'the exit status of a run does not reach another run in the same process');
    const json = JSON.parse(jsonRun.stdout) as { seal: SealStatus; status: { sealed: boolean; version: string } };
    assert.deepEqual(json.seal, { initialized: true, sealed: true, t: 2, n: 3, progress: 0 });
    assert.equal(json.status.sealed, true);
    assert.equal(human.code, 2);
    assert.match(human.stdout, /state\s+sealed \(unseal progress 0 of 2; 3 shares exist\)/);
  });

  test('unseal: a malformed share fails, one share shows progress, --reset clears it, two shares from stdin unseal', async () => {
    const bad = await kes(['unseal', '--share', 'not-a-share'], as);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid unseal share: expected 66 hexadecimal characters/);

    const one = await kes(['unseal'], { ...as, input: `${shares[1]}\n` });
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /share accepted: 1 of 2/);
    assert.match(one.stdout, /still sealed: 1 of 2 shares submitted/);

    const reset = await kesJson<SealStatus>(['unseal', '--reset'], as);
    assert.equal(reset.progress, 0);
    assert.equal(reset.sealed, true);

    const two = await kesJson<SealStatus>(['unseal'], { ...as, input: `# shares of operators C and A\n${shares[2]}\n\n${shares[0]}\n` });
    assert.deepEqual(two, { initialized: true, sealed: false, t: 2, n: 3, progress: 0 });
    assert.equal(await admin.ready(), true);
  });

  test('key create, describe and ls (with a prefix pattern)', async () => {
    const created = await kesJson(['key', 'create', 'app-1'], as);
    assert.deepEqual(created, { names: ['app-1'] });
    await admin.createKey('app-2');
    await admin.createKey('other');
    const [d, listed, human] = await Promise.all([
      kesJson<Description>(['key', 'describe', 'app-1'], as),
      kesJson<{ names: string[] }>(['key', 'ls', 'app-*'], as),
      kes(['key', 'ls'], as),
    ]);
    assert.equal(d.name, 'app-1');
    assert.equal(d.algorithm, 'AES256');
    assert.equal(d.state, 'active');
    assert.deepEqual(d.versions, ['v1']);
    assert.equal(d.latest_version, 'v1');
    assert.equal(d.created_by, inst.adminIdentity);
    assert.deepEqual(listed.names, ['app-1', 'app-2']);
    assert.deepEqual(human.stdout.trim().split('\n'), ['app-1', 'app-2', 'other']);

    const dup = await kes(['key', 'create', 'app-1'], as);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /key already exists \(HTTP 400/);
  });

  test('key dek prints a data key whose ciphertext kes decrypts to the printed plaintext, bound to --context', async () => {
    firstDek = await kesJson<Dek>(['key', 'dek', 'app-1', '--context', context.toString('base64')], as);
    const plaintext = Buffer.from(firstDek.plaintext, 'base64');
    assert.equal(plaintext.length, 32);
    assert.equal(firstDek.version, 'v1');
    assert.deepEqual(await admin.decryptKey('app-1', Buffer.from(firstDek.ciphertext, 'base64'), context), plaintext);
    await assert.rejects(admin.decryptKey('app-1', Buffer.from(firstDek.ciphertext, 'base64')), {
      status: 400,
      message: 'decryption failed: ciphertext is not authentic',
    });
  });

  test('key import takes base64 on stdin or a raw --key-file, and refuses a key of the wrong size', async () => {
    const known = randomBytes(32);
    const raw = join(inst.dir, 'chacha.key');
    writeFileSync(raw, randomBytes(32));
    const short = join(inst.dir, 'short.key');
    writeFileSync(short, randomBytes(16).toString('base64'));
    const [fromStdin, fromFile, wrong] = await Promise.all([
      kesJson(['key', 'import', 'imported'], { ...as, input: `${known.toString('base64')}\n` }),
      kesJson(['key', 'import', 'chacha', '--key-file', raw, '--cipher', 'ChaCha20'], as),
      kes(['key', 'import', 'short', '--key-file', short], as),
    ]);
    assert.deepEqual(fromStdin, { name: 'imported', cipher: 'AES256' });
    assert.deepEqual(fromFile, { name: 'chacha', cipher: 'ChaCha20' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /holds 16 bytes; a master key is 32 bytes/);
    await assert.rejects(admin.describeKey('short'), { status: 404 });

    // The imported bytes are the master key: a data key from kes opens with them by hand.
    const dek = await kesJson<Dek>(['key', 'dek', 'imported'], as);
    assert.deepEqual(openByHand(known, Buffer.from(dek.ciphertext, 'base64')), Buffer.from(dek.plaintext, 'base64'));
    assert.equal((await admin.describeKey('chacha')).algorithm, 'ChaCha20');
  });

  test('key rotate and config --min-decryption-version: new data keys use v2, v1 is refused (and allowed again when lowered)', async () => {
    const rotated = await kesJson<Description>(['key', 'rotate', 'app-1'], as);
    assert.equal(rotated.latest_version, 'v2');
    assert.deepEqual(rotated.versions, ['v1', 'v2']);
    const dek2 = await kesJson<Dek>(['key', 'dek', 'app-1'], as);
    assert.equal(dek2.version, 'v2');

    const raised = await kesJson<Description>(['key', 'config', 'app-1', '--min-decryption-version', 'v2'], as);
    assert.equal(raised.min_decryption_version, 'v2');
    const old = Buffer.from(firstDek.ciphertext, 'base64');
    await assert.rejects(admin.decryptKey('app-1', old, context), { status: 400, message: 'key version is too old' });
    assert.deepEqual(await admin.decryptKey('app-1', Buffer.from(dek2.ciphertext, 'base64')), Buffer.from(dek2.plaintext, 'base64'));

    await admin.configureKey('app-1', { min_decryption_version: 1 });
    assert.deepEqual(await admin.decryptKey('app-1', old, context), Buffer.from(firstDek.plaintext, 'base64'));
  });

  test('key seal refuses data keys until key unseal; other keys keep working', async () => {
    assert.deepEqual(await kesJson(['key', 'seal', 'app-1'], as), { name: 'app-1', state: 'sealed' });
    const refused = await kes(['key', 'dek', 'app-1'], as);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /key is sealed \(HTTP 403/);
    assert.equal((await admin.describeKey('app-1')).state, 'sealed');
    assert.equal((await admin.generateKey('app-2')).plaintext.length, 32);

    assert.deepEqual(await kesJson(['key', 'unseal', 'app-1'], as), { name: 'app-1', state: 'active' });
    assert.deepEqual(
      await admin.decryptKey('app-1', Buffer.from(firstDek.ciphertext, 'base64'), context),
      Buffer.from(firstDek.plaintext, 'base64'),
    );
  });

  test('key rm erases the key (--yes; the human message says it is cryptographic erasure)', async () => {
    const [json, human] = await Promise.all([kesJson(['key', 'rm', 'app-2', '--yes'], as), kes(['key', 'rm', 'other', '--yes'], as)]);
    assert.deepEqual(json, { name: 'app-2', deleted: true });
    assert.equal(human.code, 0);
    assert.match(human.stdout, /deleted key other: .*cryptographic erasure/);
    await assert.rejects(admin.describeKey('app-2'), { status: 404, message: 'key does not exist' });
    await assert.rejects(admin.describeKey('other'), { status: 404 });
  });

  test('an identity outside the policy is refused with the reason, and exits 77 (auth)', async () => {
    const r = await kes(['key', 'create', 'nope'], { env: inst.gatewayEnv });
    assert.equal(r.code, 77);
    assert.match(r.stderr, /not authorized: insufficient permissions \(HTTP 403 from https:\/\/127\.0\.0\.1:\d+\)/);
    assert.match(r.stderr, /use the admin identity or extend its policy/);
    await assert.rejects(admin.describeKey('nope'), { status: 404 });
  });

  test('log --audit --json follows the audit stream as NDJSON and stops on SIGINT', async () => {
    const log = spawnKes(['log', '--audit', '--json'], as);
    log.stdin.end();
    let streamed = '';
    log.stdout.on('data', (c: Buffer) => (streamed += c.toString()));
    await waitForOutput(log, 'stderr', /following \/v1\/log\/audit/);
    const seen = waitForOutput(log, 'stdout', /^\{.*"\/v1\/key\/generate\/app-1".*\}\n/m); // a whole line
    const dek = await admin.generateKey('app-1');
    const event = JSON.parse((await seen).trim()) as Record<string, unknown>;
    assert.equal(event.identity, inst.adminIdentity);
    assert.equal(event.method, 'PUT');
    assert.equal(event.key, 'app-1');
    assert.equal(event.status, 200);
    assert.equal(event.version, 'v2');
    assert.ok(!streamed.includes(dek.plaintext.toString('base64')), 'no plaintext data key in the audit stream');
    assert.ok(!streamed.includes(dek.ciphertext.toString('base64')), 'no ciphertext in the audit stream');
    assert.equal(await stopChild(log, 'SIGINT'), 0);
  });

  test('seal → status sealed → unseal with 2 shares from stdin → a data key from before the seal decrypts', async () => {
    const sealed = await kesJson<SealStatus>(['seal'], as);
    assert.equal(sealed.sealed, true);
    const statusRun = await kes(['status', '--json'], as);
    assert.equal(statusRun.code, 2, 'sealed: exit 2');
    assert.equal((JSON.parse(statusRun.stdout) as { seal: SealStatus }).seal.sealed, true);
    await assert.rejects(admin.generateKey('app-1'), { status: 503, message: 'system is sealed' });

    const unseal = await kes(['unseal'], { ...as, input: `${shares[0]}\n${shares[1]}\n` });
    assert.equal(unseal.code, 0, unseal.stderr);
    assert.match(unseal.stdout, /share accepted: 1 of 2\nkes is unsealed\n$/);
    assert.deepEqual(
      await admin.decryptKey('app-1', Buffer.from(firstDek.ciphertext, 'base64'), context),
      Buffer.from(firstDek.plaintext, 'base64'),
    );
  });

  const noTerminal = !HAS_SCRIPT && 'needs script(1) from util-linux for a pseudo-terminal';

  test('on a terminal, unseal prompts for each share and does not echo it', { skip: noTerminal }, async () => {
    await admin.seal();
    const term = spawnKesInTerminal(['unseal'], as);
    let screen = '';
    term.stdout.on('data', (c: Buffer) => (screen += c.toString()));
    const exited = new Promise<number | null>((resolve) => term.once('exit', resolve));
    await waitForOutput(term, 'stdout', /Unseal share 1 of 2 \(empty line to stop\): /);
    term.stdin.write(`${shares[2]}\r`);
    await waitForOutput(term, 'stdout', /Unseal share 2 of 2/);
    term.stdin.write(`${shares[1]}\r`);
    assert.equal(await exited, 0, screen);
    assert.match(screen, /share accepted: 1 of 2/);
    assert.match(screen, /kes is unsealed/);
    for (const s of shares) assert.ok(!screen.includes(s.slice(0, 16)), 'a typed share never reaches the screen');
    assert.equal((await admin.sealStatus()).sealed, false);
  });

  test('on a terminal, key rm asks for the key name and keeps the key on a wrong answer', { skip: noTerminal }, async () => {
    const term = spawnKesInTerminal(['key', 'rm', 'chacha'], as);
    let screen = '';
    term.stdout.on('data', (c: Buffer) => (screen += c.toString()));
    const exited = new Promise<number | null>((resolve) => term.once('exit', resolve));
    await waitForOutput(term, 'stdout', /Type the key name to confirm: /);
    term.stdin.write('chacho\r');
    assert.equal(await exited, 1, screen);
    assert.match(screen, /cryptographic erasure/);
    assert.match(screen, /not deleted: the confirmation did not match 'chacha'/);
    assert.equal((await admin.describeKey('chacha')).name, 'chacha');
  });

  test('the server stops gracefully on SIGTERM', async () => {
    assert.equal(await stopChild(server.child, 'SIGTERM'), 0);
    assert.match(server.log(), /received SIGTERM: closing/);
    assert.match(server.log(), /kes stopped/);
  });
});
