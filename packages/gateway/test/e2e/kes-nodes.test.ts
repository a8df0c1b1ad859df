// A gateway whose kms.endpoints lists two kes nodes (two real `kes server` processes over one keystore file,
// each unsealed with the same shares), under the load test's workload (scripts/load: clients mixing PUT, GET
// and DELETE under SSE-S3, SSE-KMS and SSE-C, every GET checked against the last PUT): one node killed with
// SIGKILL midway costs no client request beyond those then in flight to it, the status (admin API and
// `kesgate status`) shows the node down, and once restarted and unsealed the gateway uses it again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { CliRun } from '../helpers/cli.js';
import { runKesgateInProcess } from '../helpers/kesgate-in-process.js';
import { startKesNodes, type KesNodes } from '../../../kes/test/helpers/kes-nodes.js';
import { stopAllChildren } from '../../../kes/test/cli/helpers.js';
import { RawS3 } from '../../../../scripts/bench/lib/s3-raw.js';
import { KMS_KEYS, Workload } from '../../../../scripts/load/workload.js';
import { AdminClient } from '../../src/admin/client.js';
import { startGatewayWithAdmin, type AdminGateway } from '../../src/admin/index.js';
import { parseConfig } from '../../src/config/load.js';

const creds = { accessKey: 'kes-nodes-user', secretKey: 'kes-nodes-secret-0123456789', region: 'us-east-1' };

let kes: KesNodes;
let gw: AdminGateway;
let http: RawS3;
let https: RawS3;
let admin: AdminClient;

before(async () => {
  kes = await startKesNodes({ count: 2, keys: ['kesgate-default', ...KMS_KEYS] });
  const certs = kes.inst.certs;
  const config = parseConfig(
    {
      address: '127.0.0.1:0',
      tls: { address: '127.0.0.1:0', cert: join(certs, 'kes.crt'), key: join(certs, 'kes.key') },
      credentials: { accessKey: creds.accessKey, secretKey: creds.secretKey },
      backend: { fs: { path: 'gateway-data' } },
      kms: {
        endpoints: kes.urls,
        cert: join(certs, 'gateway.crt'),
        key: join(certs, 'gateway.key'),
        ca: join(certs, 'ca.crt'),
        defaultKey: 'kesgate-default',
        timeoutMs: 5000,
      },
      log: { level: 'silent' },
    },
    kes.inst.dir,
  );
  gw = await startGatewayWithAdmin(config, { logger: pino({ level: 'silent' }) });
  const ca = kes.pem().ca.toString();
  http = new RawS3({ endpoint: gw.url, creds, maxSockets: 16 });
  https = new RawS3({ endpoint: gw.httpsUrl!, creds, ca, maxSockets: 16 });
  admin = new AdminClient({ endpoint: gw.url, ...creds });
  await http.createBucket('load');
  await http.createBucket('load-2');
});
after(async () => {
  http?.close();
  https?.close();
  await gw?.close();
  await kes?.close();
  await stopAllChildren();
});

function workload(bucket: string, totalOps: number, midway?: () => void): Workload {
  return new Workload({ bucket, clients: 16, keysPerClient: 6, maxSize: 64 * 1024, totalOps, http, https, ...(midway ? { midway } : {}) });
}

/** `kesgate status` as an operator runs it. */
function kesgateStatus(): Promise<CliRun> {
  // In this process (what the binary runs; test/cli/cli.test.ts runs the binary itself).
  return runKesgateInProcess(['status', '--endpoint', gw.url, '--access-key', creds.accessKey, '--secret-key', creds.secretKey]);
}

/** Requests node `i` has answered with 2xx (its own /v1/metrics; the read itself counts once). */
async function served(i: number): Promise<number> {
  const c = kes.client({ nodes: [i], retries: 0 });
  try {
    const text = (await c.call('GET', '/v1/metrics')).body.toString('utf8');
    return Number(/^kes_http_request_success (\d+)/m.exec(text)?.[1] ?? 0);
  } finally {
    c.close();
  }
}

const failedOps = (w: Workload): number => Object.values(w.tally.unexpected).reduce((a, b) => a + b, 0) + w.tally.mismatches.length;

test('kill -9 one of two kes nodes under load: no failed request beyond those in flight to it; restarted and unsealed, it is used again', async (t) => {
  const before = await served(1);
  let inFlightAtKill = -1;
  let failuresAtKill = 0;
  let servedBeforeKill = 0;
  let killed: Promise<void> | undefined;
  // 800 operations: about 360 PUTs and 300 GETs, a few hundred kes requests on either side of the kill.
  const first = workload('load', 800, () => {
    killed = (async () => {
      servedBeforeKill = (await served(1)) - before;
      // Midway through the workload: the gateway's requests in flight to node 1 are the ones that may fail.
      ({ inFlight: inFlightAtKill, failures: failuresAtKill } = gw.kes.nodes()[1]!);
      await kes.kill(1);
    })();
  });
  await first.run();
  await killed;
  assert.ok(inFlightAtKill >= 0, 'the node was killed midway');
  assert.ok(servedBeforeKill > 1, 'node 1 served the gateway before it was killed');
  // Every kes request in flight to node 1 when it died failed there once: its attempts that failed bound them.
  const failedOnKilled = gw.kes.nodes()[1]!.failures - failuresAtKill;
  t.diagnostic(
    `${failedOps(first)} failed client requests; ${inFlightAtKill} kes requests in flight to node 1 a moment before the kill, ${failedOnKilled} attempts failed on it`,
  );
  assert.ok(
    failedOps(first) <= failedOnKilled,
    `failed: ${JSON.stringify(first.tally.unexpected)} ${first.tally.mismatches.join('; ')}; attempts that failed on the killed node: ${failedOnKilled}`,
  );
  assert.ok(
    (first.tally.count.GET ?? 0) > 100 && (first.tally.count.PUT ?? 0) > 100,
    `the workload ran: ${JSON.stringify(first.tally.count)}`,
  );

  // The status tells the operator: node 1 offline and out of the gateway's traffic, node 0 serving.
  const s = await admin.status();
  const [up, down] = s.kes.endpoints;
  assert.deepEqual([up!.endpoint, up!.online, up!.sealed, up!.traffic?.up], [kes.urls[0], true, false, true]);
  assert.deepEqual([down!.endpoint, down!.online, down!.traffic?.up], [kes.urls[1], false, false]);
  assert.match(down!.traffic?.lastError ?? '', /ECONNREFUSED|ECONNRESET|socket hang up|aborted/);
  const cli = await kesgateStatus();
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, new RegExp(`^kes\\s+${kes.urls[0]!.replace(/[.]/g, '\\.')}\\s+online, unsealed, takes traffic`, 'm'));
  assert.match(
    cli.stdout,
    new RegExp(`^kes\\s+${kes.urls[1]!.replace(/[.]/g, '\\.')}\\s+OFFLINE \\(.*\\), NO TRAFFIC \\(marked down: `, 'm'),
  );

  // Restarted it is sealed: still no traffic, and the status says SEALED.
  await kes.start(1);
  const sealed = (await admin.status()).kes.endpoints[1]!;
  assert.deepEqual([sealed.online, sealed.sealed], [true, true]);
  await kes.unseal(1);
  while (!gw.kes.nodes()[1]!.up) await sleep(50); // the client's probe finds it unsealed
  const back = await served(1);
  const second = workload('load-2', 400);
  await second.run();
  assert.equal(failedOps(second), 0, JSON.stringify(second.tally.unexpected));
  assert.ok((await served(1)) - back > 1, 'the restarted node serves the gateway again');
  // Every key the first workload wrote reads back as it was last stored.
  const failedBefore = failedOps(first);
  assert.equal(await first.verifyAll(), 16 * 6);
  assert.equal(failedOps(first), failedBefore, JSON.stringify(first.tally.unexpected));
  const after = (await admin.status()).kes.endpoints;
  assert.deepEqual(
    after.map((e) => [e.online, e.sealed, e.traffic?.up]),
    [
      [true, false, true],
      [true, false, true],
    ],
  );
});
