// The KES ciphertext format (see docs/kes-api.md, "Ciphertext format"):
//
//   AEAD(subkey, nonce, plaintext, aad = context) ‖ iv[16] ‖ nonce[12]
//   AES256:   subkey = HMAC-SHA256(masterKey, iv),   AEAD = AES-256-GCM
//   ChaCha20: subkey = HChaCha20(masterKey, iv),     AEAD = ChaCha20-Poly1305 (12-byte nonce)
//
// Decrypt also accepts KES's two older encodings of the same values (a JSON object and a
// MessagePack array); both are converted to the binary form first, exactly as KES does.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  type CipherChaCha20Poly1305,
  type CipherGCM,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
} from 'node:crypto';
import { hchacha20 } from './hchacha20.js';
import { legacyToBinary } from './legacy.js';
import { randomBytesFromPool } from './random.js';

export type Cipher = 'AES256' | 'ChaCha20';

const KEY_SIZE = 32;
const IV_SIZE = 16;
const NONCE_SIZE = 12;
const TAG_SIZE = 16;
/** Bytes a ciphertext adds to its plaintext: tag + iv + nonce. */
const OVERHEAD = TAG_SIZE + IV_SIZE + NONCE_SIZE;

/** The ciphertext does not authenticate under this key and context (or is not a ciphertext). */
export class NotAuthenticError extends Error {
  constructor() {
    super('ciphertext is not authentic');
    this.name = 'NotAuthenticError';
  }
}

export function isCipher(value: unknown): value is Cipher {
  return value === 'AES256' || value === 'ChaCha20';
}

/** The per-ciphertext AEAD key. The caller zeroes it after use. */
function deriveSubkey(cipher: Cipher, masterKey: Uint8Array, iv: Uint8Array): Buffer {
  if (masterKey.length !== KEY_SIZE) throw new RangeError(`master key must be ${KEY_SIZE} bytes`);
  if (cipher === 'AES256') return createHmac('sha256', masterKey).update(iv).digest();
  return hchacha20(masterKey, iv);
}

// Two calls rather than one with a union name: Node's typings pick the AEAD overloads by literal.
function aeadCipher(cipher: Cipher, key: Buffer, nonce: Uint8Array): CipherGCM | CipherChaCha20Poly1305 {
  const opts = { authTagLength: TAG_SIZE };
  return cipher === 'AES256' ? createCipheriv('aes-256-gcm', key, nonce, opts) : createCipheriv('chacha20-poly1305', key, nonce, opts);
}

function aeadDecipher(cipher: Cipher, key: Buffer, nonce: Uint8Array): DecipherGCM | DecipherChaCha20Poly1305 {
  const opts = { authTagLength: TAG_SIZE };
  return cipher === 'AES256' ? createDecipheriv('aes-256-gcm', key, nonce, opts) : createDecipheriv('chacha20-poly1305', key, nonce, opts);
}

export interface EncryptRandomness {
  iv: Uint8Array;
  nonce: Uint8Array;
}

/** Encrypts `plaintext` under `masterKey`; `context` is authenticated, not stored. */
export function encryptKes(
  cipher: Cipher,
  masterKey: Uint8Array,
  plaintext: Uint8Array,
  context: Uint8Array = EMPTY,
  randomness?: EncryptRandomness,
): Buffer {
  const random = randomness ?? splitRandom(randomBytesFromPool(IV_SIZE + NONCE_SIZE));
  if (random.iv.length !== IV_SIZE || random.nonce.length !== NONCE_SIZE) {
    throw new RangeError(`iv must be ${IV_SIZE} bytes and nonce ${NONCE_SIZE} bytes`);
  }
  const key = deriveSubkey(cipher, masterKey, random.iv);
  try {
    const c = aeadCipher(cipher, key, random.nonce);
    c.setAAD(context, { plaintextLength: plaintext.length });
    const body = c.update(plaintext);
    const tail = c.final();
    return Buffer.concat([body, tail, c.getAuthTag(), random.iv, random.nonce]);
  } finally {
    key.fill(0);
  }
}

/**
 * Decrypts a ciphertext in any of KES's three forms. Throws NotAuthenticError for anything that
 * does not authenticate: wrong key, wrong context, tampered or truncated bytes, malformed input.
 */
export function decryptKes(cipher: Cipher, masterKey: Uint8Array, ciphertext: Uint8Array, context: Uint8Array = EMPTY): Buffer {
  const bytes = legacyToBinary(ciphertext);
  if (bytes.length < OVERHEAD) throw new NotAuthenticError();
  const sealedEnd = bytes.length - IV_SIZE - NONCE_SIZE;
  const iv = bytes.subarray(sealedEnd, sealedEnd + IV_SIZE);
  const nonce = bytes.subarray(sealedEnd + IV_SIZE);
  const sealed = bytes.subarray(0, sealedEnd - TAG_SIZE);
  const tag = bytes.subarray(sealedEnd - TAG_SIZE, sealedEnd);
  const key = deriveSubkey(cipher, masterKey, iv);
  try {
    const d = aeadDecipher(cipher, key, nonce);
    d.setAAD(context, { plaintextLength: sealed.length });
    d.setAuthTag(tag);
    const body = d.update(sealed);
    try {
      return Buffer.concat([body, d.final()]);
    } catch {
      body.fill(0);
      throw new NotAuthenticError();
    }
  } finally {
    key.fill(0);
  }
}

const EMPTY = new Uint8Array(0);

function splitRandom(b: Buffer): EncryptRandomness {
  return { iv: b.subarray(0, IV_SIZE), nonce: b.subarray(IV_SIZE) };
}
