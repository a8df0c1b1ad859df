// Row shapes and checks both keystores share on the way in and out of the database.
import type { Cipher } from '../crypto/ciphertext.js';
import type { KeyVersionRow } from './types.js';

/** A key version row as both databases return it (snake_case columns). */
export interface RawVersion {
  name: string;
  version: number;
  algorithm: string;
  wrapped_key: Buffer;
  wrapped_hmac_key: Buffer;
  created_at: string;
  created_by: string;
}

function toCipher(algorithm: string, name: string): Cipher {
  if (algorithm !== 'AES256' && algorithm !== 'ChaCha20')
    throw new Error(`keystore holds an unknown algorithm '${algorithm.slice(0, 40)}' for key '${name}'`);
  return algorithm;
}

export function toVersion(r: RawVersion): KeyVersionRow {
  return {
    name: r.name,
    version: r.version,
    algorithm: toCipher(r.algorithm, r.name),
    wrappedKey: r.wrapped_key,
    wrappedHmacKey: r.wrapped_hmac_key,
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}

/** Versions 1..N of `name`, in order, at least one: checked before anything is written. */
export function checkImport(name: string, versions: KeyVersionRow[]): void {
  versions.forEach((v, i) => {
    if (v.name !== name || v.version !== i + 1) throw new Error(`key ${name}: version ${i + 1} expected, got ${v.name} v${v.version}`);
  });
  if (versions.length === 0) throw new Error(`key ${name} has no versions`);
}
