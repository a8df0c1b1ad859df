// Three kes nodes over one throwaway PostgreSQL keystore, each a real server over mTLS: init once
// (a second init is refused, also through the CLI), changes through one node obeyed by the others
// before the call returns, cluster-wide seal pushed by LISTEN/NOTIFY and polled when the LISTEN
// connection is gone, unseal per node, delete + VACUUM, rows edited in the database refused, each
// node's own audit log, and a node that loses the database answering 503 instead of stale keys.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { KesClient } from '@kesgate/kes-client';
import { initStore } from '../src/init.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { postgresSkipReason, startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { kes, makeInstallation } from './cli/helpers.js';

const SEALED = { message: 'system is sealed' };
const UNAVAILABLE = { message: 'keystore is not available: kes cannot reach its database and serves no key operations until it can' };

/** Asks `probe` until it returns true; fails after `ms`. (The bound is generous: shared CI machines.) */
async function eventually(what: string, probe: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kes cluster on PostgreSQL', { skip: postgresSkipReason() }, () => {
  let cluster: PostgresCluster;
  let url: string;
  let sql: pg.Client;
  /** a and b: no seal polling (only LISTEN/NOTIFY can seal them); c: polls every 200 ms and never re-LISTENs. */
  let a: TestServer;
  let b: TestServer;
  let c: TestServer;
  let nodes: TestServer[];

  before(async () => {
    cluster = await startPostgres();
    // The deployment's shape: a login role that owns the keystore's database (VACUUM needs ownership).
    url = await cluster.createDatabase('kes', { user: 'kes', password: 'kes-password' });
    a = await startTestServer({ postgres: url, node: 'kes-a', sealPoll: '1h', keys: ['sse-default'] });
    b = await startTestServer({ postgres: url, node: 'kes-b', sealPoll: '1h', join: a.shares });
    c = await startTestServer({ postgres: url, node: 'kes-c', sealPoll: '200ms', listenRetry: '1h', join: a.shares });
    nodes = [a, b, c];
    sql = new pg.Client({ connectionString: cluster.url('kes') });
    sql.on('error', () => undefined); // the last test stops the server under it
    await sql.connect();
  });
  after(async () => {
    await sql?.end();
    for (const n of nodes ?? []) await n.close();
    await cluster?.close();
  });

  const admin = () => a.pki.admin;
  const sealStatus = async (n: TestServer) => (await n.get('/v1/sys/seal-status', admin())).body as { sealed: boolean };
  const unsealAll = async () => {
    for (const n of nodes) {
      const r = await n.put('/v1/sys/unseal', admin(), { key: a.shares[0] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.sealed, false);
    }
  };

  test('the keystore is initialized once: a second init is refused, through the API and the CLI', async () => {
    await assert.rejects(initStore(b.config, { shares: 1, threshold: 1 }), /already initialized/);
    const inst = await makeInstallation();
    writeFileSync(
      inst.config,
      readFileSync(inst.config, 'utf8').replace('keystore: { sqlite: { path: data/kes.db } }', `keystore: { postgres: { url: "${url}" } }`),
    );
    const r = await kes(['init', '--config', inst.config, '--shares', '1', '--threshold', '1']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /keystore PostgreSQL postgres:\/\/kes:\*\*\*@127\.0\.0\.1:\d+\/kes is already initialized: `kes init` runs once per keystore/,
    );
    assert.doesNotMatch(r.stderr + r.stdout, /kes-password/);
    // every node joined with the first node's shares and serves the config's key
    for (const n of nodes) assert.equal((await n.get('/v1/key/describe/sse-default', admin())).status, 200);
  });

  test('create, rotate, per-key seal, min_decryption_version and delete on one node are obeyed by the others at once', async () => {
    assert.equal((await a.put('/v1/key/create/shared', admin())).status, 200);
    const v1 = await b.put('/v1/key/generate/shared', admin(), {});
    assert.equal(v1.status, 200);
    assert.equal(v1.body.version, 'v1');

    const rotated = await a.put('/v1/key/rotate/shared', admin());
    assert.equal(rotated.body.latest_version, 'v2');
    assert.equal((await b.put('/v1/key/generate/shared', admin(), {})).body.version, 'v2');
    assert.equal((await c.put('/v1/key/generate/shared', admin(), {})).body.version, 'v2');

    assert.equal((await a.put('/v1/key/seal/shared', admin())).status, 200);
    for (const n of [b, c]) {
      const r = await n.put('/v1/key/generate/shared', admin(), {});
      assert.deepEqual([r.status, r.body], [403, { message: 'key is sealed' }]);
    }
    assert.equal((await c.put('/v1/key/unseal/shared', admin())).status, 200);
    assert.equal((await a.put('/v1/key/generate/shared', admin(), {})).status, 200);

    const config = await a.put('/v1/key/config/shared', admin(), { min_decryption_version: 'v2' });
    assert.equal(config.body.min_decryption_version, 'v2');
    const old = await b.put('/v1/key/decrypt/shared', admin(), { ciphertext: v1.body.ciphertext });
    assert.deepEqual([old.status, old.body], [400, { message: 'key version is too old' }]);

    assert.equal((await b.del('/v1/key/delete/shared', admin())).status, 200);
    for (const n of nodes) {
      const r = await n.put('/v1/key/generate/shared', admin(), {});
      assert.deepEqual([r.status, r.body], [404, { message: 'key does not exist' }]);
    }
  });

  test('a change through one node binds every request another node gets after it returned, while that node shares state reads between requests', async () => {
    // Node d reaches the database through a proxy that holds every chunk 100 ms each way: its state reads are
    // long, so requests keep arriving while one is out. A request may only share a read sent after it
    // arrived; one that joined a read already out could be answered from the state before the change.
    const proxy = await delayingProxy(new URL(url), 100);
    const via = new URL(url);
    via.port = String(proxy.port);
    const d = await startTestServer({ postgres: via.toString(), node: 'kes-d', sealPoll: '1h', join: a.shares });
    // Keep-alive connections (as the gateway's): a request reaches d within a millisecond or two of being sent.
    const client = new KesClient({ endpoints: [d.srv.url], ...admin(), ca: a.pki.ca.cert, retries: 0 });
    try {
      assert.equal((await a.put('/v1/key/create/busy', admin())).status, 200);
      /**
       * 16 clients keep node d busy with GenerateKey while `change` runs through node a; each request notes
       * whether it was sent after the change returned, and those must all be answered as `after` says.
       */
      const during = async (change: () => Promise<void>, after: (r: { status: number; body: string }) => boolean): Promise<void> => {
        let changed = false;
        let sentAfter = 0;
        const wrong: unknown[] = [];
        const worker = async () => {
          while (sentAfter < 100) {
            // Sent at random moments over two read times, not in step with the answers: many arrive while a read is out.
            await new Promise((r) => setTimeout(r, Math.random() * 400));
            const isAfter = changed;
            const r = await client.send('PUT', '/v1/key/generate/busy', {});
            const answer = { status: r.status, body: r.body.toString('utf8') };
            if (isAfter) {
              sentAfter++;
              if (!after(answer)) wrong.push(answer);
            }
          }
        };
        const workers = Array.from({ length: 16 }, worker);
        await new Promise((r) => setTimeout(r, 500));
        await change();
        changed = true;
        await Promise.all(workers);
        assert.deepEqual(wrong, [], 'every request sent after the change returned saw it');
      };
      const version = (body: string) => Number((JSON.parse(body) as { version?: string }).version?.slice(1));

      // Rotations one after another under the load: a request sent after rotation N returned uses N or later.
      let rotated = 1;
      const wrong: unknown[] = [];
      let stop = false;
      const load = Array.from({ length: 16 }, async () => {
        while (!stop) {
          await new Promise((r) => setTimeout(r, Math.random() * 400));
          const expected = rotated;
          const r = await client.send('PUT', '/v1/key/generate/busy', {});
          const got = r.status === 200 ? version(r.body.toString('utf8')) : undefined;
          if (got === undefined || got < expected) wrong.push({ expected: `v${expected}`, status: r.status, got });
        }
      });
      for (let v = 2; v <= 12; v++) {
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 300));
        assert.equal((await a.put('/v1/key/rotate/busy', admin())).status, 200);
        rotated = v;
      }
      await new Promise((r) => setTimeout(r, 500));
      stop = true;
      await Promise.all(load);
      assert.deepEqual(wrong, [], 'every request sent after a rotation returned used that version or a later one');

      await during(
        async () => assert.equal((await a.put('/v1/key/seal/busy', admin())).status, 200),
        (r) => r.status === 403 && r.body.includes('key is sealed'),
      );
      assert.equal((await a.put('/v1/key/unseal/busy', admin())).status, 200);
      await during(
        async () => assert.equal((await a.del('/v1/key/delete/busy', admin())).status, 200),
        (r) => r.status === 404 && r.body.includes('key does not exist'),
      );
    } finally {
      client.close();
      await d.close();
      await proxy.close();
    }
  });

  test('delete removes the rows and VACUUMs the key tables', async () => {
    const vacuums = async () =>
      Number(
        (
          await sql.query(
            "SELECT coalesce(sum(vacuum_count), 0) AS n FROM pg_stat_user_tables WHERE relname IN ('kes_keys', 'kes_key_state')",
          )
        ).rows[0].n,
      );
    await a.put('/v1/key/create/to-erase', admin()).expect(200);
    await a.put('/v1/key/rotate/to-erase', admin()).expect(200);
    const before = await vacuums();
    assert.equal((await c.del('/v1/key/delete/to-erase', admin())).status, 200);
    assert.equal(
      (await sql.query("SELECT 1 FROM kes_keys WHERE name = 'to-erase' UNION ALL SELECT 1 FROM kes_key_state WHERE name = 'to-erase'"))
        .rowCount,
      0,
    );
    // Statistics reach pg_stat_* shortly after the VACUUM ends.
    await eventually('both key tables vacuumed', async () => (await vacuums()) >= before + 2);
  });

  test('a row edited in the database is refused by every node, never obeyed', async () => {
    await a.put('/v1/key/create/open-key', admin()).expect(200);
    await a.put('/v1/key/create/sealed-key', admin()).expect(200);
    await a.put('/v1/key/seal/sealed-key', admin()).expect(200);
    // "unseal" the key by copying an unsealed key's state into its row
    await sql.query("UPDATE kes_key_state SET state = (SELECT state FROM kes_key_state WHERE name = 'open-key') WHERE name = 'sealed-key'");
    for (const n of nodes) {
      const r = await n.put('/v1/key/generate/sealed-key', admin(), {});
      assert.equal(r.status, 502);
      assert.match(r.body.message, /^failed to read key: its stored state does not authenticate \(the keystore was changed outside kes\)/);
      assert.equal(r.body.plaintext, undefined);
    }
    assert.equal((await b.put('/v1/key/generate/open-key', admin(), {})).status, 200);
  });

  test('seal on one node seals every node (pushed by NOTIFY); unseal is per node', async () => {
    await b.put('/v1/key/generate/sse-default', admin(), {}).expect(200);
    const r = await a.put('/v1/sys/seal', admin());
    assert.deepEqual([r.status, r.body.sealed], [200, true]);
    // b never polls: only the notification can seal it
    await eventually('b sealed by the notification', async () => (await sealStatus(b)).sealed);
    await eventually('c sealed', async () => (await sealStatus(c)).sealed);
    for (const n of nodes) {
      const g = await n.put('/v1/key/generate/sse-default', admin(), {});
      assert.deepEqual([g.status, g.body], [503, SEALED]);
    }
    // unsealing a does not unseal b
    await a.put('/v1/sys/unseal', admin(), { key: a.shares[0] }).expect(200);
    assert.equal((await a.put('/v1/key/generate/sse-default', admin(), {})).status, 200);
    assert.deepEqual((await b.put('/v1/key/generate/sse-default', admin(), {})).body, SEALED);
    await unsealAll();
  });

  test('a node whose LISTEN connection was killed still seals within its poll interval', async () => {
    await unsealAll();
    const killed = await sql.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kes-seal-listener'");
    assert.equal(killed.rowCount, 3, 'one LISTEN connection per node');
    assert.equal((await sealStatus(c)).sealed, false);
    assert.equal((await b.put('/v1/sys/seal', admin())).status, 200);
    // c re-LISTENs only after an hour: its poll is the only way the seal reaches it
    await eventually('c sealed by its poll', async () => (await sealStatus(c)).sealed);
    assert.deepEqual((await c.put('/v1/key/generate/sse-default', admin(), {})).body, SEALED);
    // a learns of the seal when its LISTEN connection is back (it reads the epoch then); an unseal
    // submitted before that would find it still unsealed and change nothing
    await eventually('a sealed once it listens again', async () => (await sealStatus(a)).sealed);
    await unsealAll();
  });

  test('every node writes its own audit log, naming itself', async () => {
    await a.put('/v1/key/generate/sse-default', admin(), {}).expect(200);
    await b.put('/v1/key/generate/sse-default', admin(), {}).expect(200);
    for (const [n, name] of [
      [a, 'kes-a'],
      [b, 'kes-b'],
    ] as const) {
      await n.srv.flushAudit();
      const lines = readFileSync(n.auditPath, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { node: string; path: string });
      assert.ok(lines.some((l) => l.path === '/v1/key/generate/sse-default'));
      assert.ok(
        lines.every((l) => l.node === name),
        `${name}: ${JSON.stringify(lines.map((l) => l.node))}`,
      );
    }
  });

  test('a node that loses the database answers 503 for key operations instead of serving from memory; it recovers', async () => {
    await unsealAll();
    await b.put('/v1/key/generate/sse-default', admin(), {}).expect(200); // cached on b
    await cluster.stop();
    try {
      for (const n of [a, b]) {
        const r = await n.put('/v1/key/generate/sse-default', admin(), {});
        assert.deepEqual([r.status, r.body], [503, UNAVAILABLE]);
        assert.equal(r.body.plaintext, undefined);
      }
      const ready = await b.get('/v1/ready', admin());
      assert.deepEqual([ready.status, ready.body], [503, { message: 'keystore is not available' }]);
      // A seal still seals the node it reached, and says that the others could not be told.
      const sealed = await a.put('/v1/sys/seal', admin());
      assert.equal(sealed.status, 503);
      assert.match(sealed.body.message, /^this node is sealed, but the keystore did not record the seal/);
      assert.equal((await sealStatus(a)).sealed, true);
    } finally {
      await cluster.start();
    }
    await eventually('b serves again', async () => (await b.put('/v1/key/generate/sse-default', admin(), {})).status === 200, 15_000);
    await eventually('a unseals again', async () => (await a.put('/v1/sys/unseal', admin(), { key: a.shares[0] })).status === 200, 15_000);
    assert.equal((await a.put('/v1/key/generate/sse-default', admin(), {})).status, 200);
  });
});

/** A TCP proxy to `target` (host:port of a URL) that delivers every chunk, either way, `delayMs` late and in order. */
async function delayingProxy(target: URL, delayMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => setTimeout(() => to.write(chunk), delayMs));
      from.on('end', () => setTimeout(() => to.end(), delayMs));
      from.on('error', () => to.destroy());
      from.on('close', () => sockets.delete(from));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
