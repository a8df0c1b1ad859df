// A SQLite keystore of schema version 1 (key state in plain columns) is upgraded at the first
// unseal: every key keeps its sealed flag, versions and min_decryption_version, old ciphertexts
// still decrypt, the plain columns are gone, and from then on an edited state row is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { startServer } from '../src/server.js';
import { startTestServer } from './helpers/server.js';

/** Rewrites a schema 2 file into the shape kes wrote before sealed states (schema 1). */
function downgradeToV1(path: string, states: Record<string, { sealed: boolean; min: number; latest: number }>): void {
  const db = new Database(path);
  try {
    db.pragma('foreign_keys = OFF');
    db.exec(`
      CREATE TABLE key_state_v1 (
        name                   TEXT    PRIMARY KEY,
        sealed                 INTEGER NOT NULL DEFAULT 0,
        min_decryption_version INTEGER NOT NULL DEFAULT 1,
        latest_version         INTEGER NOT NULL
      ) WITHOUT ROWID;
    `);
    const insert = db.prepare('INSERT INTO key_state_v1 VALUES (?, ?, ?, ?)');
    for (const [name, s] of Object.entries(states)) insert.run(name, s.sealed ? 1 : 0, s.min, s.latest);
    db.exec('DROP TABLE key_state; ALTER TABLE key_state_v1 RENAME TO key_state; ALTER TABLE meta DROP COLUMN seal_epoch;');
    db.pragma('user_version = 1');
  } finally {
    db.close();
  }
}

test('a schema 1 SQLite keystore is upgraded at the first unseal, keeping every key and its state', async () => {
  const ts = await startTestServer({ keys: ['plain'] });
  const { admin } = ts.pki;
  await ts.put('/v1/key/create/sealed-one', admin).expect(200);
  await ts.put('/v1/key/seal/sealed-one', admin).expect(200);
  await ts.put('/v1/key/create/rotated', admin).expect(200);
  const v1 = (await ts.put('/v1/key/generate/rotated', admin, {})).body as { ciphertext: string; plaintext: string };
  await ts.put('/v1/key/rotate/rotated', admin).expect(200);
  const v2 = (await ts.put('/v1/key/generate/rotated', admin, {})).body as { ciphertext: string; plaintext: string };
  await ts.put('/v1/key/rotate/rotated', admin).expect(200);
  await ts.close();
  downgradeToV1(ts.dbPath, {
    plain: { sealed: false, min: 1, latest: 1 },
    'sealed-one': { sealed: true, min: 1, latest: 1 },
    rotated: { sealed: false, min: 2, latest: 3 },
  });

  // The downgraded file opens; the server unseals from its unseal file and upgrades it.
  ts.srv = await startServer(ts.config);
  const version = () => {
    const db = new Database(ts.dbPath, { readonly: true });
    try {
      return [db.pragma('user_version', { simple: true }), db.prepare("SELECT name FROM pragma_table_info('key_state')").pluck().all()];
    } finally {
      db.close();
    }
  };
  assert.deepEqual(version(), [2, ['name', 'state']]);
  const rotated = await ts.get('/v1/key/describe/rotated', admin);
  assert.deepEqual(
    [rotated.body.versions, rotated.body.latest_version, rotated.body.min_decryption_version, rotated.body.state],
    [['v1', 'v2', 'v3'], 'v3', 'v2', 'active'],
  );
  assert.equal((await ts.get('/v1/key/describe/sealed-one', admin)).body.state, 'sealed');
  assert.deepEqual((await ts.put('/v1/key/generate/sealed-one', admin, {})).body, { message: 'key is sealed' });
  assert.equal((await ts.put('/v1/key/generate/plain', admin, {})).status, 200);
  assert.equal((await ts.put('/v1/key/decrypt/rotated', admin, { ciphertext: v2.ciphertext })).body.plaintext, v2.plaintext);
  assert.deepEqual((await ts.put('/v1/key/decrypt/rotated', admin, { ciphertext: v1.ciphertext })).body, {
    message: 'key version is too old',
  });

  // From now on the state is authenticated: "unsealing" a key in the database is refused.
  await ts.srv.close();
  const db = new Database(ts.dbPath);
  db.prepare("UPDATE key_state SET state = (SELECT state FROM key_state WHERE name = 'plain') WHERE name = 'sealed-one'").run();
  db.close();
  ts.srv = await startServer(ts.config);
  const r = await ts.put('/v1/key/generate/sealed-one', admin, {});
  assert.equal(r.status, 502);
  assert.match(r.body.message, /^failed to read key: its stored state does not authenticate/);
  await ts.close();
});

test('a schema 1 keystore that stays sealed is left as it is', async () => {
  const ts = await startTestServer({ sealed: true });
  await ts.close();
  downgradeToV1(ts.dbPath, {});
  ts.srv = await startServer(ts.config);
  assert.equal((await ts.get('/v1/sys/seal-status', ts.pki.admin)).body.sealed, true);
  const db = new Database(ts.dbPath, { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  db.close();
  await ts.put('/v1/sys/unseal', ts.pki.admin, { key: ts.shares[0] }).expect(200);
  const after = new Database(ts.dbPath, { readonly: true });
  assert.equal(after.pragma('user_version', { simple: true }), 2);
  after.close();
  assert.equal((await ts.put('/v1/key/create/after-upgrade', ts.pki.admin)).status, 200);
  await ts.close();
});
