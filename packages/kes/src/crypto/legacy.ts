// KES's two earlier ciphertext encodings, recognised by their first byte:
//   '{'  JSON {"aead","id"?,"iv","nonce","bytes"} — base64 fields, "bytes" = AEAD output incl. tag
//   0x95 MessagePack fixarray [algorithm, keyID, iv(bin 16), nonce(bin 12), bytes(bin)]
// Both carry the same values as the binary form, so they are rewritten as bytes ‖ iv ‖ nonce.
// As in KES, input that does not parse is passed through unchanged and then simply fails to
// authenticate as a binary ciphertext — every malformed input ends in the same error.
import { decode } from '@msgpack/msgpack';

const IV_SIZE = 16;
const NONCE_SIZE = 12;

const JSON_ALGORITHMS = new Set(['AES-256-GCM-HMAC-SHA-256', 'ChaCha20Poly1305']);
const MSGPACK_ALGORITHMS = new Set(['AES256', 'AES256-GCM_SHA256', 'ChaCha20', 'XCHACHA20-POLY1305']);

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function legacyToBinary(input: Uint8Array): Buffer {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.length);
  const parsed = bytes[0] === 0x7b ? parseJson(bytes) : bytes[0] === 0x95 ? parseMsgpack(bytes) : undefined;
  if (!parsed) return bytes;
  return Buffer.concat([parsed.bytes, parsed.iv, parsed.nonce]);
}

interface Parts {
  iv: Uint8Array;
  nonce: Uint8Array;
  bytes: Uint8Array;
}

function base64Field(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || !STRICT_BASE64.test(value)) return undefined;
  return Buffer.from(value, 'base64');
}

function parseJson(bytes: Buffer): Parts | undefined {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.aead !== 'string' || !JSON_ALGORITHMS.has(v.aead)) return undefined;
  if (v.id !== undefined && typeof v.id !== 'string') return undefined;
  const iv = base64Field(v.iv);
  const nonce = base64Field(v.nonce);
  const sealed = base64Field(v.bytes);
  if (!iv || iv.length !== IV_SIZE || !nonce || nonce.length !== NONCE_SIZE || !sealed) return undefined;
  return { iv, nonce, bytes: sealed };
}

function parseMsgpack(bytes: Buffer): Parts | undefined {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 5) return undefined;
  const [algorithm, id, iv, nonce, sealed] = value as unknown[];
  if (typeof algorithm !== 'string' || !MSGPACK_ALGORITHMS.has(algorithm)) return undefined;
  if (typeof id !== 'string') return undefined;
  if (!(iv instanceof Uint8Array) || iv.length !== IV_SIZE) return undefined;
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_SIZE) return undefined;
  if (!(sealed instanceof Uint8Array)) return undefined;
  return { iv, nonce, bytes: sealed };
}
