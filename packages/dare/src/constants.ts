// Fixed numbers of the DARE 2.0 package format (see FORMAT.md).

/** Plaintext bytes in every non-final package. */
export const PACKAGE_SIZE = 65536;
/** Header (16) + tag (16) added to each package. */
export const PACKAGE_OVERHEAD = 32;
/** Encrypted size of a full package. */
export const ENC_PACKAGE_SIZE = PACKAGE_SIZE + PACKAGE_OVERHEAD;

export const HEADER_SIZE = 16;
export const TAG_SIZE = 16;
export const NONCE_SIZE = 12;
export const KEY_SIZE = 32;
export const VERSION_20 = 0x20;
/** Bit of header byte 4 (nonce[0]) that marks the last package of a stream. */
export const FINAL_FLAG = 0x80;
/** Sequence numbers are 32-bit: XORed into the last four nonce bytes. */
export const MAX_SEQ = 0xffffffff;

export type CipherName = 'AES-256-GCM' | 'ChaCha20-Poly1305';
export const CIPHER_IDS: Readonly<Record<CipherName, number>> = { 'AES-256-GCM': 0x00, 'ChaCha20-Poly1305': 0x01 };
/** Node crypto algorithm names, indexed by the cipher byte of the header. */
export const NODE_CIPHERS: readonly ['aes-256-gcm', 'chacha20-poly1305'] = ['aes-256-gcm', 'chacha20-poly1305'];
