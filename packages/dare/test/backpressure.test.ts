// A slow consumer makes the streams pause mid-chunk; every pause must resume, whatever the chunk sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream, createEncryptStream } from '../src/index.js';

function slowSink(out: Buffer[]): Writable {
  // An asynchronous write with a small buffer, like a file or a socket: the readable side fills up.
  return new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      setImmediate(cb);
    },
  });
}

function chunks(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

for (const total of [140_000, 200_000, 3 * 65536 + 5, 1_000_000]) {
  for (const chunk of [total, 100_000, 65536, 4096]) {
    test(`encrypt and decrypt ${total} bytes in ${chunk}-byte chunks into a slow consumer`, async () => {
      const key = randomBytes(32);
      const data = randomBytes(total);
      const enc: Buffer[] = [];
      await pipeline(Readable.from(chunks(data, chunk)), new PassThrough(), createEncryptStream(key), slowSink(enc));
      const ciphertext = Buffer.concat(enc);
      assert.equal(ciphertext.length, Math.floor(total / 65536) * 65568 + (total % 65536 ? (total % 65536) + 32 : 0));
      const dec: Buffer[] = [];
      await pipeline(Readable.from(chunks(ciphertext, chunk)), new PassThrough(), createDecryptStream(key), slowSink(dec));
      assert.ok(Buffer.concat(dec).equals(data));
    });
  }
}
