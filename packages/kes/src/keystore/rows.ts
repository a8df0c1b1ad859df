// Row values both keystores check the same way on the way out of the database.
import type { Cipher } from '../crypto/ciphertext.js';

export function toCipher(algorithm: string, name: string): Cipher {
  if (algorithm !== 'AES256' && algorithm !== 'ChaCha20') throw new Error(`keystore holds an unknown algorithm '${algorithm.slice(0, 40)}' for key '${name}'`);
  return algorithm;
}
