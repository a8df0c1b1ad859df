// `kes backup` while the server runs, restored into a fresh server; `kes export` and
// `kes import-bundle` moving keys between two keystores with different root keys.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DataKey, KesClient } from '@kesgate/kes-client';
import { clientFor, kes, kesJson, makeInstallation, startServerInProcess, stopAllChildren, type Installation } from './helpers.js';

const context = Buffer.from('backup-test');
const passphrase = 'a long bundle passphrase';

let a: Installation;
let adminA: KesClient;
let shares: string[];
/** Data keys issued before the backup and the export: v1 and (after a rotation) v2. */
let dek1: DataKey;
let dek2: DataKey;
const clients: KesClient[] = [];

before(async () => {
  a = await makeInstallation();
  shares = (await kesJson<{ shares: string[] }>(['init', '--config', a.config, '--shares', '3', '--threshold', '2'])).shares;
  await startServerInProcess(a);
  adminA = clientFor(a);
  clients.push(adminA);
  await adminA.unseal(shares[0]!);
  await adminA.unseal(shares[1]!);
  await adminA.createKey('vault');
  dek1 = await adminA.generateKey('vault', context);
  await adminA.rotateKey('vault');
  dek2 = await adminA.generateKey('vault');
  assert.equal(dek2.version, 'v2');
  await adminA.createKey('minio-a');
  await adminA.sealKey('minio-a');
});

after(async () => {
  for (const c of clients) c.close();
  await stopAllChildren();
});

describe('kes backup', () => {
  test('a copy made while the server runs restores into a fresh server, unseals with the same shares and decrypts older data keys', async () => {
    const out = join(a.dir, 'kes-backup.db');
    const r = await kesJson<{ out: string; keys: number; threshold: number; shares: number; bytes: number }>([
      'backup',
      '--config',
      a.config,
      '--out',
      out,
    ]);
    assert.equal(r.out, out);
    assert.equal(r.keys, 2);
    assert.equal(r.threshold, 2);
    assert.equal(r.shares, 3);
    assert.equal(r.bytes, statSync(out).size);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    await adminA.createKey('after-backup');

    const again = await kes(['backup', '--config', a.config, '--out', out]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /refusing to overwrite .*kes-backup\.db/);

    const b = await makeInstallation({ certsFrom: a });
    mkdirSync(join(b.dir, 'data'));
    copyFileSync(out, b.dbPath);
    const serverB = await startServerInProcess(b);
    const adminB = clientFor(b);
    clients.push(adminB);
    assert.deepEqual(await adminB.sealStatus(), { initialized: true, sealed: true, t: 2, n: 3, progress: 0 });
    await adminB.unseal(shares[2]!); // a different subset than the one used on the original
    assert.equal((await adminB.unseal(shares[1]!)).sealed, false);
    assert.deepEqual(await adminB.decryptKey('vault', dek1.ciphertext, context), dek1.plaintext);
    assert.deepEqual(await adminB.decryptKey('vault', dek2.ciphertext), dek2.plaintext);
    assert.equal((await adminB.describeKey('minio-a')).state, 'sealed');
    await assert.rejects(adminB.describeKey('after-backup'), { status: 404 });
    adminB.close();
    await serverB.close();
  });
});

describe('kes export / import-bundle', () => {
  test('moves keys (versions, HMAC keys, state) to a store with another root key; bad passphrase, tampering and existing names are refused', async () => {
    const sharesFile = join(a.dir, 'shares.txt');
    writeFileSync(sharesFile, `${shares[0]}\n${shares[2]}\n`, { mode: 0o600 });
    const bundle = join(a.dir, 'keys.jwe');
    const exported = await kesJson<{ out: string; keys: string[] }>(
      ['export', '--config', a.config, '--names', 'vault,minio-*', '--out', bundle, '--shares-file', sharesFile],
      { env: { KES_EXPORT_PASSPHRASE: passphrase } },
    );
    assert.deepEqual(exported, { out: bundle, keys: ['minio-a', 'vault'] });
    assert.equal(statSync(bundle).mode & 0o777, 0o600);
    const jwe = readFileSync(bundle, 'utf8').trim();
    const parts = jwe.split('.');
    assert.equal(parts.length, 5, 'JWE compact serialization');
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as Record<string, unknown>;
    assert.equal(header.alg, 'PBES2-HS512+A256KW');
    assert.equal(header.enc, 'A256GCM');
    const audit = readFileSync(a.auditPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      audit.some((e) => e.path === 'kes export' && e.key === 'vault'),
      'the export is audited',
    );

    // A second installation with its own root key (1-of-1, unsealed from a file at start).
    const c = await makeInstallation({ certsFrom: a, extra: 'unseal: { file: unseal.key }' });
    const [share] = (await kesJson<{ shares: string[] }>(['init', '--config', c.config, '--shares', '1', '--threshold', '1'])).shares;
    writeFileSync(join(c.dir, 'unseal.key'), `${share}\n`, { mode: 0o600 });

    const tampered = join(c.dir, 'tampered.jwe');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[ct.length >> 1]! ^= 0x01;
    writeFileSync(tampered, [...parts.slice(0, 3), ct.toString('base64url'), parts[4]].join('.'));
    const [wrong, modified] = await Promise.all([
      kes(['import-bundle', '--config', c.config, bundle], { input: `${share}\nnot the passphrase\n` }),
      kes(['import-bundle', '--config', c.config, tampered], { input: `${share}\n${passphrase}\n` }),
    ]);
    for (const r of [wrong, modified]) {
      assert.equal(r.code, 1);
      assert.match(r.stderr, /wrong passphrase, or the bundle was modified/);
    }

    const imported = await kesJson(['import-bundle', '--config', c.config, bundle], { input: `${share}\n${passphrase}\n` });
    assert.deepEqual(imported, { imported: ['minio-a', 'vault'], replaced: [] });
    const twice = await kes(['import-bundle', '--config', c.config, bundle], { input: `${share}\n${passphrase}\n` });
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /keys already exist in the target keystore: minio-a, vault; nothing was imported \(pass --force/);

    await startServerInProcess(c);
    const adminC = clientFor(c);
    clients.push(adminC);
    assert.deepEqual(await adminC.decryptKey('vault', dek1.ciphertext, context), dek1.plaintext);
    assert.deepEqual(await adminC.decryptKey('vault', dek2.ciphertext), dek2.plaintext);
    const message = Buffer.from('same HMAC key on both sides');
    assert.deepEqual(await adminC.hmac('vault', message), await adminA.hmac('vault', message));
    const vault = await adminC.describeKey('vault');
    assert.deepEqual(vault.versions, ['v1', 'v2']);
    assert.equal(vault.latest_version, 'v2');
    assert.equal((await adminC.describeKey('minio-a')).state, 'sealed');
  });
});
