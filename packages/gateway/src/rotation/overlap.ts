// When two rotation jobs would re-wrap the same objects: same bucket, and one prefix starts with the other.
// Two such jobs running at once would race on every object they share, so the second may not start.
import type { RotationJob } from './types.js';

export type JobScope = Pick<RotationJob, 'bucket' | 'prefix'>;

export function scopesOverlap(a: JobScope, b: JobScope): boolean {
  return a.bucket === b.bucket && (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix));
}
