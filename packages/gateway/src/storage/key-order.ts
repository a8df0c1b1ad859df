// S3 orders keys by their UTF-8 bytes. SQLite's BINARY collation compares TEXT with memcmp over
// UTF-8, which is the same order, and UTF-8 byte order equals code point order. JavaScript's `<`
// compares UTF-16 code units, which differs (U+FFFF sorts after U+10000 there), so never use it
// on keys.

/** Compares two keys in UTF-8 byte order. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The smallest string greater than `key`: every other key > `key` is ≥ it. */
export function keyAfter(key: string): string {
  return `${key}\u0000`;
}

/**
 * The smallest string greater than every string that starts with `prefix`, or undefined when
 * there is none (the prefix is empty or all U+10FFFF). Increments the last code point, skipping
 * the surrogate range, which never occurs in a key.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const codePoints = Array.from(prefix);
  while (codePoints.length > 0) {
    const last = codePoints.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      const next = last === 0xd7ff ? 0xe000 : last + 1;
      return codePoints.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}

/**
 * The common prefix `key` rolls up into under `prefix` and `delimiter`: the key up to and
 * including the first delimiter after the prefix. undefined when the key is listed on its own.
 */
export function commonPrefixOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '' || !key.startsWith(prefix)) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at < 0 ? undefined : key.slice(0, at + delimiter.length);
}
