// Random bytes that must be unique and unpredictable but are not secret: package nonces, seal IVs, object and
// request ids. They are cut from a buffer of the system CSPRNG's output, refilled 4 KiB at a time, each byte
// handed out once: a randomBytes() call costs ~10 µs of event-loop time (a call into OpenSSL's generator per
// call), and a small PUT needs several such values. Keys never come from here: a key's random bytes must not
// wait in a buffer that outlives the request.
import { randomBytes } from 'node:crypto';

const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let used = 0;

/** `n` (≤ 4096) fresh random bytes, a copy the caller owns. */
export function uniqueRandom(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > POOL_SIZE) throw new RangeError(`uniqueRandom: 0..${POOL_SIZE} bytes, not ${n}`);
  if (used + n > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    used = 0;
  }
  const out = Buffer.allocUnsafe(n);
  pool.copy(out, 0, used, used + n);
  used += n;
  return out;
}
