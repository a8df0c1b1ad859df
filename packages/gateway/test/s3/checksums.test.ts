import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32c as awsCrc32c } from '@aws-crypto/crc32c';
import { crc32c, crc64nvme, Crc64Nvme } from '../../src/s3/crc.js';
import { checksumOf, parseChecksumRequest, PayloadVerifier, type PayloadVerifierOptions } from '../../src/s3/checksums.js';
import { S3Error } from '../../src/s3/errors.js';
import { OFF_THREAD_MIN_BYTES } from '../../src/s3/hash-worker.js';

// Bit-by-bit CRC-64/NVME straight from its definition (reflected poly 0x9A6C9329AC4BC9B5), as an oracle.
function crc64Reference(data: Uint8Array): string {
  let crc = 0xffffffffffffffffn;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ 0x9a6c9329ac4bc9b5n : crc >> 1n;
  }
  return (crc ^ 0xffffffffffffffffn).toString(16).padStart(16, '0');
}

const CHECK = Buffer.from('123456789');

describe('CRC implementations', () => {
  it('match the catalogued check values for "123456789"', () => {
    assert.equal(crc32c(CHECK).toString('hex'), 'e3069283'); // CRC-32/ISCSI
    assert.equal(crc64nvme(CHECK).toString('hex'), 'ae8b14860a799888'); // CRC-64/NVME
    assert.equal(checksumOf('crc32', CHECK), Buffer.from('cbf43926', 'hex').toString('base64')); // CRC-32/ISO-HDLC
  });

  it('CRC32C of 66560 "a" is the value in AWS\'s signed-trailer example (sOO8/Q==)', () => {
    assert.equal(checksumOf('crc32c', Buffer.alloc(66560, 'a')), 'sOO8/Q==');
  });

  it('agree with @aws-crypto/crc32c and the bitwise CRC-64 for every length around the 8-byte stride', () => {
    for (let n = 0; n < 40; n++) {
      const b = randomBytes(n);
      assert.equal(crc32c(b).readUInt32BE(0), awsCrc32c(b), `crc32c, ${n} bytes`);
      assert.equal(crc64nvme(b).toString('hex'), crc64Reference(b), `crc64nvme, ${n} bytes`);
    }
  });

  it('give the same result fed in pieces as in one go', () => {
    const b = randomBytes(10_001);
    const h = new Crc64Nvme();
    for (let i = 0; i < b.length; i += 333) h.update(b.subarray(i, i + 333));
    assert.equal(h.digest().toString('hex'), crc64nvme(b).toString('hex'));
  });
});

function expectS3(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof S3Error && err.code === code && (!message || message.test(err.message)));
}

describe('parseChecksumRequest', () => {
  const crc = checksumOf('crc32', Buffer.from('x'));
  it('reads Content-MD5, a checksum header, or a checksum trailer', () => {
    const md5 = createHash('md5').update('x').digest('base64');
    assert.deepEqual(parseChecksumRequest({ 'content-md5': md5 }), { contentMd5: md5 });
    assert.deepEqual(parseChecksumRequest({ 'x-amz-checksum-crc32': crc, 'x-amz-sdk-checksum-algorithm': 'CRC32' }), {
      checksum: { algorithm: 'crc32', value: crc, fromTrailer: false },
    });
    assert.deepEqual(parseChecksumRequest({ 'x-amz-trailer': 'x-amz-checksum-crc64nvme' }), {
      checksum: { algorithm: 'crc64nvme', fromTrailer: true },
    });
    // Other x-amz-checksum-* headers are not checksums.
    assert.deepEqual(parseChecksumRequest({ 'x-amz-checksum-mode': 'ENABLED' }), {});
  });

  it('refuses what AWS refuses', () => {
    expectS3(() => parseChecksumRequest({ 'content-md5': 'abc' }), 'InvalidDigest');
    expectS3(
      () => parseChecksumRequest({ 'x-amz-checksum-sha256': crc }),
      'InvalidRequest',
      /Value for x-amz-checksum-sha256 header is invalid/,
    );
    expectS3(
      () => parseChecksumRequest({ 'x-amz-checksum-crc32': crc, 'x-amz-checksum-crc32c': crc }),
      'InvalidRequest',
      /Multiple checksum Types are not allowed/,
    );
    expectS3(() => parseChecksumRequest({ 'x-amz-sdk-checksum-algorithm': 'CRC32' }), 'InvalidRequest', /no corresponding/);
    expectS3(() => parseChecksumRequest({ 'x-amz-sdk-checksum-algorithm': 'MD4', 'x-amz-checksum-crc32': crc }), 'InvalidRequest');
    expectS3(() => parseChecksumRequest({ 'x-amz-trailer': 'x-amz-meta-foo' }), 'InvalidRequest');
  });
});

async function run(data: Buffer, options: PayloadVerifierOptions): Promise<PayloadVerifier> {
  const verifier = new PayloadVerifier(options);
  const pieces = [data.subarray(0, 7), data.subarray(7)];
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), verifier, async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) out.push(c as Buffer);
  });
  assert.ok(Buffer.concat(out).equals(data), 'bytes pass through unchanged');
  return verifier;
}

describe('PayloadVerifier', () => {
  const data = Buffer.from('some payload bytes');
  const sha = createHash('sha256').update(data).digest('hex');
  const md5 = createHash('md5').update(data);

  it('yields size, MD5 and the requested checksum once the stream ends', async () => {
    const v = await run(data, {
      contentSha256: sha,
      contentMd5: createHash('md5').update(data).digest('base64'),
      checksum: { algorithm: 'sha1' },
    });
    assert.equal(v.digests?.size, data.length);
    assert.equal(v.digests?.md5Hex, md5.digest('hex'));
    assert.deepEqual(v.digests?.checksum, { algorithm: 'sha1', value: createHash('sha1').update(data).digest('base64') });
  });

  it('fails the stream with the S3 error for each kind of mismatch', async () => {
    const cases: [PayloadVerifierOptions, string][] = [
      [{ contentSha256: sha.replace(/^./, sha[0] === '0' ? '1' : '0') }, 'XAmzContentSHA256Mismatch'],
      [{ contentMd5: createHash('md5').update('other').digest('base64') }, 'BadDigest'],
      [{ checksum: { algorithm: 'crc32c', expected: checksumOf('crc32c', Buffer.from('other')) } }, 'BadDigest'],
      [{ checksum: { algorithm: 'crc32', expected: () => 'bad' } }, 'InvalidRequest'],
      [{ expectedSize: data.length + 1 }, 'IncompleteBody'],
      [{ expectedSize: data.length - 1 }, 'InvalidRequest'],
      [{ maxSize: 10 }, 'EntityTooLarge'],
    ];
    for (const [options, code] of cases) {
      await assert.rejects(run(data, options), (err: unknown) => err instanceof S3Error && err.code === code, code);
    }
  });
});

describe('PayloadVerifier on the hashing worker (bodies of 1 MiB and more)', () => {
  // Chunks of odd sizes, as a socket delivers them; more than the worker's high-water mark, so the stream
  // waits for the worker at least once.
  const big = randomBytes(OFF_THREAD_MIN_BYTES * 12 + 12_345);
  const chunked = (buf: Buffer): Buffer[] => {
    const out: Buffer[] = [];
    for (let off = 0; off < buf.length; off += 65_521) out.push(buf.subarray(off, off + 65_521));
    return out;
  };
  const through = async (data: Buffer, options: PayloadVerifierOptions): Promise<PayloadVerifier> => {
    const verifier = new PayloadVerifier(options);
    const out: Buffer[] = [];
    await pipeline(Readable.from(chunked(data)), verifier, async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) out.push(c as Buffer);
    });
    assert.ok(Buffer.concat(out).equals(data), 'bytes pass through unchanged and in order');
    return verifier;
  };

  it('gives the same MD5 and verifies the same SHA-256 and Content-MD5 as hashing in place', async () => {
    const v = await through(big, {
      expectedSize: big.length,
      contentSha256: createHash('sha256').update(big).digest('hex'),
      contentMd5: createHash('md5').update(big).digest('base64'),
    });
    assert.equal(v.digests?.md5Hex, createHash('md5').update(big).digest('hex'));
    assert.equal(v.digests?.size, big.length);
  });

  it('fails with BadDigest or XAmzContentSHA256Mismatch when the body does not match', async () => {
    const wrong = createHash('md5').update('other').digest('base64');
    await assert.rejects(
      through(big, { expectedSize: big.length, contentMd5: wrong }),
      (err: unknown) => err instanceof S3Error && err.code === 'BadDigest',
    );
    const wrongSha = createHash('sha256').update('other').digest('hex');
    await assert.rejects(
      through(big, { expectedSize: big.length, contentSha256: wrongSha }),
      (err: unknown) => err instanceof S3Error && err.code === 'XAmzContentSHA256Mismatch',
    );
  });

  it('wakes the worker once per 256 KiB or so, not once per chunk', async () => {
    // Each wake-up of a waiting worker is a system call on the event loop (and, on a busy machine, often its core).
    // Atomics.notify is wrapped, not replaced: it still wakes the worker; the wrapper only counts the calls.
    const notify = Atomics.notify.bind(Atomics);
    let calls = 0;
    Atomics.notify = ((...args: Parameters<typeof Atomics.notify>) => (calls++, notify(...args))) as typeof Atomics.notify;
    let v: PayloadVerifier;
    try {
      v = await through(big, { expectedSize: big.length });
    } finally {
      Atomics.notify = notify;
    }
    assert.equal(v.digests?.md5Hex, createHash('md5').update(big).digest('hex'));
    const chunks = chunked(big).length; // 193: one notify each before
    assert.ok(calls <= Math.ceil(big.length / (256 * 1024)) + 4, `${calls} wake-ups for ${chunks} chunks of ${big.length} bytes`);
  });

  it('keeps bodies apart when several are hashed at once, one of them abandoned midway, more than the worker takes', async () => {
    // 20 bodies at once: the first 16 go to the worker, the others are hashed in place.
    const others = Array.from({ length: 20 }, (_, i) => randomBytes(OFF_THREAD_MIN_BYTES + i * 4099));
    const abandoned = new PayloadVerifier({ expectedSize: big.length });
    abandoned.write(big.subarray(0, OFF_THREAD_MIN_BYTES));
    abandoned.destroy();
    const results = await Promise.all(others.map((d) => through(d, { expectedSize: d.length })));
    results.forEach((v, i) => assert.equal(v.digests?.md5Hex, createHash('md5').update(others[i]!).digest('hex')));
  });
});
