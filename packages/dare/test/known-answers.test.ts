// Known answers: the partKey vectors of docs/object-format.md, streams and seals compared with by-hand constructions from
// the formulas (helpers.ts handEncrypt, createHmac here), literal vectors computed with an independent
// implementation (Python `cryptography`, see the comment at each), and a sealed key written by MinIO.
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  createEncryptStream,
  decryptBuffer,
  deriveKEK,
  encryptBuffer,
  generateOEK,
  objectPath,
  partKey,
  sealOEK,
  unsealObjectKey,
  unsealOEK,
  ErrKeyMismatch,
  type CipherName,
} from '../src/index.js';
import { chunksOf, handEncrypt, run } from './helpers.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('partKey', () => {
  it('matches the vectors of docs/object-format.md for an all-zero OEK', () => {
    const oek = Buffer.alloc(32);
    assert.equal(partKey(oek, 0).toString('hex'), 'aa7855e13839dd767cd5da7c1ff5036540c9264b7a803029315e55375287b4af');
    assert.equal(partKey(oek, 1).toString('hex'), 'a3e7181c6eed030fd52f79537c56c4d07da92e56d374ff1dd2043350785b37d8');
    assert.equal(partKey(oek, 10000).toString('hex'), 'f86e65c396ed52d204ee44bd1a0bbd86eb8b01b7354e67a3b3ae0e34dd5bd115');
  });
  it('is HMAC-SHA256(OEK, uint32le(n)) computed by hand', () => {
    const oek = Buffer.alloc(32, 7);
    const n = 0x01020304;
    const byHand = createHmac('sha256', oek)
      .update(Buffer.from([0x04, 0x03, 0x02, 0x01]))
      .digest();
    assert.deepEqual(partKey(oek, n), byHand);
  });
});

describe('package stream encryption equals the formulas', () => {
  const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  const ciphers: [CipherName, 0 | 1][] = [
    ['AES-256-GCM', 0],
    ['ChaCha20-Poly1305', 1],
  ];
  // Nonces with the top bit set and cleared: the encoder must overwrite it with the final flag.
  const nonces = [hex('f0e1d2c3b4a5968778695a4b'), hex('0102030405060708090a0b0c')];
  const sizes = [1, 29, 65535, 65536, 65537, 2 * 65536 + 100];
  for (const [name, id] of ciphers) {
    for (const nonce of nonces) {
      it(`${name}, nonce ${nonce.toString('hex')}: one-shot and stream output equal the by-hand packages`, async () => {
        for (const n of sizes) {
          const pt = Buffer.alloc(n, 0x5a);
          for (let i = 0; i < n; i += 97) pt[i] = i & 0xff;
          const expected = handEncrypt(key, nonce, pt, id);
          assert.deepEqual(encryptBuffer(key, pt, { nonce, cipher: name }), expected, `one-shot, ${n} bytes`);
          const streamed = await run(createEncryptStream(key, { nonce, cipher: name }), chunksOf(pt, 10000));
          assert.equal(streamed.error, null);
          assert.deepEqual(streamed.output, expected, `stream, ${n} bytes`);
          assert.deepEqual(decryptBuffer(key, expected), pt, `decrypting the by-hand stream, ${n} bytes`);
        }
      });
    }
  }

  it('writes the header fields FORMAT.md lists', () => {
    const nonce = hex('ffeeddccbbaa998877665544');
    const enc = encryptBuffer(key, Buffer.alloc(65536 + 5), { nonce });
    const p0 = enc.subarray(0, 16);
    const p1 = enc.subarray(65568, 65568 + 16);
    assert.deepEqual([...p0.subarray(0, 4)], [0x20, 0x00, 0xff, 0xff]); // version, AES-GCM, len-1 = 65535
    assert.deepEqual([...p1.subarray(0, 4)], [0x20, 0x00, 0x04, 0x00]); // len-1 = 4
    assert.equal(p0[4], 0x7f); // non-final: flag cleared
    assert.equal(p1[4], 0xff); // final: flag set
    assert.deepEqual(p0.subarray(5), nonce.subarray(1));
    assert.deepEqual(p1.subarray(5), nonce.subarray(1));
    assert.equal(enc.length, 65568 + 5 + 32);
  });

  // Literal answers computed with Python's `cryptography` (AESGCM / ChaCha20Poly1305) from FORMAT.md's
  // formulas, key = 00 01 .. 1f, nonce = f0e1d2c3b4a5968778695a4b.
  it('matches vectors from an independent implementation', () => {
    const nonce = hex('f0e1d2c3b4a5968778695a4b');
    const small = Buffer.from('kesgate DARE 2.0 known answer');
    assert.equal(
      encryptBuffer(key, small, { nonce }).toString('hex'),
      '20001c00f0e1d2c3b4a5968778695a4b84b0c880c5e7e699c2c0b0179b7c41caf89071475988815e6388c9432ea3532291d5a3528f36509f6d2a94e050',
    );
    assert.equal(
      encryptBuffer(key, small, { nonce, cipher: 'ChaCha20-Poly1305' }).toString('hex'),
      '20011c00f0e1d2c3b4a5968778695a4b3d88ba89327a23076eaaa044abdcc4d45d72ed2e90c6880346593ba85d582cb18251e75fc113d4134ec7a49088',
    );
    const big = Buffer.from(Array.from({ length: 65536 * 2 + 100 }, (_, i) => (i * 31 + 7) & 0xff));
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(encryptBuffer(key, big, { nonce })), 'f71715c6cc96e58d0925788c5212591aeeab74f09edb64f715e85676587dfa6e');
    assert.equal(
      sha(encryptBuffer(key, big, { nonce, cipher: 'ChaCha20-Poly1305' })),
      'd1612ebba0812de38321631d10fafb161bcb362171dbdc91a891734211b192e1',
    );
  });
});

describe('key derivation and sealing equal the formulas', () => {
  const ek = Buffer.alloc(32, 0x11);
  const iv = Buffer.alloc(32, 0x22);
  const oek = Buffer.alloc(32, 0x33);
  const path = 'my-bucket/dir/ünïcode object';

  it('KEK = HMAC-SHA256(EK, IV ‖ domain ‖ "DAREv2-HMAC-SHA256" ‖ path)', () => {
    const byHand = createHmac('sha256', ek)
      .update(Buffer.concat([iv, Buffer.from('SSE-KMS'), Buffer.from('DAREv2-HMAC-SHA256'), Buffer.from(path, 'utf8')]))
      .digest();
    const kek = deriveKEK(ek, iv, 'SSE-KMS', path);
    assert.deepEqual(kek, byHand);
    // Python `cryptography`/hmac, same inputs.
    assert.equal(kek.toString('hex'), '3e29e8c1a4b9f51eff0608fbb6beec03685ba5a39fc303733d47918656d66a91');
  });

  it('the sealed key is one DARE package of the OEK under the KEK', () => {
    const kek = deriveKEK(ek, iv, 'SSE-KMS', path);
    const nonce = Buffer.alloc(12, 0x44);
    const sealed = sealOEK(kek, oek, nonce);
    assert.equal(sealed.length, 64);
    assert.deepEqual(sealed, handEncrypt(kek, nonce, oek));
    assert.equal(
      sealed.toString('hex'),
      '20001f00c4444444444444444444444490702a203afa47150552f239c4d6e96b9dfc2318a70fb9414c6b4d602f93e437c462e5eb7af398009799f7c49493434b',
    );
    assert.deepEqual(unsealOEK(kek, sealed), oek);
  });

  it('OEK = HMAC-SHA256(EK, "object-encryption-key generation" ‖ random)', () => {
    const random = Buffer.alloc(32, 0x55);
    const byHand = createHmac('sha256', ek)
      .update(Buffer.concat([Buffer.from('object-encryption-key generation'), random]))
      .digest();
    assert.deepEqual(generateOEK(ek, random), byHand);
    assert.equal(generateOEK(ek, random).toString('hex'), 'e446b55e912407fed4a1ffd915f5251c0938fa0eac1bf53d658b20446b1348b7');
  });

  // A sealed key MinIO wrote (minio/minio internal/crypto/sse_test.go, SSE-C key
  // "32byteslongsecretkeymustprovided", bucket/object): kesgate must open it and, resealing the
  // recovered OEK with the same nonce, produce MinIO's bytes exactly.
  it('opens a key MinIO sealed, and reseals it byte for byte', () => {
    const minioEK = Buffer.from('32byteslongsecretkeymustprovided');
    const minioIV = Buffer.from('coVfGS3I/CTrqexX5vUN+PQPoP9aUFiPYYrSzqTWfBA=', 'base64');
    const minioSealed = Buffer.from('IAAfAMBdYor5tf/UlVaQvwYlw5yKbPBeQqfygqsfHqhu1wHD9KDAP4bw38AhL12prFTS23JbbR9Re5Qv26ZnlQ==', 'base64');
    // The path the gateway binds for object "object" in bucket "bucket" is the one MinIO bound.
    const path = objectPath('bucket', 'object');
    const got = unsealObjectKey({ ek: minioEK, iv: minioIV, domain: 'SSE-C', path, sealedKey: minioSealed });
    assert.equal(got.length, 32);
    const kek = deriveKEK(minioEK, minioIV, 'SSE-C', path);
    assert.deepEqual(sealOEK(kek, got, minioSealed.subarray(4, 16)), minioSealed);
    assert.throws(
      () => unsealObjectKey({ ek: minioEK, iv: minioIV, domain: 'SSE-C', path: 'bucket/object2', sealedKey: minioSealed }),
      ErrKeyMismatch,
    );
  });
});
