// The ids every response carries: x-amz-request-id (16 upper-case hex digits, as AWS writes them) and
// x-amz-id-2 (32 random bytes in base64 here; AWS's is an opaque host id). They only need to be unique and
// unguessable enough to tell requests apart in logs, not secret: they are drawn from a pool of random bytes
// refilled 4 KiB at a time, because a randomBytes() call per id cost ~25 µs of event-loop time per request
// (two calls) on a loaded 2-core machine — a few percent of a 4 KiB GET.
import { randomBytes } from 'node:crypto';

const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let used = 0;

function take(n: number): Buffer {
  if (used + n > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    used = 0;
  }
  const out = pool.subarray(used, used + n);
  used += n;
  return out;
}

/** A request id as AWS writes them: 16 upper-case hex digits. */
export function newRequestId(): string {
  return take(8).toString('hex').toUpperCase();
}

/** The x-amz-id-2 value: 24 random bytes in base64. */
export function newHostId(): string {
  return take(24).toString('base64');
}
