// Plaintext ⇄ encrypted sizes of a package stream.
import { ENC_PACKAGE_SIZE, PACKAGE_OVERHEAD, PACKAGE_SIZE } from './constants.js';
import { ErrInvalidSize } from './errors.js';

/** enc(n) = floor(n/65536)·65568 + (n mod 65536 > 0 ? n mod 65536 + 32 : 0) */
export function encryptedSize(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new ErrInvalidSize(`plaintext size must be a non-negative integer, got ${n}`);
  const rest = n % PACKAGE_SIZE;
  const m = Math.floor(n / PACKAGE_SIZE) * ENC_PACKAGE_SIZE + (rest > 0 ? rest + PACKAGE_OVERHEAD : 0);
  if (!Number.isSafeInteger(m)) throw new ErrInvalidSize(`plaintext size ${n} is too large`);
  return m;
}

/** The inverse of encryptedSize; throws ErrInvalidSize for a length no package stream can have. */
export function decryptedSize(m: number): number {
  if (!Number.isSafeInteger(m) || m < 0) throw new ErrInvalidSize(`encrypted size must be a non-negative integer, got ${m}`);
  const rest = m % ENC_PACKAGE_SIZE;
  if (rest > 0 && rest <= PACKAGE_OVERHEAD) {
    throw new ErrInvalidSize(`encrypted size ${m} is impossible: its last package would hold ${rest - PACKAGE_OVERHEAD} bytes`);
  }
  return Math.floor(m / ENC_PACKAGE_SIZE) * PACKAGE_SIZE + (rest > 0 ? rest - PACKAGE_OVERHEAD : 0);
}
