// kill -9 of a real kes process in the middle of a burst of creates, rotations and deletes:
// after a restart every key is either complete (all acknowledged versions, data keys decrypt)
// or absent (its name can be created again), acknowledged work is never lost, and SQLite's
// integrity check passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import request from 'supertest';
import { initStore } from '../src/init.js';
import { startServer } from '../src/server.js';
import { keepAliveClient } from './helpers/client.js';
import { testPki } from './helpers/pki.js';
import { tempDir } from './helpers/tmp.js';
import { nodeArgsFor } from '../../../scripts/lib/node-entry.js';

const WORKERS = 8;
const KILL_AFTER_CREATES = 40;

function startChild(configPath: string): Promise<{ child: ChildProcess; port: number }> {
  const script = fileURLToPath(new URL('./fixtures/kes-server.ts', import.meta.url));
  const child = spawn(process.execPath, [...nodeArgsFor(script), configPath], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, port: (JSON.parse(out.slice(0, nl)) as { port: number }).port });
    });
    child.once('exit', (code) => reject(new Error(`kes server exited early (${code})`)));
  });
}

interface Dek {
  name: string;
  plaintext: string;
  ciphertext: string;
}

test('SIGKILL during a burst of creates/rotates/deletes: every key complete or absent', async () => {
  const pki = testPki();
  const dir = tempDir();
  writeFileSync(join(dir, 'server.key'), pki.server.key);
  writeFileSync(join(dir, 'server.crt'), pki.server.cert);
  const configPath = join(dir, 'kes.yml');
  writeFileSync(
    configPath,
    `address: 127.0.0.1:0
admin: { identity: ${pki.admin.identity} }
tls: { key: server.key, cert: server.crt }
keystore: { sqlite: { path: data/kes.db } }
unseal: { file: unseal.key }
log: { error: off, audit: off }
`,
  );
  const { shares } = await initStore(configPath, { shares: 1, threshold: 1 });
  writeFileSync(join(dir, 'unseal.key'), `${shares[0]}\n`);

  const { child, port } = await startChild(configPath);
  const exited = new Promise((r) => child.once('exit', r));
  const client = keepAliveClient(port, pki.ca.cert, pki.admin, WORKERS);

  const created = new Set<string>();
  const rotated = new Set<string>();
  const deleted = new Set<string>();
  /** Deletes sent: one whose answer the kill cut off may still have committed. */
  const deleteSent = new Set<string>();
  const attempted = new Set<string>();
  const deks: Dek[] = [];
  let next = 0;
  let killed = false;

  const worker = async () => {
    while (!killed) {
      const name = `crash-${next++}`;
      attempted.add(name);
      try {
        if ((await client.send('PUT', `/v1/key/create/${name}`)).status !== 200) throw new Error('create refused');
        created.add(name);
        if (created.size >= KILL_AFTER_CREATES && !killed) {
          killed = true;
          child.kill('SIGKILL'); // other workers' requests are in flight right now
        }
        const g = await client.send('PUT', `/v1/key/generate/${name}`, {});
        if (g.status === 200) deks.push({ name, plaintext: g.body.plaintext as string, ciphertext: g.body.ciphertext as string });
        if ((await client.send('PUT', `/v1/key/rotate/${name}`)).status === 200) rotated.add(name);
        const g2 = await client.send('PUT', `/v1/key/generate/${name}`, {});
        if (g2.status === 200) deks.push({ name, plaintext: g2.body.plaintext as string, ciphertext: g2.body.ciphertext as string });
        if (next % 3 === 0) {
          deleteSent.add(name);
          if ((await client.send('DELETE', `/v1/key/delete/${name}`)).status === 200) deleted.add(name);
        }
      } catch {
        return; // connection reset or refused: the server is gone
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  client.close();
  await exited;
  assert.ok(created.size >= KILL_AFTER_CREATES);

  const dbPath = join(dir, 'data/kes.db');
  const db = new Database(dbPath);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();

  const srv = await startServer(configPath);
  try {
    const as = (t: request.Test) => t.key(pki.admin.key).cert(pki.admin.cert).ca(pki.ca.cert);
    let present = 0;
    let absent = 0;
    for (const name of attempted) {
      const d = await as(request(srv.server).get(`/v1/key/describe/${name}`));
      assert.ok(d.status === 200 || d.status === 404, `${name}: ${d.status}`);
      if (d.status === 200) {
        present++;
        assert.equal(deleted.has(name), false, `${name}: acknowledged delete was lost`);
        const versions = d.body.versions as string[];
        assert.deepEqual(
          versions,
          versions.map((_, i) => `v${i + 1}`),
          `${name}: versions are complete`,
        );
        assert.equal(d.body.latest_version, versions.at(-1));
        if (rotated.has(name)) assert.ok(versions.includes('v2'), `${name}: acknowledged rotation was lost`);
        const g = await as(request(srv.server).put(`/v1/key/generate/${name}`)).send({});
        assert.equal(g.status, 200, `${name}: a present key works`);
      } else {
        absent++;
        // Absent although its create was acknowledged: only if a delete of it was sent (and committed, answered or not).
        assert.equal(created.has(name) && !deleteSent.has(name), false, `${name}: acknowledged create was lost`);
        assert.equal((await as(request(srv.server).put(`/v1/key/create/${name}`))).status, 200, `${name}: an absent name can be created`);
      }
    }
    assert.ok(present > 0 && absent > 0);
    for (const dek of deks) {
      if (deleted.has(dek.name)) continue;
      const r = await as(request(srv.server).put(`/v1/key/decrypt/${dek.name}`)).send({ ciphertext: dek.ciphertext });
      assert.deepEqual([r.status, r.body.plaintext], [200, dek.plaintext], `${dek.name}: data key issued before the crash decrypts`);
    }
  } finally {
    await srv.close();
  }
});
