// One DARE 2.0 package: its 16-byte header, its AEAD nonce and the cipher objects that seal or open it.
// The stream modules (encrypt-stream.ts, decrypt-stream.ts) only decide *which* package comes next.
import { createCipheriv, createDecipheriv, type CipherGCM, type DecipherGCM, type KeyObject } from 'node:crypto';
import {
  CIPHER_IDS,
  FINAL_FLAG,
  HEADER_SIZE,
  KEY_SIZE,
  MAX_SEQ,
  NODE_CIPHERS,
  NONCE_SIZE,
  TAG_SIZE,
  VERSION_20,
  type CipherName,
} from './constants.js';
import { ErrInvalidArgument, ErrTampered } from './errors.js';

/** What a header says, after the version and cipher bytes were checked. */
export interface PackageHeader {
  cipher: number;
  /** Plaintext length, 1..65536. */
  length: number;
  final: boolean;
}

export function cipherIdOf(name: CipherName): number {
  const id = CIPHER_IDS[name];
  if (id === undefined) throw new ErrInvalidArgument(`unknown cipher "${String(name)}": use AES-256-GCM or ChaCha20-Poly1305`);
  return id;
}

export function checkKey(key: Buffer | KeyObject, what = 'key'): void {
  const size = Buffer.isBuffer(key) ? key.length : key.symmetricKeySize;
  if (size !== KEY_SIZE) throw new ErrInvalidArgument(`${what} must be ${KEY_SIZE} bytes, got ${size ?? 'a non-secret key'}`);
}

export function checkNonce(nonce: Buffer): void {
  if (nonce.length !== NONCE_SIZE) throw new ErrInvalidArgument(`nonce must be ${NONCE_SIZE} bytes, got ${nonce.length}`);
}

/** header = 0x20 ‖ cipher ‖ uint16le(len - 1) ‖ nonce[12], with the final flag in the top bit of nonce[0]. */
export function encodeHeader(cipher: number, length: number, baseNonce: Buffer, final: boolean): Buffer {
  const h = Buffer.allocUnsafe(HEADER_SIZE);
  h[0] = VERSION_20;
  h[1] = cipher;
  h.writeUInt16LE(length - 1, 2);
  baseNonce.copy(h, 4, 0, NONCE_SIZE);
  const n0 = h[4] as number;
  h[4] = final ? n0 | FINAL_FLAG : n0 & ~FINAL_FLAG;
  return h;
}

/** Reads a header, rejecting what this decoder does not know. `seq` only makes the message useful. */
export function parseHeader(h: Buffer, seq: number): PackageHeader {
  if (h[0] !== VERSION_20) throw new ErrTampered(`package ${seq}: unknown version 0x${hex2(h[0])} (expected 0x20, DARE 2.0)`);
  const cipher = h[1] as number;
  if (cipher >= NODE_CIPHERS.length) throw new ErrTampered(`package ${seq}: unknown cipher 0x${hex2(cipher)}`);
  return { cipher, length: h.readUInt16LE(2) + 1, final: ((h[4] as number) & FINAL_FLAG) !== 0 };
}

/** AEAD nonce of package `seq`: header nonce (flag included) with its last 4 bytes XOR uint32le(seq). */
function packageNonce(h: Buffer, seq: number): Buffer {
  if (seq > MAX_SEQ) throw new ErrInvalidArgument(`sequence number ${seq} does not fit in 32 bits`);
  const n = Buffer.allocUnsafe(NONCE_SIZE);
  h.copy(n, 0, 4, HEADER_SIZE);
  n.writeUInt32LE((n.readUInt32LE(8) ^ seq) >>> 0, 8);
  return n;
}

/** True when two headers carry the same base nonce (the final flag ignored). */
export function sameBaseNonce(a: Buffer, b: Buffer): boolean {
  if (((a[4] as number) & ~FINAL_FLAG) !== ((b[4] as number) & ~FINAL_FLAG)) return false;
  for (let i = 5; i < HEADER_SIZE; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Both AEADs expose the same calls; Node's types name only the GCM flavour, which is enough here.
export function createPackageCipher(key: Buffer | KeyObject, h: Buffer, seq: number): CipherGCM {
  const algo = NODE_CIPHERS[h[1] as number] as 'aes-256-gcm';
  const c = createCipheriv(algo, key, packageNonce(h, seq), { authTagLength: TAG_SIZE });
  c.setAAD(h.subarray(0, 4));
  return c;
}

export function createPackageDecipher(key: Buffer | KeyObject, h: Buffer, seq: number): DecipherGCM {
  const algo = NODE_CIPHERS[h[1] as number] as 'aes-256-gcm';
  const d = createDecipheriv(algo, key, packageNonce(h, seq), { authTagLength: TAG_SIZE });
  d.setAAD(h.subarray(0, 4));
  return d;
}

function hex2(b: number | undefined): string {
  return (b ?? 0).toString(16).padStart(2, '0');
}
