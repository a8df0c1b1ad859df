// Random bytes for ciphertexts and data keys, drawn from a 4 KiB buffer refilled by the CSPRNG
// when used up: one randomFillSync per ~70 data keys instead of two calls per key, which is
// measurable on the generate path. Every byte is handed out once, and the pool is wiped as it
// is consumed so no handed-out value stays behind in it.
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

/** `n` fresh random bytes in a new Buffer (n ≤ 4096). */
export function randomBytesFromPool(n: number): Buffer {
  if (n > POOL_SIZE) throw new RangeError(`at most ${POOL_SIZE} bytes at a time`);
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.allocUnsafe(n);
  pool.copy(out, 0, offset, offset + n);
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
