// The barrier over a real SQLite keystore: initialization, Shamir unsealing (every T-subset),
// refusal of short, duplicate, foreign and mixed share sets, and sealing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Barrier } from '../src/barrier/barrier.js';
import { SqliteKeyStore } from '../src/keystore/sqlite-store.js';
import { KesError } from '../src/errors.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir();
let counter = 0;
function freshStore(): SqliteKeyStore {
  return new SqliteKeyStore(join(dir, `store-${counter++}.db`));
}

function subsets<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first as T, ...s]), ...subsets(rest, k)];
}

async function rejects400(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof KesError && e.status === 400);
}

test('3-of-5: every 3-subset unseals, in any order; 2 shares do not', async () => {
  const store = freshStore();
  const barrier = await Barrier.open(store);
  const shares = await barrier.initialize(5, 3);
  assert.equal(shares.length, 5);
  assert.equal(new Set(shares).size, 5);
  for (const s of shares) assert.match(s, /^[0-9a-f]{66}$/);
  assert.deepEqual(barrier.status(), { initialized: true, sealed: true, t: 3, n: 5, progress: 0 });

  const sets = subsets(shares, 3);
  assert.equal(sets.length, 10);
  for (const set of sets) {
    for (const share of [...set].reverse()) await barrier.unseal(share);
    assert.equal(barrier.sealed, false, 'a 3-subset unseals');
    const wrapped = barrier.wrap(Buffer.from('aad'), Buffer.from('value'));
    barrier.seal();
    // A reopened barrier (same file) unseals with the same shares and opens what was wrapped.
    const again = await Barrier.open(store);
    for (const share of set) await again.unseal(share);
    assert.deepEqual(again.unwrap(Buffer.from('aad'), wrapped), Buffer.from('value'));
    again.seal();
  }
  for (const pair of subsets(shares, 2)) {
    const s = await barrier.unseal(pair[0]!);
    assert.equal(s.progress, 1);
    const s2 = await barrier.unseal(pair[1]!);
    assert.equal(s2.progress, 2);
    assert.equal(s2.sealed, true);
    barrier.resetUnseal();
  }
  await store.close();
});

test('a duplicate share is counted once and cannot stand in for a missing one', async () => {
  const store = freshStore();
  const barrier = await Barrier.open(store);
  const shares = await barrier.initialize(3, 2);
  assert.equal((await barrier.unseal(shares[0]!)).progress, 1);
  assert.equal((await barrier.unseal(shares[0]!)).progress, 1);
  assert.equal((await barrier.unseal(shares[0]!.toUpperCase())).progress, 1, 'same share, other case');
  assert.equal(barrier.sealed, true);
  await barrier.unseal(shares[2]!);
  assert.equal(barrier.sealed, false);
  await store.close();
});

test('shares from another init, or mixed with it, are refused and progress resets', async () => {
  const storeA = freshStore();
  const storeB = freshStore();
  const a = await Barrier.open(storeA);
  const b = await Barrier.open(storeB);
  const sharesA = await a.initialize(3, 2);
  const sharesB = await b.initialize(3, 2);
  // all foreign
  await a.unseal(sharesB[0]!);
  await rejects400(a.unseal(sharesB[1]!));
  assert.deepEqual(a.status(), { initialized: true, sealed: true, t: 2, n: 3, progress: 0 });
  // mixed
  await a.unseal(sharesA[0]!);
  await rejects400(a.unseal(sharesB[1]!));
  assert.equal(a.status().progress, 0);
  assert.equal(a.sealed, true);
  // a foreign share whose x-coordinate collides with the pending one is also refused
  const sameX = sharesB.find((s) => s.slice(64) === sharesA[1]!.slice(64));
  if (sameX) {
    await a.unseal(sharesA[1]!);
    await rejects400(a.unseal(sameX));
  }
  // the right shares still work afterwards
  await a.unseal(sharesA[1]!);
  await a.unseal(sharesA[2]!);
  assert.equal(a.sealed, false);
  await storeA.close();
  await storeB.close();
});

test('malformed shares are a 400 that names the expected form, without touching progress', async () => {
  const store = freshStore();
  const barrier = await Barrier.open(store);
  const shares = await barrier.initialize(2, 2);
  await barrier.unseal(shares[0]!);
  for (const bad of ['', 'zz', shares[1]!.slice(2), `${shares[1]!}00`]) {
    await assert.rejects(
      barrier.unseal(bad),
      (e: unknown) => e instanceof KesError && e.status === 400 && /66 hexadecimal/.test(e.message),
    );
  }
  assert.equal(barrier.status().progress, 1);
  await store.close();
});

test('1-of-1: the single share unseals (the unseal key itself, with x = 0)', async () => {
  const store = freshStore();
  const barrier = await Barrier.open(store);
  const [share] = await barrier.initialize(1, 1);
  assert.match(share!, /^[0-9a-f]{64}00$/);
  await barrier.unseal(share!);
  assert.equal(barrier.sealed, false);
  await store.close();
});

test('N and T are validated: 1 ≤ T ≤ N ≤ 255 and T ≥ 2 when N > 1', async () => {
  for (const [n, t] of [
    [0, 0],
    [1, 0],
    [2, 1],
    [3, 4],
    [256, 2],
    [5, 1],
    [2.5, 2],
  ] as const) {
    const barrier = new Barrier(freshStore());
    await assert.rejects(barrier.initialize(n, t), (e: unknown) => e instanceof KesError && e.status === 400, `${t}-of-${n}`);
    assert.equal(barrier.initialized, false);
  }
  const barrier = new Barrier(freshStore());
  assert.equal((await barrier.initialize(255, 2)).length, 255);
});

test('a second init is refused and keeps the first root key', async () => {
  const store = freshStore();
  const barrier = await Barrier.open(store);
  const shares = await barrier.initialize(1, 1);
  await assert.rejects(barrier.initialize(1, 1), /already initialized/);
  await assert.rejects((await Barrier.open(store)).initialize(3, 2), /already initialized/);
  await barrier.unseal(shares[0]!);
  assert.equal(barrier.sealed, false);
  await store.close();
});

test('seal is idempotent, drops the root key and notifies listeners; wrap then says sealed', async () => {
  const store = freshStore();
  const barrier = await Barrier.open(store);
  const [share] = await barrier.initialize(1, 1);
  let notified = 0;
  barrier.onSeal(() => notified++);
  await barrier.unseal(share!);
  const w = barrier.wrap(Buffer.from('x'), Buffer.from('y'));
  barrier.seal();
  barrier.seal();
  assert.equal(barrier.sealed, true);
  assert.equal(notified, 2);
  assert.throws(
    () => barrier.wrap(Buffer.from('x'), Buffer.from('y')),
    (e: unknown) => e instanceof KesError && e.status === 503 && e.message === 'system is sealed',
  );
  assert.throws(() => barrier.unwrap(Buffer.from('x'), w), /system is sealed/);
  await store.close();
});

test('unseal before init is refused', async () => {
  const barrier = new Barrier(freshStore());
  await assert.rejects(barrier.unseal('00'.repeat(33)), /not initialized/);
});
