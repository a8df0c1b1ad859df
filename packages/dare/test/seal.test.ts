// The seal binds the object key to external key, domain, IV and exact path.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  deriveKEK,
  ErrInvalidArgument,
  ErrInvalidSize,
  ErrKeyMismatch,
  generateOEK,
  partKey,
  randomIV,
  sealObjectKey,
  sealOEK,
  unsealObjectKey,
  unsealOEK,
  type SSEDomain,
} from '../src/index.js';

describe('sealObjectKey / unsealObjectKey', () => {
  const ek = randomBytes(32);
  const path = 'bucket/photos/2024/cat.jpg';
  const sealed = sealObjectKey({ ek, domain: 'SSE-S3', path });

  it('round-trips and returns a 64-byte seal, a 32-byte IV and a 32-byte OEK', () => {
    assert.equal(sealed.sealedKey.length, 64);
    assert.equal(sealed.iv.length, 32);
    assert.equal(sealed.oek.length, 32);
    assert.deepEqual(unsealObjectKey({ ek, domain: 'SSE-S3', path, iv: sealed.iv, sealedKey: sealed.sealedKey }), sealed.oek);
  });

  it('fails with ErrKeyMismatch for another EK, domain, IV or path', () => {
    const base = { ek, domain: 'SSE-S3' as SSEDomain, path, iv: sealed.iv, sealedKey: sealed.sealedKey };
    const variants: [string, typeof base][] = [
      ['EK', { ...base, ek: randomBytes(32) }],
      ['EK off by one bit', { ...base, ek: Buffer.from(ek.map((b, i) => (i === 31 ? b ^ 1 : b))) }],
      ['domain SSE-C', { ...base, domain: 'SSE-C' }],
      ['domain SSE-KMS', { ...base, domain: 'SSE-KMS' }],
      ['IV', { ...base, iv: randomIV() }],
      ['path: other object', { ...base, path: 'bucket/photos/2024/dog.jpg' }],
      ['path: other bucket', { ...base, path: 'bucket2/photos/2024/cat.jpg' }],
      ['path: case', { ...base, path: 'Bucket/photos/2024/cat.jpg' }],
      ['path: trailing slash', { ...base, path: `${path}/` }],
    ];
    for (const [what, input] of variants) assert.throws(() => unsealObjectKey(input), ErrKeyMismatch, what);
  });

  it('does not clean paths: a//b, a/b and x/../y are different objects', () => {
    const pairs: [string, string][] = [
      ['b/a//b', 'b/a/b'],
      ['b/x/../y', 'b/y'],
      ['b/./k', 'b/k'],
    ];
    for (const [sealedFor, tried] of pairs) {
      const s = sealObjectKey({ ek, domain: 'SSE-C', path: sealedFor });
      assert.throws(() => unsealObjectKey({ ek, domain: 'SSE-C', path: tried, iv: s.iv, sealedKey: s.sealedKey }), ErrKeyMismatch);
      assert.notDeepEqual(deriveKEK(ek, s.iv, 'SSE-C', sealedFor), deriveKEK(ek, s.iv, 'SSE-C', tried));
    }
  });

  it('every flipped bit of the seal fails with ErrKeyMismatch', () => {
    const kek = deriveKEK(ek, sealed.iv, 'SSE-S3', path);
    for (let bit = 0; bit < 64 * 8; bit++) {
      const bad = Buffer.from(sealed.sealedKey);
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
      assert.throws(() => unsealOEK(kek, bad), ErrKeyMismatch, `bit ${bit}`);
    }
  });

  it('reseals an existing key with a new EK and the same IV (SSE-C key rotation)', () => {
    const ek2 = randomBytes(32);
    const resealed = sealObjectKey({ ek: ek2, domain: 'SSE-C', path, oek: sealed.oek, iv: sealed.iv });
    assert.deepEqual(resealed.iv, sealed.iv);
    assert.deepEqual(resealed.oek, sealed.oek);
    assert.notDeepEqual(resealed.sealedKey, sealed.sealedKey);
    assert.deepEqual(unsealObjectKey({ ek: ek2, domain: 'SSE-C', path, iv: sealed.iv, sealedKey: resealed.sealedKey }), sealed.oek);
    assert.throws(() => unsealObjectKey({ ek, domain: 'SSE-C', path, iv: sealed.iv, sealedKey: resealed.sealedKey }), ErrKeyMismatch);
  });

  it('rejects malformed inputs with typed errors that carry no key material', () => {
    const kek = deriveKEK(ek, sealed.iv, 'SSE-S3', path);
    assert.throws(() => unsealOEK(kek, sealed.sealedKey.subarray(0, 63)), ErrInvalidSize);
    assert.throws(() => sealOEK(kek, Buffer.alloc(16)), ErrInvalidArgument);
    assert.throws(() => deriveKEK(Buffer.alloc(31), sealed.iv, 'SSE-S3', path), ErrInvalidArgument);
    assert.throws(() => deriveKEK(ek, Buffer.alloc(16), 'SSE-S3', path), ErrInvalidArgument);
    assert.throws(() => deriveKEK(ek, sealed.iv, 'SSE-X' as SSEDomain, path), ErrInvalidArgument);
    assert.throws(() => generateOEK(ek, Buffer.alloc(31)), ErrInvalidArgument);
    assert.throws(() => partKey(sealed.oek, -1), ErrInvalidArgument);
    try {
      unsealObjectKey({ ek, domain: 'SSE-C', path, iv: sealed.iv, sealedKey: sealed.sealedKey });
      assert.fail('should not unseal');
    } catch (err) {
      const text = `${String(err)} ${JSON.stringify(err)}`;
      for (const secret of [ek, sealed.oek, sealed.sealedKey]) {
        assert.ok(!text.includes(secret.toString('hex')) && !text.includes(secret.toString('base64')), 'no key material in the error');
      }
    }
  });

  it('generates distinct object keys, IVs and part keys', () => {
    const a = sealObjectKey({ ek, domain: 'SSE-KMS', path });
    const b = sealObjectKey({ ek, domain: 'SSE-KMS', path });
    assert.notDeepEqual(a.oek, b.oek);
    assert.notDeepEqual(a.iv, b.iv);
    const keys = new Set([1, 2, 3, 10000].map((n) => partKey(a.oek, n).toString('hex')));
    assert.equal(keys.size, 4);
  });
});
