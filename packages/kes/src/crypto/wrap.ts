// Key wrapping at rest: AES-256-GCM with a random 96-bit nonce and caller-chosen AAD.
// Layout: 0x01 (format) ‖ nonce[12] ‖ ciphertext ‖ tag[16]. The AAD binds a wrapped value to
// where it belongs (e.g. key name + version + purpose), so a copied row does not unwrap.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const FORMAT = 0x01;
const NONCE = 12;
const TAG = 16;

export class UnwrapError extends Error {
  constructor() {
    super('wrapped value does not authenticate under this key and context');
    this.name = 'UnwrapError';
  }
}

export function wrapKey(key: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  if (key.length !== 32) throw new RangeError('wrapping key must be 32 bytes');
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG });
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.of(FORMAT), nonce, body, c.getAuthTag()]);
}

export function unwrapKey(key: Uint8Array, aad: Uint8Array, wrapped: Uint8Array): Buffer {
  if (key.length !== 32) throw new RangeError('wrapping key must be 32 bytes');
  if (wrapped.length < 1 + NONCE + TAG || wrapped[0] !== FORMAT) throw new UnwrapError();
  const nonce = wrapped.subarray(1, 1 + NONCE);
  const body = wrapped.subarray(1 + NONCE, wrapped.length - TAG);
  const tag = wrapped.subarray(wrapped.length - TAG);
  const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG });
  d.setAAD(aad);
  d.setAuthTag(tag);
  const out = d.update(body);
  try {
    return Buffer.concat([out, d.final()]);
  } catch {
    out.fill(0);
    throw new UnwrapError();
  }
}
