// The SQLite keystore through the keyring and the key service: nothing in the files is a
// plaintext key, delete erases the wrapped bytes and the name from the database and its WAL,
// and a wrapped key copied to another name or version does not unwrap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { Barrier } from '../src/barrier/barrier.js';
import { KeyStore, type KeyVersionRow } from '../src/keystore/store.js';
import { KeyRing, wrapContext } from '../src/keystore/keyring.js';
import { KeyService } from '../src/service/keys.js';
import { KesError } from '../src/errors.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir();
const silent = { error: () => {} };

async function openStack(file: string) {
  const store = new KeyStore(join(dir, file));
  const barrier = new Barrier(store);
  const [share] = await barrier.initialize(1, 1);
  await barrier.unseal(share!);
  const ring = new KeyRing(store, barrier);
  const service = new KeyService(ring, barrier, silent);
  return { store, barrier, ring, service, path: join(dir, file) };
}

function filesOf(path: string): Buffer[] {
  return [path, `${path}-wal`].filter(existsSync).map((p) => readFileSync(p));
}

function wrappedBytes(path: string, name: string): Buffer[] {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT wrapped_key, wrapped_hmac_key FROM keys WHERE name = ?').all(name) as Array<{ wrapped_key: Buffer; wrapped_hmac_key: Buffer }>;
    return rows.flatMap((r) => [r.wrapped_key, r.wrapped_hmac_key]);
  } finally {
    db.close();
  }
}

test('an imported master key never appears in plaintext in the database or its WAL', async () => {
  const { store, service, path } = await openStack('plain.db');
  const key = randomBytes(32);
  service.import('imported', key, 'AES256', 'test');
  service.rotate('imported', 'test');
  const { ciphertext } = service.encrypt('imported', Buffer.from('x'));
  assert.ok(ciphertext.length > 0);
  const files = filesOf(path);
  assert.ok(files.length >= 1);
  for (const f of files) {
    assert.equal(f.includes(key), false);
    assert.equal(f.includes(key.subarray(0, 16)), false);
  }
  store.close();
});

test('delete erases every version: wrapped bytes and name gone from the file and the WAL', async () => {
  const { store, service, path } = await openStack('erase.db');
  // Enough neighbours, inserted out of order, to spread the tables over many b-tree pages and
  // make SQLite split and rebalance them; the victim sorts into the middle.
  const victim = `neighbour-0150-erase-me-${randomBytes(6).toString('hex')}`;
  const order = Array.from({ length: 300 }, (_, i) => i).sort((a, b) => ((a * 7919) % 300) - ((b * 7919) % 300));
  for (const i of order) {
    service.create(`neighbour-${String(i).padStart(4, '0')}`, 'test');
    if (i === 150) {
      service.create(victim, 'test');
      service.rotate(victim, 'test');
      service.rotate(victim, 'test');
    }
  }
  const { ciphertext } = service.generate(victim);
  const wrapped = wrappedBytes(path, victim);
  assert.equal(wrapped.length, 6);
  assert.ok(filesOf(path).some((f) => f.includes(Buffer.from(victim))), 'the name is stored before delete');
  assert.ok(filesOf(path).some((f) => wrapped.some((w) => f.includes(w))), 'the wrapped keys are stored before delete');

  service.delete(victim);
  assert.equal(existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`).length : 0, 0, 'WAL truncated');
  for (const f of filesOf(path)) {
    assert.equal(f.includes(Buffer.from(victim)), false, 'name erased');
    for (const w of wrapped) assert.equal(f.includes(w), false, 'wrapped key erased');
  }
  // re-created under the same name: a new key that does not open the old ciphertexts
  service.create(victim, 'test');
  assert.throws(() => service.decrypt(victim, ciphertext), (e: unknown) => e instanceof KesError && e.status === 400 && e.message === 'decryption failed: ciphertext is not authentic');
  assert.equal(service.describe('neighbour-0150').name, 'neighbour-0150');
  store.close();
});

test('a wrapped key copied to another name or version does not unwrap (AAD binding)', async () => {
  const { store, service, ring, path } = await openStack('aad.db');
  service.create('alpha', 'test');
  service.create('beta', 'test');
  service.rotate('beta', 'test');
  ring.dropAll();
  const db = new Database(path);
  db.prepare("UPDATE keys SET wrapped_key = (SELECT wrapped_key FROM keys WHERE name = 'alpha' AND version = 1) WHERE name = 'beta' AND version = 1").run();
  db.prepare("UPDATE keys SET wrapped_hmac_key = (SELECT wrapped_hmac_key FROM keys WHERE name = 'beta' AND version = 1) WHERE name = 'beta' AND version = 2").run();
  db.close();
  assert.throws(() => service.generate('beta'), (e: unknown) => e instanceof KesError && e.status === 502 && e.message === 'failed to read key');
  assert.equal(service.generate('alpha').version, 'v1');
  store.close();
});

test('a crash-free reopen keeps keys, state and versions; unwrapped keys are dropped on seal', async () => {
  const { store, barrier, service, path } = await openStack('reopen.db');
  service.create('k', 'me');
  service.rotate('k', 'me');
  service.seal('k');
  const before = service.describe('k');
  barrier.seal();
  assert.throws(() => service.describe('k'), /system is sealed/);
  store.close();
  const store2 = new KeyStore(path);
  assert.equal(store2.getState('k')?.latestVersion, 2);
  assert.equal(store2.getState('k')?.sealed, true);
  assert.equal(store2.getVersions('k').length, 2);
  assert.equal(before.createdBy, 'me');
  store2.close();
});

test('backupStore: a consistent copy, sealed under the same shares', async () => {
  const { parseConfig } = await import('../src/config/config.js');
  const { initStore, backupStore } = await import('../src/init.js');
  const config = parseConfig({ tls: { key: 'k', cert: 'c' }, keystore: { sqlite: { path: 'backup-src.db' } } }, { baseDir: dir });
  const { shares } = await initStore(config, { shares: 3, threshold: 2 });
  await assert.rejects(initStore(config, { shares: 1, threshold: 1 }), /already initialized/);
  const store = new KeyStore(config.keystore.sqlite.path);
  const barrier = new Barrier(store);
  for (const s of shares.slice(0, 2)) await barrier.unseal(s);
  const service = new KeyService(new KeyRing(store, barrier), barrier, silent);
  service.create('backed-up', 'me');
  const dek = service.generate('backed-up');
  const copy = join(dir, 'backup-copy.db');
  await backupStore(config, copy);
  await assert.rejects(backupStore(config, copy), /exists/);
  store.close();

  const restored = new KeyStore(copy);
  const b2 = new Barrier(restored);
  assert.deepEqual(b2.status(), { initialized: true, sealed: true, t: 2, n: 3, progress: 0 });
  for (const s of shares.slice(1, 3)) await b2.unseal(s);
  const s2 = new KeyService(new KeyRing(restored, b2), b2, silent);
  assert.deepEqual(s2.decrypt('backed-up', dek.ciphertext).plaintext, dek.plaintext);
  restored.close();
});

test('a change made by another connection (another process) is seen: the cache is dropped', async () => {
  const a = await openStack('shared.db');
  a.service.create('shared', 'a');
  a.service.create('donor', 'a');
  const before = a.service.generate('shared'); // 'shared' is now unwrapped and cached
  // Another connection (as the CLI's offline import opens the file) replaces the key's rows.
  const db = new Database(a.path);
  db.prepare("DELETE FROM keys WHERE name = 'shared'").run();
  db.prepare("INSERT INTO keys SELECT 'shared', version, algorithm, wrapped_key, wrapped_hmac_key, created_at, created_by FROM keys WHERE name = 'donor'").run();
  db.close();
  // The new rows carry the donor's wrapping (its AAD), so a fresh read fails to unwrap: the
  // answer proves the cached key was not used.
  assert.throws(() => a.service.decrypt('shared', before.ciphertext), (e: unknown) => e instanceof KesError && e.status === 502);
  a.store.close();
});

test('importKey writes a whole key in one transaction: refused if it exists, replaced atomically, a failure leaves the old key', async () => {
  const { store, barrier, service, path } = await openStack('import.db');
  const rowsFor = (name: string, count: number): KeyVersionRow[] =>
    Array.from({ length: count }, (_, i) => ({
      name,
      version: i + 1,
      algorithm: 'AES256',
      wrappedKey: barrier.wrap(wrapContext(name, i + 1, 'key'), randomBytes(32)),
      wrappedHmacKey: barrier.wrap(wrapContext(name, i + 1, 'hmac'), randomBytes(32)),
      createdAt: new Date().toISOString(),
      createdBy: 'test',
    }));
  assert.equal(store.importKey({ name: 'moved', sealed: false, minDecryptionVersion: 2 }, rowsFor('moved', 3), false), false);
  assert.deepEqual(store.getState('moved'), { name: 'moved', sealed: false, minDecryptionVersion: 2, latestVersion: 3 });
  assert.equal(service.generate('moved').version, 'v3', 'the imported versions unwrap');
  const before = wrappedBytes(path, 'moved');

  assert.throws(() => store.importKey({ name: 'moved', sealed: false, minDecryptionVersion: 1 }, rowsFor('moved', 1), false), (e: unknown) => e instanceof KesError && e.status === 400);
  // A replacement that fails on its second version (NOT NULL) rolls back the erase of the old key too.
  const broken = rowsFor('moved', 2);
  broken[1] = { ...broken[1]!, wrappedKey: null as unknown as Buffer };
  assert.throws(() => store.importKey({ name: 'moved', sealed: true, minDecryptionVersion: 1 }, broken, true), /NOT NULL/);
  assert.deepEqual(store.getState('moved'), { name: 'moved', sealed: false, minDecryptionVersion: 2, latestVersion: 3 });
  assert.deepEqual(wrappedBytes(path, 'moved'), before);
  // Versions out of order are refused before anything is written.
  assert.throws(() => store.importKey({ name: 'other', sealed: false, minDecryptionVersion: 1 }, rowsFor('other', 2).reverse(), false), /version 1 expected/);
  assert.equal(store.getState('other'), undefined);

  assert.equal(store.importKey({ name: 'moved', sealed: true, minDecryptionVersion: 1 }, rowsFor('moved', 1), true), true);
  assert.deepEqual(store.getState('moved'), { name: 'moved', sealed: true, minDecryptionVersion: 1, latestVersion: 1 });
  for (const f of filesOf(path)) for (const w of before) assert.equal(f.includes(w), false, 'the replaced key is erased from the file and the WAL');
  store.close();
});
