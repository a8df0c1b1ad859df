// The ids every response carries: x-amz-request-id (16 upper-case hex digits, as AWS writes them) and
// x-amz-id-2 (24 random bytes in base64 here; AWS's is an opaque host id). They only need to be unique and
// unguessable enough to tell requests apart in logs, not secret: uniqueRandom's pooled bytes (two randomBytes()
// calls per request cost ~25 µs of event-loop time on a loaded 2-core machine — a few percent of a 4 KiB GET).
import { uniqueRandom as take } from '@kesgate/dare';

/** A request id as AWS writes them: 16 upper-case hex digits. */
export function newRequestId(): string {
  return take(8).toString('hex').toUpperCase();
}

/** The x-amz-id-2 value: 24 random bytes in base64. */
export function newHostId(): string {
  return take(24).toString('base64');
}
