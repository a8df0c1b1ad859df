// Argument parsers for commander: a bad value stops the command with a message naming the flag.
import { InvalidArgumentError } from 'commander';

export function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** Strict standard base64 (padding optional); returns the bytes. */
export function decodeBase64(value: string, what: string): Buffer {
  const t = value.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 === 1) throw new InvalidArgumentError(`${what} is not base64`);
  return Buffer.from(t, 'base64');
}

export function base64Option(what: string) {
  return (value: string): Buffer => decodeBase64(value, what);
}

/** A key version: "v3" or "3". */
export function keyVersion(value: string): number {
  const m = /^v?([1-9][0-9]{0,8})$/.exec(value.trim());
  if (!m?.[1]) throw new InvalidArgumentError('expected a key version such as v2 or 2');
  return Number(m[1]);
}

export function hostList(value: string): string[] {
  const hosts = value
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (hosts.length === 0) throw new InvalidArgumentError('expected host names or IP addresses, comma-separated');
  return hosts;
}
