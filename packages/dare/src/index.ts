// @kesgate/dare — the object-encryption format (FORMAT.md): DARE 2.0 package streams, key derivation
// and sealing, size and range arithmetic.
export * from './errors.js';
export { PACKAGE_SIZE, PACKAGE_OVERHEAD, ENC_PACKAGE_SIZE, type CipherName } from './constants.js';
export { encryptedSize, decryptedSize } from './size.js';
export {
  createEncryptStream,
  createDecryptStream,
  decryptPull,
  encryptBuffer,
  decryptBuffer,
  type EncryptOptions,
  type DecryptOptions,
} from './dare.js';
export {
  generateOEK,
  deriveKEK,
  sealOEK,
  unsealOEK,
  partKey,
  randomIV,
  sealObjectKey,
  unsealObjectKey,
  SEAL_ALGORITHM,
  SSE_DOMAINS,
  IV_SIZE,
  SEALED_KEY_SIZE,
  type SSEDomain,
  type SealObjectKeyInput,
  type SealedObjectKey,
  type UnsealObjectKeyInput,
} from './keys.js';
export { objectPath } from './object-path.js';
export { uniqueRandom } from './unique-random.js';
export { mapRange, partRange, parseRangeHeader, type PartSize, type RangeSegment, type ByteRange } from './range.js';
