// The SQLite keystore through the keyring and the key service: nothing in the files is a
// plaintext key, delete erases the wrapped bytes and the name from the database and its WAL,
// and a wrapped key copied to another name or version does not unwrap. (What every keystore must
// do is in keystore/contract/; this file is what only SQLite's files show.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { Barrier } from '../src/barrier/barrier.js';
import { SqliteKeyStore } from '../src/keystore/sqlite-store.js';
import type { KeyVersionRow } from '../src/keystore/types.js';
import { KeyRing, wrapContext } from '../src/keystore/keyring.js';
import { firstState, sealState } from '../src/keystore/key-state.js';
import { KeyService } from '../src/service/keys.js';
import { KesError } from '../src/errors.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir();
const silent = { error: () => {} };

async function openStack(file: string) {
  const store = new SqliteKeyStore(join(dir, file));
  const barrier = await Barrier.open(store);
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
    const rows = db.prepare('SELECT wrapped_key, wrapped_hmac_key FROM keys WHERE name = ?').all(name) as Array<{
      wrapped_key: Buffer;
      wrapped_hmac_key: Buffer;
    }>;
    return rows.flatMap((r) => [r.wrapped_key, r.wrapped_hmac_key]);
  } finally {
    db.close();
  }
}

test('an imported master key never appears in plaintext in the database or its WAL', async () => {
  const { store, service, path } = await openStack('plain.db');
  const key = randomBytes(32);
  await service.import('imported', key, 'AES256', 'test');
  await service.rotate('imported', 'test');
  const { ciphertext } = await service.encrypt('imported', Buffer.from('x'));
  assert.ok(ciphertext.length > 0);
  const files = filesOf(path);
  assert.ok(files.length >= 1);
  for (const f of files) {
    assert.equal(f.includes(key), false);
    assert.equal(f.includes(key.subarray(0, 16)), false);
  }
  await store.close();
});

test('delete erases every version: wrapped bytes and name gone from the file and the WAL', async () => {
  const { store, service, path } = await openStack('erase.db');
  // Enough neighbours, inserted out of order, to spread the tables over many b-tree pages and
  // make SQLite split and rebalance them; the victim sorts into the middle.
  const victim = `neighbour-0150-erase-me-${randomBytes(6).toString('hex')}`;
  const order = Array.from({ length: 300 }, (_, i) => i).sort((a, b) => ((a * 7919) % 300) - ((b * 7919) % 300));
  for (const i of order) {
    await service.create(`neighbour-${String(i).padStart(4, '0')}`, 'test');
    if (i === 150) {
      await service.create(victim, 'test');
      await service.rotate(victim, 'test');
      await service.rotate(victim, 'test');
    }
  }
  const { ciphertext } = await service.generate(victim);
  const wrapped = wrappedBytes(path, victim);
  assert.equal(wrapped.length, 6);
  assert.ok(
    filesOf(path).some((f) => f.includes(Buffer.from(victim))),
    'the name is stored before delete',
  );
  assert.ok(
    filesOf(path).some((f) => wrapped.some((w) => f.includes(w))),
    'the wrapped keys are stored before delete',
  );

  await service.delete(victim);
  assert.equal(existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`).length : 0, 0, 'WAL truncated');
  for (const f of filesOf(path)) {
    assert.equal(f.includes(Buffer.from(victim)), false, 'name erased');
    for (const w of wrapped) assert.equal(f.includes(w), false, 'wrapped key erased');
  }
  // re-created under the same name: a new key that does not open the old ciphertexts
  await service.create(victim, 'test');
  await assert.rejects(
    service.decrypt(victim, ciphertext),
    (e: unknown) => e instanceof KesError && e.status === 400 && e.message === 'decryption failed: ciphertext is not authentic',
  );
  assert.equal((await service.describe('neighbour-0150')).name, 'neighbour-0150');
  await store.close();
});

const integrity = (e: unknown) => e instanceof KesError && e.status === 502 && /does not authenticate/.test(e.message);

test('a wrapped key copied to another name or version does not unwrap (AAD binding)', async () => {
  const { store, service, ring, path } = await openStack('aad.db');
  await service.create('alpha', 'test');
  await service.create('beta', 'test');
  await service.rotate('beta', 'test');
  ring.dropAll();
  const db = new Database(path);
  db.prepare(
    "UPDATE keys SET wrapped_key = (SELECT wrapped_key FROM keys WHERE name = 'alpha' AND version = 1) WHERE name = 'beta' AND version = 1",
  ).run();
  db.prepare(
    "UPDATE keys SET wrapped_hmac_key = (SELECT wrapped_hmac_key FROM keys WHERE name = 'beta' AND version = 1) WHERE name = 'beta' AND version = 2",
  ).run();
  db.close();
  await assert.rejects(service.generate('beta'), integrity);
  assert.equal((await service.generate('alpha')).version, 'v1');
  await store.close();
});

test('a crash-free reopen keeps keys, state and versions; unwrapped keys are dropped on seal', async () => {
  const { store, barrier, service, path } = await openStack('reopen.db');
  await service.create('k', 'me');
  await service.rotate('k', 'me');
  await service.seal('k');
  const before = await service.describe('k');
  barrier.seal();
  await assert.rejects(service.describe('k'), /system is sealed/);
  await store.close();
  const store2 = new SqliteKeyStore(path);
  assert.ok((await store2.readState('k')).row?.state);
  assert.equal((await store2.getVersions('k')).length, 2);
  assert.equal(before.createdBy, 'me');
  assert.equal(before.state, 'sealed');
  await store2.close();
});

test('backupStore: a consistent copy, sealed under the same shares', async () => {
  const { parseConfig } = await import('../src/config/config.js');
  const { initStore, backupStore } = await import('../src/init.js');
  const config = parseConfig({ tls: { key: 'k', cert: 'c' }, keystore: { sqlite: { path: 'backup-src.db' } } }, { baseDir: dir });
  const { shares } = await initStore(config, { shares: 3, threshold: 2 });
  await assert.rejects(initStore(config, { shares: 1, threshold: 1 }), /already initialized/);
  const store = new SqliteKeyStore(config.keystore.sqlite!.path);
  const barrier = await Barrier.open(store);
  for (const s of shares.slice(0, 2)) await barrier.unseal(s);
  const service = new KeyService(new KeyRing(store, barrier), barrier, silent);
  await service.create('backed-up', 'me');
  const dek = await service.generate('backed-up');
  const copy = join(dir, 'backup-copy.db');
  await backupStore(config, copy);
  await assert.rejects(backupStore(config, copy), /exists/);
  await store.close();

  const restored = new SqliteKeyStore(copy);
  const b2 = await Barrier.open(restored);
  assert.deepEqual(b2.status(), { initialized: true, sealed: true, t: 2, n: 3, progress: 0 });
  for (const s of shares.slice(1, 3)) await b2.unseal(s);
  const s2 = new KeyService(new KeyRing(restored, b2), b2, silent);
  assert.deepEqual((await s2.decrypt('backed-up', dek.ciphertext)).plaintext, dek.plaintext);
  await restored.close();
});

test('a change made by another connection (another process) is seen: the cached key is not used', async () => {
  const a = await openStack('shared.db');
  await a.service.create('shared', 'a');
  await a.service.create('donor', 'a');
  const before = await a.service.generate('shared'); // 'shared' is now unwrapped and cached
  // Another connection (as the CLI's offline import opens the file) replaces the key's rows.
  const db = new Database(a.path);
  db.prepare("DELETE FROM keys WHERE name = 'shared'").run();
  db.prepare(
    "INSERT INTO keys SELECT 'shared', version, algorithm, wrapped_key, wrapped_hmac_key, created_at, created_by FROM keys WHERE name = 'donor'",
  ).run();
  db.prepare("UPDATE key_state SET state = (SELECT state FROM key_state WHERE name = 'donor') WHERE name = 'shared'").run();
  db.close();
  // The new rows carry the donor's sealing (its name in the AAD), so the fresh read fails: the
  // answer proves the cached key was not used.
  await assert.rejects(a.service.decrypt('shared', before.ciphertext), integrity);
  await a.store.close();
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
  const stateFor = (name: string, rows: KeyVersionRow[], sealed: boolean, min: number) =>
    sealState(barrier, name, firstState(name, rows, { sealed, minDecryptionVersion: min }));
  const first = rowsFor('moved', 3);
  assert.equal(await store.importKey('moved', stateFor('moved', first, false, 2), first, false), false);
  assert.equal((await service.describe('moved')).minDecryptionVersion, 'v2');
  assert.equal((await service.generate('moved')).version, 'v3', 'the imported versions unwrap');
  const before = wrappedBytes(path, 'moved');

  const one = rowsFor('moved', 1);
  await assert.rejects(
    store.importKey('moved', stateFor('moved', one, false, 1), one, false),
    (e: unknown) => e instanceof KesError && e.status === 400,
  );
  // A replacement that fails on its second version (NOT NULL) rolls back the erase of the old key too.
  const broken = rowsFor('moved', 2);
  const state = stateFor('moved', broken, true, 1);
  broken[1] = { ...broken[1]!, wrappedKey: null as unknown as Buffer };
  await assert.rejects(store.importKey('moved', state, broken, true), /NOT NULL/);
  assert.equal((await service.describe('moved')).latestVersion, 'v3');
  assert.deepEqual(wrappedBytes(path, 'moved'), before);
  // Versions out of order are refused before anything is written.
  const reversed = rowsFor('other', 2).reverse();
  await assert.rejects(store.importKey('other', stateFor('other', reversed, false, 1), reversed, false), /version 1 expected/);
  assert.equal((await store.readState('other')).row, undefined);

  assert.equal(await store.importKey('moved', stateFor('moved', one, true, 1), one, true), true);
  assert.equal((await service.describe('moved')).state, 'sealed');
  for (const f of filesOf(path))
    for (const w of before) assert.equal(f.includes(w), false, 'the replaced key is erased from the file and the WAL');
  await store.close();
});
