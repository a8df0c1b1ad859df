// Known answers for the KES ciphertext format: the published HChaCha20 vector, KES's own vectors,
// ciphertexts built by hand from the formula, and tampering of every bit and every length.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encode } from '@msgpack/msgpack';
import { hchacha20 } from '../src/crypto/hchacha20.js';
import { decryptKes, encryptKes, NotAuthenticError, type Cipher } from '../src/crypto/ciphertext.js';
import { unwrapKey, wrapKey, UnwrapError } from '../src/crypto/wrap.js';

// Known-answer KES ciphertexts, kept beside the suite so it runs from a plain checkout.
const VECTORS = new URL('./fixtures/kes-ciphertexts.json', import.meta.url);
const b64 = (s: string) => Buffer.from(s, 'base64');
const hex = (s: string) => Buffer.from(s, 'hex');

interface Vector {
  cipher: Cipher;
  key: string;
  plaintext?: string;
  context?: string;
  form: string;
  fails?: string;
  ciphertext: string;
}

test('HChaCha20 matches draft-irtf-cfrg-xchacha §2.2.1', () => {
  const key = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  const input = hex('000000090000004a0000000031415927');
  assert.equal(hchacha20(key, input).toString('hex'), '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
});

test('every KES known-answer vector decrypts exactly or fails as stated', () => {
  const { vectors } = JSON.parse(readFileSync(VECTORS, 'utf8')) as { vectors: Vector[] };
  assert.ok(vectors.length >= 14);
  for (const v of vectors) {
    const run = () => decryptKes(v.cipher, b64(v.key), b64(v.ciphertext), v.context ? b64(v.context) : undefined);
    if (v.fails) assert.throws(run, NotAuthenticError, `${v.form}/${v.cipher}: ${v.fails}`);
    else assert.equal(run().toString('base64'), v.plaintext, `${v.form}/${v.cipher}`);
  }
});

// Hand-built from the formula with Node's primitives only (and the vector-checked HChaCha20).
function sealByHand(cipher: Cipher, key: Buffer, iv: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const subkey = cipher === 'AES256' ? createHmac('sha256', key).update(iv).digest() : hchacha20(key, iv);
  const c =
    cipher === 'AES256'
      ? createCipheriv('aes-256-gcm', subkey, nonce, { authTagLength: 16 })
      : createCipheriv('chacha20-poly1305', subkey, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: plaintext.length });
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([body, c.getAuthTag(), iv, nonce]);
}

function openByHand(cipher: Cipher, key: Buffer, ct: Buffer, aad: Buffer): Buffer {
  const iv = ct.subarray(ct.length - 28, ct.length - 12);
  const nonce = ct.subarray(ct.length - 12);
  const tag = ct.subarray(ct.length - 44, ct.length - 28);
  const body = ct.subarray(0, ct.length - 44);
  const subkey = cipher === 'AES256' ? createHmac('sha256', key).update(iv).digest() : hchacha20(key, iv);
  const d =
    cipher === 'AES256'
      ? createDecipheriv('aes-256-gcm', subkey, nonce, { authTagLength: 16 })
      : createDecipheriv('chacha20-poly1305', subkey, nonce, { authTagLength: 16 });
  d.setAAD(aad, { plaintextLength: body.length });
  d.setAuthTag(tag);
  return Buffer.concat([d.update(body), d.final()]);
}

for (const cipher of ['AES256', 'ChaCha20'] as const) {
  const key = Buffer.alloc(32, 0x5a);
  const iv = Buffer.alloc(16, 0x11);
  const nonce = Buffer.alloc(12, 0x22);
  const plaintext = Buffer.from('a 32-byte data encryption key!!!');
  const context = Buffer.from('bucket/object');

  test(`${cipher}: a ciphertext built by hand from the formula decrypts`, () => {
    const ct = sealByHand(cipher, key, iv, nonce, plaintext, context);
    assert.equal(ct.length, 76);
    assert.deepEqual(decryptKes(cipher, key, ct, context), plaintext);
  });

  test(`${cipher}: encryptKes output opens by hand and equals the hand-built bytes`, () => {
    const ct = encryptKes(cipher, key, plaintext, context, { iv, nonce });
    assert.deepEqual(ct, sealByHand(cipher, key, iv, nonce, plaintext, context));
    const random = encryptKes(cipher, key, plaintext, context);
    assert.deepEqual(openByHand(cipher, key, random, context), plaintext);
  });

  test(`${cipher}: the JSON and MessagePack forms of a hand-built ciphertext decrypt`, () => {
    const ct = sealByHand(cipher, key, iv, nonce, plaintext, context);
    const sealed = ct.subarray(0, ct.length - 28);
    const json = JSON.stringify({
      aead: cipher === 'AES256' ? 'AES-256-GCM-HMAC-SHA-256' : 'ChaCha20Poly1305',
      iv: iv.toString('base64'),
      nonce: nonce.toString('base64'),
      bytes: sealed.toString('base64'),
    });
    assert.deepEqual(decryptKes(cipher, key, Buffer.from(json), context), plaintext);
    const packed = encode([cipher === 'AES256' ? 'AES256-GCM_SHA256' : 'XCHACHA20-POLY1305', 'id', iv, nonce, sealed]);
    assert.equal(packed[0], 0x95);
    assert.deepEqual(decryptKes(cipher, key, packed, context), plaintext);
  });

  test(`${cipher}: wrong context, wrong key, every flipped bit and every truncation are not authentic`, () => {
    const ct = encryptKes(cipher, key, plaintext, context);
    assert.throws(() => decryptKes(cipher, key, ct, Buffer.from('bucket/other')), NotAuthenticError);
    assert.throws(() => decryptKes(cipher, key, ct), NotAuthenticError);
    assert.throws(() => decryptKes(cipher, Buffer.alloc(32, 0x5b), ct, context), NotAuthenticError);
    for (let bit = 0; bit < ct.length * 8; bit++) {
      const bad = Buffer.from(ct);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.throws(() => decryptKes(cipher, key, bad, context), NotAuthenticError, `bit ${bit}`);
    }
    for (let len = 0; len < ct.length; len++) {
      assert.throws(() => decryptKes(cipher, key, ct.subarray(0, len), context), NotAuthenticError, `length ${len}`);
    }
  });
}

test('an absent context equals an empty one', () => {
  const key = Buffer.alloc(32, 1);
  const ct = encryptKes('AES256', key, Buffer.from('x'));
  assert.deepEqual(decryptKes('AES256', key, ct, Buffer.alloc(0)), Buffer.from('x'));
});

test('key wrapping binds the AAD and the key', () => {
  const key = Buffer.alloc(32, 7);
  const w = wrapKey(key, Buffer.from('a'), Buffer.from('secret'));
  assert.deepEqual(unwrapKey(key, Buffer.from('a'), w), Buffer.from('secret'));
  assert.throws(() => unwrapKey(key, Buffer.from('b'), w), UnwrapError);
  assert.throws(() => unwrapKey(Buffer.alloc(32, 8), Buffer.from('a'), w), UnwrapError);
  const tampered = Buffer.from(w);
  tampered[20]! ^= 1;
  assert.throws(() => unwrapKey(key, Buffer.from('a'), tampered), UnwrapError);
});

test('the random pool hands out fresh bytes across refills and never the same value twice', async () => {
  const { randomBytesFromPool } = await import('../src/crypto/random.js');
  const seen = new Set<string>();
  for (let i = 0; i < 600; i++) {
    const b = randomBytesFromPool(i % 2 ? 32 : 28); // ~18 KiB: several refills of the 4 KiB pool
    assert.equal(b.length, i % 2 ? 32 : 28);
    assert.notDeepEqual(b, Buffer.alloc(b.length));
    seen.add(b.toString('hex'));
  }
  assert.equal(seen.size, 600);
  assert.throws(() => randomBytesFromPool(4097), RangeError);
});
