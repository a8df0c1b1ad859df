// What the admin GET status and `kesgate status` say of the backend, on both layouts: each store's kind and
// place, whether it answers (a cheap probe each) and its schema version, and the gateways sharing the
// metadata store (their heartbeats). On the shared layout: two gateways list each other, a gateway that
// stopped drops out, a store that stops answering shows as unreachable (and the page still answers), and
// neither the database password nor the upstream's keys ever appear.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CliRun } from '../helpers/cli.js';
import { runKesgateInProcess } from '../helpers/kesgate-in-process.js';
import type { GatewayStatus } from '../../src/admin/status.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/storage/metadata/postgres/index.js';
import { SCHEMA_VERSION as SQLITE_SCHEMA_VERSION } from '../../src/storage/metadata/sqlite/schema.js';
import { sharedBackendSkipReason, startSharedBackend, type SharedBackend } from '../helpers/shared-backend.js';
import { startFaultProxy, type FaultProxy } from '../helpers/upstreams.js';
import { ACCESS_KEY, SECRET_KEY, startKes, startTestGateway, type TestGateway, type TestKes } from './helpers.js';

/** `kesgate status` against the gateway, as an operator runs it: in this process (test/cli/cli.test.ts runs the binary). */
function kesgateStatus(t: TestGateway, json = false): Promise<CliRun> {
  const args = ['status', '--endpoint', t.gw.url, '--access-key', ACCESS_KEY, '--secret-key', SECRET_KEY, ...(json ? ['--json'] : [])];
  return runKesgateInProcess(args);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('status of the embedded layout', () => {
  let kes: TestKes;
  let t: TestGateway;
  before(async () => {
    kes = await startKes();
    t = await startTestGateway(kes);
  });
  after(async () => {
    await t?.close();
    await kes?.close();
  });

  test('shows both stores answering, the SQLite schema version, and this gateway alone', async () => {
    const s = await t.admin.status();
    assert.equal(s.backend.type, 'fs');
    assert.equal(s.backend.health.metadata.reachable, true);
    assert.equal(s.backend.health.metadata.schemaVersion, SQLITE_SCHEMA_VERSION);
    assert.equal(s.backend.health.blobs.reachable, true);
    assert.equal(s.backend.health.blobs.schemaVersion, undefined);
    assert.equal(s.instance, t.gw.svc.instance.id);
    assert.deepEqual(
      s.backend.gateways?.map(({ id, address, self }) => ({ id, address, self })),
      [{ id: s.instance, address: t.gw.url, self: true }],
    );
    const [only] = s.backend.gateways!;
    assert.ok(Date.parse(only!.lastSeen) >= Date.parse(only!.startedAt));

    const cli = await kesgateStatus(t);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(
      cli.stdout,
      new RegExp(`^ +metadata reachable \\(schema ${SQLITE_SCHEMA_VERSION}, \\d+ ms\\), blobs reachable \\(\\d+ ms\\)$`, 'm'),
    );
    assert.match(
      cli.stdout,
      new RegExp(`^gateway +${s.instance} at ${escape(t.gw.url)}, started \\S+, last seen \\S+  \\(this one\\)$`, 'm'),
    );
  });
});

describe('status of the shared layout', { skip: sharedBackendSkipReason() }, () => {
  let kes: TestKes;
  let shared: SharedBackend;
  let url: string;
  let a: TestGateway;
  let b: TestGateway | undefined;
  let c: TestGateway | undefined;
  let blobFaults: FaultProxy | undefined;
  let failBlobs = false;

  before(async () => {
    kes = await startKes();
    shared = await startSharedBackend({ ownPostgres: true });
    const fresh = await shared.backend();
    url = fresh.url;
    a = await startTestGateway(kes, { backend: fresh.backend });
    b = await startTestGateway(kes, { backend: fresh.backend });
    // A third gateway reaches the upstream through a proxy that can make it fail.
    blobFaults = await startFaultProxy(shared.upstream.endpoint, () =>
      failBlobs ? { status: 503, code: 'ServiceUnavailable' } : 'forward',
    );
    c = await startTestGateway(kes, {
      backend: { ...fresh.backend, blobs: { s3: { ...fresh.backend.blobs.s3, endpoint: blobFaults.endpoint } } },
    });
  });
  after(async () => {
    for (const t of [a, b, c]) await t?.close().catch(() => undefined);
    await blobFaults?.close();
    await shared?.close();
    await kes?.close();
  });

  /** Secrets of this layout that no status may show. */
  function secrets(): string[] {
    return [decodeURIComponent(new URL(url).password), shared.upstream.secretKey, shared.upstream.accessKey, SECRET_KEY];
  }

  test('shows both stores answering, the PostgreSQL schema version, and every gateway sharing them, without secrets', async () => {
    const s = await a.admin.status();
    assert.equal(s.backend.type, 'postgres+s3');
    assert.deepEqual(s.backend.metadata, {
      kind: 'postgres',
      host: '127.0.0.1',
      port: shared.postgres.port,
      database: new URL(url).pathname.slice(1),
    });
    assert.equal(s.backend.health.metadata.reachable, true);
    assert.equal(s.backend.health.metadata.schemaVersion, POSTGRES_SCHEMA_VERSION);
    assert.equal(s.backend.health.blobs.reachable, true);
    const listed = s.backend.gateways!.map(({ id, address, self }) => ({ id, address, self }));
    assert.deepEqual(listed, [
      { id: a.gw.svc.instance.id, address: a.gw.url, self: true },
      { id: b!.gw.svc.instance.id, address: b!.gw.url, self: false },
      { id: c!.gw.svc.instance.id, address: c!.gw.url, self: false },
    ]);
    const fromB = await b!.admin.status();
    assert.deepEqual(
      fromB.backend.gateways!.map((g) => [g.id, g.self]),
      listed.map((g) => [g.id, g.id === b!.gw.svc.instance.id]),
      'B sees the same gateways, itself as "this one"',
    );

    const cli = await kesgateStatus(a);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(
      cli.stdout,
      new RegExp(
        `^backend +metadata postgres \\(host 127\\.0\\.0\\.1, port ${shared.postgres.port}, database \\S+\\), blobs s3 \\(endpoint ${escape(shared.upstream.endpoint)}, `,
        'm',
      ),
    );
    assert.match(
      cli.stdout,
      new RegExp(`^ +metadata reachable \\(schema ${POSTGRES_SCHEMA_VERSION}, \\d+ ms\\), blobs reachable \\(\\d+ ms\\)$`, 'm'),
    );
    assert.match(cli.stdout, new RegExp(`^gateway +${a.gw.svc.instance.id} at ${escape(a.gw.url)}, .*\\(this one\\)$`, 'm'));
    assert.match(cli.stdout, new RegExp(`^gateway +${b!.gw.svc.instance.id} at ${escape(b!.gw.url)}, started \\S+, last seen \\S+$`, 'm'));

    const json = await kesgateStatus(a, true);
    for (const text of [JSON.stringify(s), JSON.stringify(fromB), cli.stdout, json.stdout]) {
      for (const secret of secrets()) assert.equal(text.includes(secret), false, 'no password or key in a status');
    }
  });

  test('a gateway that stopped is no longer listed', async () => {
    const gone = b!.gw.svc.instance.id;
    await b!.close();
    b = undefined;
    const s = await a.admin.status();
    assert.deepEqual(
      s.backend.gateways!.map((g) => g.id),
      [a.gw.svc.instance.id, c!.gw.svc.instance.id],
    );
    assert.equal(
      s.backend.gateways!.some((g) => g.id === gone),
      false,
    );
  });

  test('an upstream that fails shows the blob store unreachable, and reachable again once it answers', async () => {
    failBlobs = true;
    const down = await c!.admin.status();
    assert.equal(down.backend.health.blobs.reachable, false);
    assert.match(down.backend.health.blobs.error ?? '', /unavailable|no answer/i);
    assert.equal(down.backend.health.metadata.reachable, true, 'the database still answers');
    assert.equal(down.backend.stats?.buckets, 0);
    const cli = await kesgateStatus(c!);
    assert.equal(cli.code, 1, 'a store that does not answer is an error, as `vault status` exits');
    assert.match(cli.stdout, /blobs UNREACHABLE \(/);
    assert.match(cli.stdout, /^ready +NO: blob store unreachable$/m);
    for (const secret of secrets()) assert.equal(JSON.stringify(down).includes(secret) || cli.stdout.includes(secret), false);

    failBlobs = false;
    const up = await c!.admin.status();
    assert.equal(up.backend.health.blobs.reachable, true);
  });

  test('a database that stopped shows the metadata store unreachable (the page still answers), and reachable again once it is back', async () => {
    await shared.postgres.stop();
    let down: GatewayStatus;
    try {
      down = await a.admin.status();
    } finally {
      await shared.postgres.start();
    }
    assert.equal(down.backend.health.metadata.reachable, false);
    assert.match(down.backend.health.metadata.error ?? '', /unavailable|no answer/i);
    assert.equal(down.backend.stats, undefined, 'no totals without the database');
    assert.equal(down.backend.gateways, undefined);
    assert.equal(down.backend.health.blobs.reachable, true, 'the upstream still answers');
    for (const secret of secrets()) assert.equal(JSON.stringify(down).includes(secret), false);

    const up = await a.admin.status();
    assert.equal(up.backend.health.metadata.reachable, true, 'the same gateway, without a restart');
    assert.equal(up.backend.health.metadata.schemaVersion, POSTGRES_SCHEMA_VERSION);
    assert.ok(up.backend.gateways!.some((g) => g.self));
  });
});
