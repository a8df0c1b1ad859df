// The key cache on its own: copies out, one load for concurrent misses, the size and time bounds, and every
// key it lets go of overwritten with zeros.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { LRUCache } from 'lru-cache';
import { KeyCache } from '../../src/kms/key-cache.js';

/** The cache's own copy of a key (even an expired one), to see that it is wiped when it leaves. */
const held = (c: KeyCache, id: string): Buffer | undefined =>
  (c as unknown as { lru: LRUCache<string, Buffer> }).lru.peek(id, { allowStale: true });
const zero = (b: Buffer): boolean => b.every((x) => x === 0);

describe('KeyCache', () => {
  test("hands out copies; concurrent misses share one load; the loader's buffer is wiped", async () => {
    const lookups: string[] = [];
    const c = new KeyCache({ maxEntries: 10, ttlSeconds: 60 }, (r) => lookups.push(r));
    const key = randomBytes(32);
    const loaded = Buffer.from(key);
    let loads = 0;
    const load = async () => {
      loads++;
      await sleep(10);
      return loaded;
    };
    const [a, b] = await Promise.all([c.get('k', load), c.get('k', load)]);
    assert.equal(loads, 1);
    assert.ok(a.equals(key) && b.equals(key));
    a.fill(0);
    const again = await c.get('k', load);
    assert.ok(again.equals(key), 'wiping a copy leaves the cached key');
    assert.equal(loads, 1);
    assert.deepEqual(lookups, ['miss', 'miss', 'hit']);
    await sleep(5);
    assert.ok(zero(loaded), "the loader's buffer is wiped once handed out");
    c.close();
  });

  test('a failed load is not cached', async () => {
    const c = new KeyCache({ maxEntries: 10, ttlSeconds: 60 });
    await assert.rejects(
      c.get('k', () => Promise.reject(new Error('KMS is sealed'))),
      /KMS is sealed/,
    );
    const key = randomBytes(32);
    assert.ok((await c.get('k', async () => Buffer.from(key))).equals(key));
    c.close();
  });

  test('over maxEntries the least recently used key is evicted and wiped', async () => {
    const c = new KeyCache({ maxEntries: 2, ttlSeconds: 60 });
    for (const id of ['a', 'b']) c.put(id, randomBytes(32));
    const a = held(c, 'a')!;
    c.put('c', randomBytes(32));
    assert.equal(c.size, 2);
    assert.ok(zero(a), 'the evicted key is wiped');
    let loads = 0;
    await c.get('a', async () => (loads++, randomBytes(32)));
    assert.equal(loads, 1, 'an evicted key is asked for again');
    c.close();
  });

  test('past ttlSeconds a key is not served: it is loaded again, and the expired copy is wiped', async () => {
    const c = new KeyCache({ maxEntries: 10, ttlSeconds: 0.05 });
    c.put('k', randomBytes(32));
    const first = held(c, 'k')!;
    await sleep(120);
    let loads = 0;
    await c.get('k', async () => (loads++, randomBytes(32)));
    assert.equal(loads, 1);
    assert.ok(zero(first), 'the expired key is wiped');
    c.close();
  });

  test('ttlSeconds 0: no caching, every get loads; close wipes what is held', async () => {
    const off = new KeyCache({ maxEntries: 10, ttlSeconds: 0 });
    let loads = 0;
    for (let i = 0; i < 3; i++) await off.get('k', async () => (loads++, randomBytes(32)));
    assert.equal(loads, 3);
    assert.equal(off.enabled, false);
    off.close();
    const on = new KeyCache({ maxEntries: 10, ttlSeconds: 60 });
    on.put('k', randomBytes(32));
    const k = held(on, 'k')!;
    on.close();
    assert.ok(zero(k));
  });
});
