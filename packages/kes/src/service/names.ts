// Key and policy names: 1–80 characters of [0-9A-Za-z_-], not starting or ending with '-'.
import { KesError } from '../errors.js';

const NAME = /^[0-9A-Za-z_](?:[0-9A-Za-z_-]{0,78}[0-9A-Za-z_])?$/;
const PREFIX = /^[0-9A-Za-z_-]{0,80}$/;

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

export function validateName(name: string, what = 'key'): void {
  if (!isValidName(name)) {
    throw new KesError(
      400,
      `invalid ${what} name '${printable(name)}': use 1-80 characters of 0-9 A-Z a-z _ -, not starting or ending with '-'`,
    );
  }
}

/** A list prefix: the name alphabet, possibly empty; a trailing '*' is accepted and ignored. */
export function parseListPrefix(pattern: string): string {
  const prefix = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  if (!PREFIX.test(prefix)) {
    throw new KesError(400, `invalid key prefix '${printable(pattern)}': use characters of 0-9 A-Z a-z _ - and an optional trailing '*'`);
  }
  return prefix;
}

// Names end up in error messages: keep them short and free of control characters.
function printable(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}
