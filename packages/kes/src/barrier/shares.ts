// Shamir shares of the 32-byte unseal key, via the audited `shamir-secret-sharing` library.
//
// Encoding: a share is the library's bytes (y-values ‖ x-coordinate, 33 bytes) as 66 lower-case
// hex characters. The library needs at least 2 shares and threshold ≥ 2, so the 1-of-1 case
// (development) encodes the unseal key itself with x = 0 — the value of the sharing polynomial
// at 0 is the secret, so this is the same encoding with the only x that library shares never use.
import { combine, split } from 'shamir-secret-sharing';
import { KesError } from '../errors.js';

export const UNSEAL_KEY_SIZE = 32;
const SHARE_SIZE = UNSEAL_KEY_SIZE + 1;

export function validateSharing(shares: number, threshold: number): void {
  const whole = (n: number) => Number.isInteger(n);
  if (!whole(shares) || shares < 1 || shares > 255) {
    throw new KesError(400, `invalid number of shares ${shares}: expected an integer from 1 to 255`);
  }
  if (!whole(threshold) || threshold < 1 || threshold > shares) {
    throw new KesError(400, `invalid threshold ${threshold}: expected an integer from 1 to the number of shares (${shares})`);
  }
  if (shares > 1 && threshold < 2) {
    throw new KesError(
      400,
      `invalid threshold ${threshold}: with ${shares} shares the threshold must be at least 2 (one share alone would reveal the key)`,
    );
  }
}

export async function splitUnsealKey(key: Uint8Array, shares: number, threshold: number): Promise<string[]> {
  validateSharing(shares, threshold);
  if (shares === 1) {
    const one = Buffer.alloc(SHARE_SIZE);
    Buffer.from(key).copy(one);
    const hex = one.toString('hex');
    one.fill(0);
    return [hex];
  }
  const parts = await split(new Uint8Array(key), shares, threshold);
  return parts.map((p) => {
    const hex = Buffer.from(p).toString('hex');
    p.fill(0);
    return hex;
  });
}

/** Parses a share as submitted by an operator; throws a 400 naming the expected form. */
export function parseShare(text: string): Buffer {
  const t = text.trim();
  if (!/^[0-9a-fA-F]+$/.test(t) || t.length !== SHARE_SIZE * 2) {
    throw new KesError(400, `invalid unseal share: expected ${SHARE_SIZE * 2} hexadecimal characters as printed by \`kes init\``);
  }
  return Buffer.from(t, 'hex');
}

/** Rebuilds the unseal key from `threshold` distinct shares. Throws on inconsistent shares. */
export async function combineShares(shares: Buffer[], threshold: number): Promise<Buffer> {
  if (threshold === 1) {
    const only = shares[0];
    if (shares.length !== 1 || !only || only[UNSEAL_KEY_SIZE] !== 0) throw new Error('not a 1-of-1 share');
    return Buffer.from(only.subarray(0, UNSEAL_KEY_SIZE));
  }
  // The library insists on plain Uint8Arrays (not Buffers): copy, and wipe the copies afterwards.
  const copies = shares.map((s) => new Uint8Array(s));
  try {
    const key = await combine(copies);
    const out = Buffer.from(key);
    key.fill(0);
    return out;
  } finally {
    for (const c of copies) c.fill(0);
  }
}
