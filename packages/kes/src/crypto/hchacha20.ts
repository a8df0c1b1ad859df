// HChaCha20 (draft-irtf-cfrg-xchacha §2.2): derives a 256-bit subkey from a 256-bit key and a
// 128-bit input. Node's OpenSSL exposes ChaCha20 but not HChaCha20, and KES derives its
// ChaCha20-Poly1305 subkeys with it, so it is written out here (20 rounds, no final addition).

const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574] as const;

function rotl(v: number, n: number): number {
  return ((v << n) | (v >>> (32 - n))) >>> 0;
}

function quarterRound(s: Uint32Array, a: number, b: number, c: number, d: number): void {
  s[a] = (s[a]! + s[b]!) >>> 0;
  s[d] = rotl(s[d]! ^ s[a]!, 16);
  s[c] = (s[c]! + s[d]!) >>> 0;
  s[b] = rotl(s[b]! ^ s[c]!, 12);
  s[a] = (s[a]! + s[b]!) >>> 0;
  s[d] = rotl(s[d]! ^ s[a]!, 8);
  s[c] = (s[c]! + s[d]!) >>> 0;
  s[b] = rotl(s[b]! ^ s[c]!, 7);
}

export function hchacha20(key: Uint8Array, input: Uint8Array): Buffer {
  if (key.length !== 32) throw new RangeError(`HChaCha20 key must be 32 bytes, got ${key.length}`);
  if (input.length !== 16) throw new RangeError(`HChaCha20 input must be 16 bytes, got ${input.length}`);
  const k = Buffer.from(key.buffer, key.byteOffset, key.length);
  const n = Buffer.from(input.buffer, input.byteOffset, input.length);
  const s = new Uint32Array(16);
  s.set(SIGMA, 0);
  for (let i = 0; i < 8; i++) s[4 + i] = k.readUInt32LE(4 * i);
  for (let i = 0; i < 4; i++) s[12 + i] = n.readUInt32LE(4 * i);
  for (let round = 0; round < 10; round++) {
    quarterRound(s, 0, 4, 8, 12);
    quarterRound(s, 1, 5, 9, 13);
    quarterRound(s, 2, 6, 10, 14);
    quarterRound(s, 3, 7, 11, 15);
    quarterRound(s, 0, 5, 10, 15);
    quarterRound(s, 1, 6, 11, 12);
    quarterRound(s, 2, 7, 8, 13);
    quarterRound(s, 3, 4, 9, 14);
  }
  const out = Buffer.alloc(32);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(s[i]!, 4 * i);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(s[12 + i]!, 16 + 4 * i);
  s.fill(0);
  return out;
}
