// The client over several real kes processes (one keystore file, each node unsealed with the same shares):
// requests spread over the nodes, a node killed with SIGKILL mid-stream costs no request and is probed back
// once restarted and unsealed, a sealed node and a stalled one are failed over, and an HTTP answer such as
// a 404 is final (never sent to another node).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { KesError, type KesClient } from '../src/index.js';
import { startKesNodes, type KesNodes } from '../../kes/test/helpers/kes-nodes.js';
import { stopAllChildren } from '../../kes/test/cli/helpers.js';

let kes: KesNodes;
let stalled: Server;
let stalledUrl: string;
const stalledSockets: Socket[] = [];

before(async () => {
  kes = await startKesNodes({ count: 2, keys: ['nodes-key'] });
  // Accepts TCP connections and never says a word (not even the TLS handshake).
  stalled = createServer((s) => stalledSockets.push(s));
  await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
  stalledUrl = `https://127.0.0.1:${(stalled.address() as { port: number }).port}`;
});
after(async () => {
  for (const s of stalledSockets) s.destroy();
  stalled.close();
  await kes.close();
  await stopAllChildren();
});

/** A counter of node `i`'s /v1/metrics. */
async function counter(i: number, name: string): Promise<number> {
  const c = kes.client({ nodes: [i], retries: 0 });
  try {
    const text = (await c.call('GET', '/v1/metrics')).body.toString('utf8');
    return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  } finally {
    c.close();
  }
}

/** Resolves once `c` reports node `i` up again (its probe found it answering and unsealed). */
async function untilUp(c: KesClient, i: number): Promise<void> {
  while (!c.nodes()[i]!.up) await sleep(50);
}

/** `workers` callers doing generate + decrypt until `stop()`; every failure is kept. */
function traffic(c: KesClient, workers: number) {
  let running = true;
  let ok = 0;
  const failures: unknown[] = [];
  const done = Promise.all(
    Array.from({ length: workers }, async () => {
      while (running) {
        try {
          const dk = await c.generateKey('nodes-key');
          assert.ok((await c.decryptKey('nodes-key', dk.ciphertext)).equals(dk.plaintext));
          ok++;
        } catch (err) {
          failures.push(err);
        }
      }
    }),
  );
  return {
    get ok() {
      return ok;
    },
    failures,
    async stop() {
      running = false;
      await done;
    },
  };
}

test('requests spread over every node that is up', async () => {
  const c = kes.client({ who: 'gateway' });
  try {
    const before = [await counter(0, 'kes_http_request_success'), await counter(1, 'kes_http_request_success')];
    for (let i = 0; i < 20; i++) await c.generateKey('nodes-key');
    const served = [
      (await counter(0, 'kes_http_request_success')) - before[0]!,
      (await counter(1, 'kes_http_request_success')) - before[1]!,
    ];
    // Each count includes the one /v1/metrics read of before.
    assert.equal(served[0]! + served[1]!, 22, `served ${served}`);
    assert.ok(served[0]! > 1 && served[1]! > 1, `both nodes served generate calls: ${served}`);
    assert.deepEqual(
      c.nodes().map((n) => n.up),
      [true, true],
    );
  } finally {
    c.close();
  }
});

test('a node killed with SIGKILL mid-stream costs no request; restarted and unsealed, it takes traffic again', async () => {
  const changes: string[] = [];
  const c = kes.client({
    who: 'gateway',
    probeMs: 50,
    probeMaxMs: 200,
    onNodeChange: (n) => changes.push(`${n.endpoint} ${n.up ? 'up' : 'down'}`),
  });
  const load = traffic(c, 8);
  try {
    while (load.ok < 50) await sleep(10);
    const inFlight = c.nodes()[1]!.inFlight;
    await kes.kill(1);
    const atKill = load.ok;
    while (load.ok < atKill + 100) await sleep(10);
    await load.stop();
    assert.deepEqual(load.failures, [], `the ${inFlight} requests in flight to the killed node were answered by the other one`);
    const dead = c.nodes()[1]!;
    assert.equal(dead.up, false);
    assert.match(dead.lastError ?? '', /ECONNREFUSED|ECONNRESET|socket hang up|closed|aborted/);
    assert.equal(c.nodes()[0]!.up, true);

    // Back, but sealed: the probe finds it sealed and keeps it out.
    await kes.start(1);
    await sleep(400);
    assert.equal(c.nodes()[1]!.up, false, 'a sealed node takes no traffic');
    assert.equal(c.nodes()[1]!.sealed, true);
    await kes.unseal(1);
    await untilUp(c, 1);
    const before = await counter(1, 'kes_http_request_success');
    for (let i = 0; i < 20; i++) await c.generateKey('nodes-key');
    assert.ok((await counter(1, 'kes_http_request_success')) - before > 2, 'the restarted node serves generate calls again');
    assert.deepEqual(changes, [`${kes.urls[1]} down`, `${kes.urls[1]} up`], 'told once when it went down, once when it came back');
  } finally {
    await load.stop();
    c.close();
  }
});

test('a sealed node: its 503 moves the request on to a node that answers; all sealed: the 503 is the answer', async () => {
  await kes.kill(1);
  await kes.start(1); // sealed: no unseal file
  const c = kes.client({ who: 'gateway', nodes: [1, 0], probeMs: 50, probeMaxMs: 100 });
  try {
    for (let i = 0; i < 10; i++) assert.equal((await c.generateKey('nodes-key')).plaintext.length, 32);
    const [sealed, open] = c.nodes();
    assert.equal(sealed!.up, false);
    assert.equal(sealed!.sealed, true);
    assert.match(sealed!.lastError ?? '', /system is sealed/);
    assert.equal(open!.up, true);
  } finally {
    c.close();
  }
  // Both endpoints sealed (the same node twice): the answer is kes's 503, after asking each once, not "unavailable".
  const both = kes.client({ who: 'gateway', nodes: [1, 1], retries: 2 });
  try {
    await assert.rejects(
      both.generateKey('nodes-key'),
      (e: unknown) => e instanceof KesError && e.status === 503 && e.message === 'system is sealed',
    );
    for (const n of both.nodes()) assert.match(n.lastError ?? '', /answered 503: system is sealed/);
  } finally {
    both.close();
    await kes.unseal(1);
  }
});

test('a stalled node (accepts TCP, never answers) hits the timeout and is failed over, then left alone', async () => {
  // No probe within the test: every connection to the stalled node is live traffic.
  const c = kes.client({ who: 'gateway', endpoints: [stalledUrl, kes.urls[0]!], timeoutMs: 300, probeMs: 600_000 });
  try {
    const before = stalledSockets.length;
    for (let i = 0; i < 10; i++) assert.equal((await c.generateKey('nodes-key')).plaintext.length, 32);
    assert.equal(
      stalledSockets.length - before,
      1,
      'one request met the stalled node; the other nine went straight to the one that answers',
    );
    const [s, ok] = c.nodes();
    assert.equal(s!.up, false);
    assert.match(s!.lastError ?? '', /no answer within 300 ms/);
    assert.equal(ok!.up, true);
  } finally {
    c.close();
  }
});

test('a 404 (or any answer but 503) is final: it reaches one node once and is never retried on another', async () => {
  const c = kes.client({ who: 'admin', retries: 3 });
  try {
    const before = (await counter(0, 'kes_http_request_error')) + (await counter(1, 'kes_http_request_error'));
    for (let i = 0; i < 4; i++) {
      await assert.rejects(
        c.describeKey('no-such-key'),
        (e: unknown) => e instanceof KesError && e.status === 404 && e.message === 'key does not exist',
      );
    }
    const after = (await counter(0, 'kes_http_request_error')) + (await counter(1, 'kes_http_request_error'));
    assert.equal(after - before, 4, 'four calls, four requests in all');
    assert.deepEqual(
      c.nodes().map((n) => n.up),
      [true, true],
      'a 404 marks no node down',
    );
  } finally {
    c.close();
  }
});
