// The rotation job store contract against the embedded rotation.db (leases from the SQLite metadata store
// beside it), and a rotation.db written by an earlier release (schema 1) opening with its jobs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import DatabaseConstructor from 'better-sqlite3';
import { SqliteJobStore } from '../../src/rotation/job-store/sqlite.js';
import { openSqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { describeJobStore } from './contract/job-store-contract.js';

describeJobStore('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kesgate-jobs-sqlite-'));
  const metadata = await openSqliteMetadataStore({ path: join(dir, 'meta.db') });
  const path = join(dir, 'rotation.db');
  let jobs = new SqliteJobStore(path, metadata);
  return {
    jobs,
    metadata,
    async reopen() {
      await jobs.close();
      jobs = new SqliteJobStore(path, metadata);
      return jobs;
    },
    async cleanup() {
      await jobs.close();
      await metadata.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('rotation.db of an earlier release', () => {
  it('opens with its jobs, which read back as they were and take cancel requests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kesgate-jobs-v1-'));
    const path = join(dir, 'rotation.db');
    // The file as schema 1 wrote it.
    const old = new DatabaseConstructor(path);
    old.exec(`
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY, bucket TEXT NOT NULL, prefix TEXT NOT NULL, to_key TEXT NOT NULL, from_key TEXT,
        dry_run INTEGER NOT NULL, state TEXT NOT NULL, target_version TEXT, total INTEGER, counters TEXT NOT NULL,
        last_key TEXT, error TEXT, failures TEXT NOT NULL, created_at TEXT NOT NULL, finished_at TEXT
      );
      CREATE INDEX jobs_state ON jobs (state);
      PRAGMA user_version = 1;
      INSERT INTO jobs VALUES ('job-1', 'b', 'p/', 'key-new', NULL, 0, 'running', 'v2', 6,
        '{"scanned":3,"rotated":3,"skipped":0,"failed":0,"retries":1,"skippedBy":{"sse-c":0,"current":0,"other-key":0,"gone":0}}',
        'p/3', NULL, '[]', '2025-01-02T03:04:05.678Z', NULL);
    `);
    old.close();
    const jobs = new SqliteJobStore(path, { leaseHolder: async () => undefined });
    try {
      const job = await jobs.get('job-1');
      assert.deepEqual(job, {
        id: 'job-1',
        bucket: 'b',
        prefix: 'p/',
        toKey: 'key-new',
        dryRun: false,
        state: 'running',
        targetVersion: 'v2',
        total: 6,
        counters: {
          scanned: 3,
          rotated: 3,
          skipped: 0,
          failed: 0,
          retries: 1,
          skippedBy: { 'sse-c': 0, current: 0, 'other-key': 0, gone: 0 },
        },
        lastKey: 'p/3',
        failures: [],
        createdAt: '2025-01-02T03:04:05.678Z',
      });
      assert.deepEqual(
        (await jobs.running()).map((j) => j.id),
        ['job-1'],
      );
      assert.equal((await jobs.requestCancel('job-1'))?.cancelRequested, true);
    } finally {
      await jobs.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
