// The keystore contract on SQLite: two connections to one file stand for two processes.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { SqliteKeyStore } from '../../../src/keystore/sqlite-store.js';
import { tempDir } from '../../helpers/tmp.js';
import { keystoreContract, type Tamper } from './suite.js';

let counter = 0;

keystoreContract('SQLite', async () => {
  const path = join(tempDir(), `contract-${counter++}.db`);
  const edit = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(path);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  const tamper: Tamper = {
    corruptState: async (name) =>
      edit((db) => {
        const { state } = db.prepare('SELECT state FROM key_state WHERE name = ?').get(name) as { state: Buffer };
        state[state.length - 20]! ^= 1;
        db.prepare('UPDATE key_state SET state = ? WHERE name = ?').run(state, name);
      }),
    copyState: async (from, to) =>
      void edit((db) =>
        db.prepare('UPDATE key_state SET state = (SELECT state FROM key_state WHERE name = ?) WHERE name = ?').run(from, to),
      ),
    readState: async (name) =>
      edit((db) => (db.prepare('SELECT state FROM key_state WHERE name = ?').get(name) as { state: Buffer }).state),
    writeState: async (name, state) => void edit((db) => db.prepare('UPDATE key_state SET state = ? WHERE name = ?').run(state, name)),
    copyWrappedKey: async (from, to) =>
      void edit((db) =>
        db
          .prepare(
            'UPDATE keys SET wrapped_key = (SELECT wrapped_key FROM keys WHERE name = ? AND version = ?) WHERE name = ? AND version = ?',
          )
          .run(from.name, from.version, to.name, to.version),
      ),
    deleteVersion: async (name, version) =>
      void edit((db) => db.prepare('DELETE FROM keys WHERE name = ? AND version = ?').run(name, version)),
    setAlgorithm: async (name, version, algorithm) =>
      void edit((db) => db.prepare('UPDATE keys SET algorithm = ? WHERE name = ? AND version = ?').run(algorithm, name, version)),
  };
  return { open: async () => new SqliteKeyStore(path), tamper, close: async () => {} };
});
