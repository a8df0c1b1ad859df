// Key versions are numbers 1, 2, 3… in storage and strings "v1", "v2", "v3"… on the wire.
import { KesError } from '../errors.js';

export function formatVersion(n: number): string {
  return `v${n}`;
}

/** Accepts "v3", "3" or 3. */
export function parseVersion(value: unknown, field = 'version'): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : undefined;
  const m = text === undefined ? null : /^v?([1-9][0-9]{0,8})$/.exec(text);
  if (!m?.[1]) throw new KesError(400, `invalid ${field} '${String(value).slice(0, 40)}': expected a key version such as "v1"`);
  return Number(m[1]);
}
