// uniqueRandom: the pooled source of nonces, IVs and ids. Every value handed out is fresh (no byte handed out
// twice, across refills of the pool), the caller owns its copy, and a size outside the pool is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uniqueRandom } from '../src/index.js';

test('values are distinct across many refills of the 4 KiB pool, and each is the caller’s own copy', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const value = uniqueRandom(12);
    assert.equal(value.length, 12);
    const hex = value.toString('hex');
    assert.equal(seen.has(hex), false, `value ${i} repeated an earlier one`);
    seen.add(hex);
  }
  const a = uniqueRandom(16);
  const copy = Buffer.from(a);
  a.fill(0); // what a caller wiping its buffer does
  const b = uniqueRandom(16);
  assert.notDeepEqual(b, Buffer.alloc(16), 'the next value is not the wiped one');
  assert.deepEqual(a, Buffer.alloc(16));
  assert.notDeepEqual(copy, b);
});

test('a size outside 0..4096 is a RangeError naming it', () => {
  for (const n of [-1, 4097, 1.5]) assert.throws(() => uniqueRandom(n), { name: 'RangeError', message: new RegExp(String(n)) });
  assert.equal(uniqueRandom(0).length, 0);
  assert.equal(uniqueRandom(4096).length, 4096);
});
