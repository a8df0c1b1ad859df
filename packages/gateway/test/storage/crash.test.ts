// kill -9 during writes: a child process (fixtures/crash-writer.ts) overwrites, deletes and
// multipart-completes keys in a loop and is SIGKILLed at random points, several times over the
// same data directory. After each kill the directory must reopen with every object whole (its
// data files exist with the recorded sizes and hash to the recorded sha256), every state the
// child reported as committed present, and no orphan or temp file left.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openFsStore, type ObjectStore } from '../../src/storage/index.js';
import { dataFileIds, dataFileSize, readObject, readStream, rejectsWith, sha256, tmpFiles } from './helpers.js';
import { nodeArgsFor } from '../../../../scripts/lib/node-entry.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..', '..', '..');
const writerScript = join(here, 'fixtures', 'crash-writer.ts');
const BUCKET = 'crash';
const ROUNDS = 8;

/** What the parent knows a key holds: a sha256, absent, or unknown (an operation was in flight). */
type KeyState = { sha: string } | 'absent' | 'unknown';

class ChildLines {
  private buffer = '';
  private waiters: { predicate: (line: string) => boolean; resolve: () => void }[] = [];
  readonly lines: string[] = [];
  stderr = '';

  constructor(child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.predicate(line) ? (w.resolve(), false) : true));
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
  }

  waitFor(predicate: (line: string) => boolean): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ predicate, resolve }));
  }
}

async function verify(
  store: ObjectStore,
  root: string,
  expected: Map<string, KeyState>,
): Promise<{ objects: number; uploads: number; inline: number }> {
  assert.deepEqual(tmpFiles(root), [], 'no temp file survives the open');
  const referenced: string[] = [];
  let inline = 0;
  const page = await store.listObjects({ bucket: BUCKET, maxKeys: 1000 });
  assert.equal(page.isTruncated, false);
  for (const { key } of page.contents) {
    const record = (await store.getObject(BUCKET, key))!;
    for (const part of record.parts) {
      if (part.inline) {
        // A small object lives in its metadata row (no data file: the check of every data file below holds it).
        assert.equal(part.inline.length, part.encSize, `${key}: inline part size`);
        inline++;
        continue;
      }
      assert.equal(dataFileSize(root, part.dataId), part.encSize, `${key}: part ${part.number} file size`);
      referenced.push(part.dataId);
    }
    const data = await readObject(store, record);
    assert.equal(data.length, record.size, `${key}: size`);
    assert.equal(sha256(data), record.userMetadata.sha256, `${key}: data matches its metadata (no torn object)`);
  }
  const uploads = await store.listUploads({ bucket: BUCKET, maxUploads: 1000 });
  for (const upload of uploads.uploads) {
    const ref = { bucket: BUCKET, key: upload.key, uploadId: upload.uploadId };
    for (const part of (await store.listParts(ref)).parts) {
      const data = await readStream(await store.openPartRange(part.dataId, 0, part.encSize));
      assert.equal(dataFileSize(root, part.dataId), part.encSize);
      assert.equal(sha256(data), part.extra?.sha256, `${upload.key}: upload part ${part.number}`);
      referenced.push(part.dataId);
    }
  }
  assert.deepEqual(dataFileIds(root).sort(), referenced.sort(), 'every data file is referenced, and exists');

  for (const [key, state] of expected) {
    if (state === 'unknown') continue;
    const record = await store.getObject(BUCKET, key);
    if (state === 'absent') assert.equal(record, undefined, `${key} was reported deleted`);
    else assert.equal(record?.userMetadata.sha256, state.sha, `${key} holds what was reported committed`);
  }
  return { objects: page.contents.length, uploads: uploads.uploads.length, inline };
}

describe('embedded store: crash safety', () => {
  const base = mkdtempSync(join(tmpdir(), 'kesgate-crash-'));
  const root = join(base, 'store');
  after(() => rmSync(base, { recursive: true, force: true }));

  it(`keeps every object whole across ${ROUNDS} SIGKILLs during writes`, async () => {
    const expected = new Map<string, KeyState>();
    let committed = 0;
    let completedMultipart = 0;
    let inlineSeen = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const child = spawn(process.execPath, [...nodeArgsFor(writerScript), root], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
        child.once('exit', (code, signal) => resolve(signal ?? code)),
      );
      const lines = new ChildLines(child);
      const ready = lines.waitFor((line) => line === 'ready');
      const outcome = await Promise.race([ready.then(() => 'ready'), exited.then(() => 'exited')]);
      assert.equal(outcome, 'ready', `child failed to start: ${lines.stderr}`);

      if (round === 0) {
        // A second process on the same directory is refused while the child holds it.
        await rejectsWith(openFsStore({ path: root }), 'DataDirInUse');
      }
      // Let the child commit a few operations, then kill it at a random point of the next ones.
      const target = lines.lines.length + 2 + Math.floor(Math.random() * 8);
      await lines.waitFor(() => lines.lines.length >= target);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL', `child ended on its own: ${lines.stderr}`);

      for (const line of lines.lines) {
        const [verb, key, sha] = line.split(' ');
        if (verb === 'begin') expected.set(key!, 'unknown');
        if (verb === 'put') {
          expected.set(key!, { sha: sha! });
          committed++;
          if (key!.startsWith('multi/')) completedMultipart++;
        }
        if (verb === 'deleted') expected.set(key!, 'absent');
      }

      const store = await openFsStore({ path: root });
      try {
        inlineSeen += (await verify(store, root, expected)).inline;
        // Whatever the crash left in flight is now settled: carry the actual state forward.
        for (const key of expected.keys()) {
          const record = await store.getObject(BUCKET, key);
          expected.set(key, record ? { sha: record.userMetadata.sha256! } : 'absent');
        }
        assert.deepEqual(await store.sweep(), { tempFilesRemoved: 0, orphanDataFilesRemoved: 0, bytesReclaimed: 0, unknownFiles: 0 });
      } finally {
        await store.close();
      }
    }
    assert.ok(committed >= ROUNDS * 2, `the child committed ${committed} writes`);
    assert.ok(completedMultipart > 0, 'at least one multipart upload completed');
    assert.ok(inlineSeen > 0, 'small objects were stored inline');
  });
});
