// `kes status`, `kes seal` and `kes unseal` (and their `kes sys ...` names) with several endpoints, against two
// real kes servers (in this process) over one keystore file: one line per node, the same shares for each node (read
// once), and `kes status` exiting as `vault status` does (0 all unsealed, 2 a node sealed, 1 a node unreachable).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startKesNodes, type KesNodes } from '../helpers/kes-nodes.js';
import { freePort, kes, stopAllChildren } from './helpers.js';

let nodes: KesNodes;
let env: Record<string, string>;
let a: string;
let b: string;
let dead: string;

before(async () => {
  nodes = await startKesNodes({ count: 2, shares: 3, threshold: 2, inProcess: true });
  env = nodes.env('admin');
  [a, b] = nodes.urls as [string, string];
  dead = `https://127.0.0.1:${await freePort()}`;
});
after(async () => {
  await nodes?.close();
  await stopAllChildren();
});

interface NodeLine {
  endpoint: string;
  state: string;
  error?: string;
}

/** Each node's seal state as kes itself says (not through the CLI). */
async function sealed(): Promise<boolean[]> {
  return Promise.all(
    [0, 1].map(async (i) => {
      const c = nodes.client({ nodes: [i], retries: 0 });
      try {
        return (await c.sealStatus()).sealed;
      } finally {
        c.close();
      }
    }),
  );
}

const line = (stdout: string, endpoint: string): string => stdout.split('\n').find((l) => l.startsWith(`${endpoint} `)) ?? '';

test('status with KES_SERVER=a,b: one line per node, exit 0 when every node is unsealed; `kes sys status` is the same', async () => {
  const r = await kes(['status'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').length, 2);
  assert.match(line(r.stdout, a), /^\S+\s+unsealed\s+\(kes /);
  assert.match(line(r.stdout, b), /^\S+\s+unsealed\s+\(kes /);
  const sys = await kes(['sys', 'status', '--json'], { env });
  assert.equal(sys.code, 0, sys.stderr);
  const json = JSON.parse(sys.stdout) as { nodes: NodeLine[] };
  assert.deepEqual(
    json.nodes.map((n) => [n.endpoint, n.state]),
    [
      [a, 'unsealed'],
      [b, 'unsealed'],
    ],
  );
});

test('one node sealed: status exits 2 and says which; a single endpoint that is sealed exits 2 too', async () => {
  // Seal is cluster-wide (the nodes share a keystore): a node sealed on its own is one that restarted.
  await nodes.kill(1);
  await nodes.start(1);
  assert.deepEqual(await sealed(), [false, true]);
  const r = await kes(['status'], { env });
  assert.equal(r.code, 2, r.stderr);
  assert.match(line(r.stdout, a), /\bunsealed\b/);
  assert.match(line(r.stdout, b), /\bsealed \(unseal progress 0 of 2\)/);
  const one = await kes(['status', '--server', b], { env });
  assert.equal(one.code, 2);
  assert.match(one.stdout, /state\s+sealed/);
  const other = await kes(['status', '--server', a], { env });
  assert.equal(other.code, 0, other.stderr);
});

test('seal through one node seals every node sharing the keystore', async () => {
  await nodes.unseal(1);
  assert.deepEqual(await sealed(), [false, false]);
  const seal = await kes(['seal', '--server', a], { env });
  assert.equal(seal.code, 0, seal.stderr);
  // The other node learns of it from the keystore's seal epoch: at once for key operations, within the
  // poll interval (under a second) for its seal status.
  let states = await sealed();
  for (let i = 0; i < 20 && !states[1]; i++) {
    await new Promise((r) => setTimeout(r, 100));
    states = await sealed();
  }
  assert.deepEqual(states, [true, true]);
  for (const i of [0, 1]) await nodes.unseal(i);
});

test('unseal with a repeated --server and the shares on stdin: read once, given to each sealed node; one line per node', async () => {
  // Both sealed now (each node asked on its own; a node already sealed is left as it is).
  const seal = await kes(['sys', 'seal', '--server', a, '--server', b], { env });
  assert.equal(seal.code, 0, seal.stderr);
  assert.match(line(seal.stdout, a), /\ssealed$/);
  assert.match(line(seal.stdout, b), /\s(already )?sealed$/);
  assert.deepEqual(await sealed(), [true, true]);

  const r = await kes(['unseal', '--server', a, '--server', b], { env, input: `${nodes.shares[2]}\n${nodes.shares[0]}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.match(line(r.stdout, a), /\sunsealed$/);
  assert.match(line(r.stdout, b), /\sunsealed$/);
  assert.deepEqual(await sealed(), [false, false]);

  // Again: nothing to do on either.
  const again = await kes(['unseal', '--json'], { env, input: '' });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    (JSON.parse(again.stdout) as { nodes: Array<{ result: string }> }).nodes.map((n) => n.result),
    ['already unsealed', 'already unsealed'],
  );
});

test('too few shares: each node says it is still sealed, with its progress; --reset clears each', async () => {
  await kes(['seal', '--server', `${a},${b}`], { env });
  const r = await kes(['unseal', '--share', nodes.shares[1]!], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(line(r.stdout, a), /still sealed: 1 of 2 shares submitted/);
  assert.match(line(r.stdout, b), /still sealed: 1 of 2 shares submitted/);
  // --reset forgets them on each node; then the threshold unseals both.
  const reset = await kes(['unseal', '--reset'], { env });
  assert.equal(reset.code, 0, reset.stderr);
  assert.match(line(reset.stdout, a), /unseal progress reset: sealed \(unseal progress 0 of 2\)/);
  assert.match(line(reset.stdout, b), /unseal progress reset: sealed \(unseal progress 0 of 2\)/);
  const one = await kes(['unseal', '--share', nodes.shares[1]!], { env });
  assert.match(line(one.stdout, b), /still sealed: 1 of 2 shares submitted/);
  const done = await kes(['unseal', '--share', nodes.shares[2]!], { env });
  assert.equal(done.code, 0, done.stderr);
  assert.deepEqual(await sealed(), [false, false]);
});

test('a node unreachable: status and unseal name it on its line and exit 1; the other nodes are still reported', async () => {
  const withDead = { env: { ...env, KES_SERVER: `${a},${dead}` } };
  const r = await kes(['status'], withDead);
  assert.equal(r.code, 1);
  assert.match(line(r.stdout, a), /\bunsealed\b/);
  assert.match(line(r.stdout, dead), /ERROR: kes is unavailable.*ECONNREFUSED/);

  // Sealed and unreachable: the error wins (the unreachable node's state is unknown).
  await nodes.kill(1);
  await nodes.start(1);
  const both = await kes(['status', '--server', `${b},${dead}`], { env });
  assert.equal(both.code, 1);
  assert.match(line(both.stdout, b), /\bsealed\b/);

  const u = await kes(['unseal', '--server', `${dead},${b}`, '--share', nodes.shares[0]!, '--share', nodes.shares[1]!], { env });
  assert.equal(u.code, 1);
  assert.match(line(u.stdout, dead), /ERROR: kes is unavailable/);
  assert.match(line(u.stdout, b), /\sunsealed$/, 'a node after the unreachable one is still unsealed');
  assert.deepEqual(await sealed(), [false, false]);
});
