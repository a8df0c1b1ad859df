// The key hierarchy below the external key: object key generation, the sealing key (KEK) bound to
// domain, IV and path, the 64-byte sealed object key, and per-part keys for multipart objects.
import { createHmac, randomBytes } from 'node:crypto';
import { KEY_SIZE } from './constants.js';
import { decryptBuffer, encryptBuffer } from './dare.js';
import { ErrInvalidArgument, ErrInvalidSize, ErrKeyMismatch, SSEError } from './errors.js';
import { uniqueRandom } from './unique-random.js';

export type SSEDomain = 'SSE-C' | 'SSE-S3' | 'SSE-KMS';
export const SSE_DOMAINS: readonly SSEDomain[] = ['SSE-C', 'SSE-S3', 'SSE-KMS'];
/** The `sealAlgorithm` stored with each object; also part of the KEK derivation. */
export const SEAL_ALGORITHM = 'DAREv2-HMAC-SHA256';
export const IV_SIZE = 32;
export const SEALED_KEY_SIZE = 64;
const OEK_CONTEXT = 'object-encryption-key generation';

function check32(b: Buffer, what: string): void {
  if (!Buffer.isBuffer(b) || b.length !== KEY_SIZE) {
    throw new ErrInvalidArgument(`${what} must be ${KEY_SIZE} bytes, got ${Buffer.isBuffer(b) ? b.length : typeof b}`);
  }
}

/** OEK = HMAC-SHA256(EK, "object-encryption-key generation" ‖ random(32)). */
export function generateOEK(ek: Buffer, random: Buffer = randomBytes(32)): Buffer {
  check32(ek, 'external key');
  check32(random, 'random input');
  return createHmac('sha256', ek).update(OEK_CONTEXT).update(random).digest();
}

/**
 * KEK = HMAC-SHA256(EK, IV ‖ domain ‖ "DAREv2-HMAC-SHA256" ‖ path), path = bucket + "/" + object as UTF-8,
 * used as given (no cleaning: S3 keys are opaque, so `a//b` and `a/b` must not share a KEK).
 */
export function deriveKEK(ek: Buffer, iv: Buffer, domain: SSEDomain, path: string): Buffer {
  check32(ek, 'external key');
  check32(iv, 'IV');
  if (!SSE_DOMAINS.includes(domain)) throw new ErrInvalidArgument(`unknown SSE domain "${String(domain)}"`);
  return createHmac('sha256', ek).update(iv).update(domain).update(SEAL_ALGORITHM).update(path, 'utf8').digest();
}

/** The OEK encrypted under the KEK as one DARE 2.0 package (16 + 32 + 16 = 64 bytes). */
export function sealOEK(kek: Buffer, oek: Buffer, nonce?: Buffer): Buffer {
  check32(kek, 'KEK');
  check32(oek, 'object key');
  return encryptBuffer(kek, oek, nonce === undefined ? {} : { nonce });
}

/** Opens a sealed OEK; throws ErrKeyMismatch when it does not authenticate under `kek`. */
export function unsealOEK(kek: Buffer, sealed: Buffer): Buffer {
  check32(kek, 'KEK');
  if (sealed.length !== SEALED_KEY_SIZE) {
    throw new ErrInvalidSize(`a sealed object key is ${SEALED_KEY_SIZE} bytes, got ${sealed.length}`);
  }
  let oek: Buffer;
  try {
    oek = decryptBuffer(kek, sealed);
  } catch (err) {
    if (err instanceof SSEError) throw new ErrKeyMismatch();
    throw err;
  }
  if (oek.length !== KEY_SIZE) throw new ErrKeyMismatch('the sealed object key has the wrong length inside');
  return oek;
}

/** partKey(n) = HMAC-SHA256(OEK, uint32le(n)): the data key of multipart part n. */
export function partKey(oek: Buffer, n: number): Buffer {
  check32(oek, 'object key');
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new ErrInvalidArgument(`part number must be a 32-bit unsigned integer, got ${n}`);
  const le = Buffer.allocUnsafe(4);
  le.writeUInt32LE(n, 0);
  return createHmac('sha256', oek).update(le).digest();
}

export function randomIV(): Buffer {
  return uniqueRandom(IV_SIZE);
}

export interface SealObjectKeyInput {
  ek: Buffer;
  domain: SSEDomain;
  /** bucket + "/" + object */
  path: string;
  /** Reseal an existing object key (rotation, copy); a new one is generated when omitted. */
  oek?: Buffer;
  /** Keep an IV (SSE-C key rotation keeps it); a new random one when omitted. */
  iv?: Buffer;
}

export interface SealedObjectKey {
  oek: Buffer;
  iv: Buffer;
  sealedKey: Buffer;
}

export function sealObjectKey({ ek, domain, path, oek, iv }: SealObjectKeyInput): SealedObjectKey {
  const objectKey = oek ?? generateOEK(ek);
  const objectIV = iv ?? randomIV();
  const sealedKey = sealOEK(deriveKEK(ek, objectIV, domain, path), objectKey);
  return { oek: objectKey, iv: objectIV, sealedKey };
}

export interface UnsealObjectKeyInput {
  ek: Buffer;
  domain: SSEDomain;
  path: string;
  iv: Buffer;
  sealedKey: Buffer;
}

/** Returns the OEK; throws ErrKeyMismatch for a wrong EK, path, domain or IV. */
export function unsealObjectKey({ ek, domain, path, iv, sealedKey }: UnsealObjectKeyInput): Buffer {
  return unsealOEK(deriveKEK(ek, iv, domain, path), sealedKey);
}
