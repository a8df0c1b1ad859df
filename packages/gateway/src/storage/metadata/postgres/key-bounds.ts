// PostgreSQL text cannot hold U+0000, which SQLite and S3 listing positions can: the listing above seeks
// with keyAfter(key) = key + '\0'. No stored key contains U+0000, so a bound that does is rewritten into
// an equivalent one without it: for such keys, k >= p + '\0' + r  ⟺  k > p, and k < p + '\0' + r  ⟺  k <= p.
import { isWellFormed } from '../../validation.js';

/** Whether PostgreSQL can store `value` exactly (as text in UTF-8). */
export function storable(value: string): boolean {
  return !value.includes('\u0000') && isWellFormed(value);
}

export interface Bound {
  value: string;
  /** The bound itself is one of the keys the range takes. */
  inclusive: boolean;
}

/** `key >= from` as a bound PostgreSQL can compare with. */
export function lowerBound(from: string): Bound {
  const nul = from.indexOf('\u0000');
  return nul < 0 ? { value: from, inclusive: true } : { value: from.slice(0, nul), inclusive: false };
}

/** `key < upper` as a bound PostgreSQL can compare with. */
export function upperBound(upper: string): Bound {
  const nul = upper.indexOf('\u0000');
  return nul < 0 ? { value: upper, inclusive: false } : { value: upper.slice(0, nul), inclusive: true };
}
