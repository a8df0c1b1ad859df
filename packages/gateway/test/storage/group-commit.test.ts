// The SQLite metadata store's group commit on a real SQLite file (WAL): writes asked for in one turn share one
// transaction, each sees the ones before it, a failing write loses only its own changes, a failing commit
// loses the batch and says so to every writer, and nothing is visible to another connection before it
// commits. A second connection to the same file is the oracle for "committed".
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { GroupCommit } from '../../src/storage/metadata/sqlite/group-commit.js';
import { WalSync } from '../../src/storage/metadata/sqlite/wal-sync.js';

describe('sqlite metadata store: group commit', () => {
  let dir: string;
  let db: Database.Database;
  let reader: Database.Database;
  let commits: GroupCommit;
  let wal: WalSync;
  const committed = (): string[] => (reader.prepare('SELECT name FROM item ORDER BY seq').all() as { name: string }[]).map((r) => r.name);
  const insert = (name: string) => db.prepare('INSERT INTO item (name) VALUES (?)').run(name).lastInsertRowid;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kesgate-group-commit-'));
    db = new Database(join(dir, 'meta.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // as the store runs it: the commit does not fsync, WalSync does
    db.pragma('foreign_keys = ON');
    db.exec(`
      CREATE TABLE item (seq INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
      CREATE TABLE ref (item INTEGER NOT NULL REFERENCES item(seq) DEFERRABLE INITIALLY DEFERRED);
    `);
    reader = new Database(join(dir, 'meta.db'), { readonly: true });
    wal = new WalSync(join(dir, 'meta.db-wal'));
    commits = new GroupCommit(db, wal);
  });
  after(async () => {
    await wal.close();
    reader.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the writes of one turn in one transaction, in order, and settles them after the commit', async () => {
    const seenByOthers: string[][] = [];
    const writes = ['a', 'b', 'c'].map((name) =>
      commits.run(() => {
        assert.ok(db.inTransaction);
        seenByOthers.push(committed());
        insert(name);
        return (db.prepare('SELECT count(*) AS n FROM item').get() as { n: number }).n;
      }),
    );
    assert.deepEqual(committed(), [], 'nothing runs before the batch is flushed');
    // Each write sees the writes before it; no other connection sees any of them before the one commit.
    assert.deepEqual(await Promise.all(writes), [1, 2, 3]);
    assert.deepEqual(seenByOthers, [[], [], []]);
    assert.deepEqual(committed(), ['a', 'b', 'c']);
  });

  it('a write that throws loses only its own changes and rejects only its own promise', async () => {
    const ok1 = commits.run(() => insert('d'));
    const bad = commits.run(() => {
      insert('half-done');
      throw new Error('refused by the write');
    });
    const dup = commits.run(() => insert('a')); // UNIQUE violation: SQLite's own error
    const ok2 = commits.run(() => insert('e'));
    await assert.rejects(bad, /refused by the write/);
    await assert.rejects(dup, { code: 'SQLITE_CONSTRAINT_UNIQUE' });
    await ok1;
    await ok2;
    assert.deepEqual(committed(), ['a', 'b', 'c', 'd', 'e']);
  });

  it('a commit that fails rejects every write of the batch and stores none of them', async () => {
    // A deferred foreign key is checked at COMMIT: the whole batch's commit fails.
    const fine = commits.run(() => insert('f'));
    const dangling = commits.run(() => db.prepare('INSERT INTO ref (item) VALUES (999)').run());
    const results = await Promise.allSettled([fine, dangling]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.equal((r as PromiseRejectedResult).reason.code, 'SQLITE_CONSTRAINT_FOREIGNKEY');
    }
    assert.deepEqual(committed(), ['a', 'b', 'c', 'd', 'e']);
    assert.equal((reader.prepare('SELECT count(*) AS n FROM ref').get() as { n: number }).n, 0);
    assert.equal(db.inTransaction, false, 'the failed batch is rolled back');
    // The next batch commits normally.
    await commits.run(() => insert('g'));
    assert.deepEqual(committed(), ['a', 'b', 'c', 'd', 'e', 'g']);
  });

  it('flush() commits what is queued at once (before the store closes)', async () => {
    const queued = commits.run(() => insert('h'));
    const flushed = commits.flush();
    assert.deepEqual(committed().at(-1), 'h');
    await flushed;
    await queued;
  });
});
