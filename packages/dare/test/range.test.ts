// Size arithmetic, range mapping over a multipart layout, part ranges, and the HTTP Range header.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  createDecryptStream,
  decryptBuffer,
  decryptedSize,
  encryptBuffer,
  encryptedSize,
  ENC_PACKAGE_SIZE,
  ErrInvalidPartNumber,
  ErrInvalidRange,
  ErrInvalidSize,
  ErrTruncated,
  mapRange,
  PACKAGE_OVERHEAD,
  PACKAGE_SIZE,
  parseRangeHeader,
  partKey,
  partRange,
  type RangeSegment,
} from '../src/index.js';
import { chunksOf, pseudoRandom, run } from './helpers.js';

const MiB = 1024 * 1024;

describe('sizes', () => {
  it('has the format constants and examples', () => {
    assert.equal(PACKAGE_SIZE, 65536);
    assert.equal(PACKAGE_OVERHEAD, 32);
    assert.equal(ENC_PACKAGE_SIZE, 65568);
    const examples: [number, number][] = [
      [0, 0],
      [1, 33],
      [65535, 65567],
      [65536, 65568],
      [65537, 65601],
      [MiB, 1049088],
    ];
    for (const [n, m] of examples) {
      assert.equal(encryptedSize(n), m, `enc(${n})`);
      assert.equal(decryptedSize(m), n, `dec(${m})`);
    }
  });

  it('inverts for sizes around every package edge', () => {
    for (let k = 0; k < 4; k++) {
      for (let d = -2; d <= 2; d++) {
        const n = k * PACKAGE_SIZE + d;
        if (n < 0) continue;
        assert.equal(decryptedSize(encryptedSize(n)), n);
        assert.equal(encryptBuffer(randomBytes(32), Buffer.alloc(n)).length, encryptedSize(n));
      }
    }
  });

  it('rejects impossible sizes', () => {
    for (const m of [1, 32, 65568 + 1, 65568 + 32, 3 * 65568 + 17]) assert.throws(() => decryptedSize(m), ErrInvalidSize, `dec(${m})`);
    for (const n of [-1, 1.5, Number.NaN, Infinity]) assert.throws(() => encryptedSize(n), ErrInvalidSize, `enc(${n})`);
    assert.throws(() => decryptedSize(-33), ErrInvalidSize);
  });
});

describe('mapRange over a multipart object', () => {
  // Parts of unequal sizes, each encrypted under its own part key with its own nonce, as the gateway stores them.
  const sizes = [5 * MiB + 3, 5 * MiB, 70000];
  const oek = randomBytes(32);
  const plain = sizes.map((n, i) => pseudoRandom(n, 100 + i));
  const object = Buffer.concat(plain);
  const keys = sizes.map((_, i) => partKey(oek, i + 1));
  const enc = plain.map((p, i) => encryptBuffer(keys[i] as Buffer, p));
  const parts = sizes.map((plainSize) => ({ plainSize }));
  const total = object.length;

  function readRange(offset: number, length: number): { data: Buffer; segs: RangeSegment[] } {
    const segs = mapRange(offset, length, parts);
    const out = segs.map((s) => {
      const stored = enc[s.part - 1] as Buffer;
      const slice = stored.subarray(s.encOffset, s.encOffset + s.encLength);
      return decryptBuffer(keys[s.part - 1] as Buffer, slice, { startSeq: s.startSeq, skip: s.skip, length: s.take });
    });
    return { data: Buffer.concat(out), segs };
  }

  function checkCoverage(offset: number, length: number, segs: RangeSegment[]): void {
    let covered = 0;
    let encBefore = 0;
    let partStart = 0;
    for (let p = 0; p < sizes.length; p++) {
      const s = segs.find((x) => x.part === p + 1);
      const size = sizes[p] as number;
      const overlaps = length > 0 && offset < partStart + size && offset + length > partStart;
      assert.equal(s !== undefined, overlaps, `part ${p + 1} is listed exactly when the range touches it`);
      if (s) {
        const encSize = encryptedSize(size);
        assert.equal(s.encOffset % ENC_PACKAGE_SIZE, 0, 'starts on a package boundary');
        assert.equal(s.encOffset / ENC_PACKAGE_SIZE, s.startSeq);
        assert.equal(s.objectEncOffset, encBefore + s.encOffset);
        assert.ok(s.encOffset + s.encLength <= encSize, 'stays inside the part');
        const pkgs = Math.ceil(s.encLength / ENC_PACKAGE_SIZE);
        assert.ok(s.encLength % ENC_PACKAGE_SIZE === 0 || s.encOffset + s.encLength === encSize, 'whole packages only');
        // No package outside the range: the first package holds the first byte, the last holds the last byte.
        assert.ok(s.skip < PACKAGE_SIZE, 'first package holds the first byte');
        assert.ok(s.skip + s.take > (pkgs - 1) * PACKAGE_SIZE, 'last package holds the last byte');
        assert.ok(s.skip + s.take <= pkgs * PACKAGE_SIZE);
        assert.equal(partStart + s.startSeq * PACKAGE_SIZE + s.skip, Math.max(offset, partStart), 'starts at the range start');
        covered += s.take;
      }
      partStart += size;
      encBefore += encryptedSize(size);
    }
    assert.equal(covered, length);
  }

  it('reads exactly the plaintext slice at every package and part boundary ±1', () => {
    const offsets = new Set<number>();
    let partStart = 0;
    for (const size of sizes) {
      for (let b = partStart; b <= partStart + size; b += PACKAGE_SIZE) for (const d of [-1, 0, 1]) offsets.add(b + d);
      for (const d of [-1, 0, 1]) offsets.add(partStart + size + d);
      partStart += size;
    }
    let cases = 0;
    for (const offset of offsets) {
      if (offset < 0 || offset >= total) continue;
      for (const length of [1, 2, PACKAGE_SIZE, PACKAGE_SIZE + 2]) {
        const len = Math.min(length, total - offset);
        const { data, segs } = readRange(offset, len);
        assert.ok(data.equals(object.subarray(offset, offset + len)), `range ${offset}+${len}`);
        checkCoverage(offset, len, segs);
        cases++;
      }
    }
    assert.ok(cases > 600, `${cases} cases`);
  });

  it('reads ranges ending on boundaries, spanning parts, and the whole object', () => {
    const p1 = sizes[0] as number;
    const p2 = p1 + (sizes[1] as number);
    const pairs: [number, number][] = [
      [0, total],
      [0, 1],
      [total - 1, 1],
      [0, PACKAGE_SIZE],
      [1, PACKAGE_SIZE - 1],
      [p1 - 5, 10],
      [p1 - PACKAGE_SIZE, 2 * PACKAGE_SIZE],
      [p2 - 1, 2],
      [p1 - 1, (sizes[1] as number) + 2], // first part's last byte through third part's first byte
      [12345, total - 12345 - 54321],
    ];
    for (let i = 0; i < 20; i++) {
      const off = Math.floor(Math.random() * total);
      pairs.push([off, 1 + Math.floor(Math.random() * Math.min(3 * PACKAGE_SIZE, total - off))]);
    }
    for (const [offset, length] of pairs) {
      const { data, segs } = readRange(offset, length);
      assert.ok(data.equals(object.subarray(offset, offset + length)), `range ${offset}+${length}`);
      checkCoverage(offset, length, segs);
    }
  });

  it('decrypts a mapped range through the stream, fed in odd chunks', async () => {
    const [s] = mapRange(PACKAGE_SIZE * 3 + 100, 3 * PACKAGE_SIZE, parts);
    assert.ok(s);
    const slice = (enc[0] as Buffer).subarray(s.encOffset, s.encOffset + s.encLength);
    const got = await run(
      createDecryptStream(keys[0] as Buffer, { startSeq: s.startSeq, skip: s.skip, length: s.take }),
      chunksOf(slice, 777),
    );
    assert.equal(got.error, null);
    assert.ok(got.output.equals(object.subarray(PACKAGE_SIZE * 3 + 100, PACKAGE_SIZE * 6 + 100)));
  });

  it('authenticates only the packages in the range: damage elsewhere does not matter', () => {
    const damaged = Buffer.from(enc[0] as Buffer);
    damaged.writeUInt8((damaged[10 * ENC_PACKAGE_SIZE + 100] as number) ^ 1, 10 * ENC_PACKAGE_SIZE + 100); // package 10 of part 1
    const [s] = mapRange(2 * PACKAGE_SIZE, 100, parts);
    assert.ok(s);
    const slice = damaged.subarray(s.encOffset, s.encOffset + s.encLength);
    assert.ok(
      decryptBuffer(keys[0] as Buffer, slice, { startSeq: s.startSeq, skip: s.skip, length: s.take }).equals(
        object.subarray(2 * PACKAGE_SIZE, 2 * PACKAGE_SIZE + 100),
      ),
    );
  });

  it('fails a range read with the wrong sequence number or a short read', () => {
    const [s] = mapRange(5 * PACKAGE_SIZE, 10, parts);
    assert.ok(s);
    const slice = (enc[0] as Buffer).subarray(s.encOffset, s.encOffset + s.encLength);
    assert.throws(
      () => decryptBuffer(keys[0] as Buffer, slice, { startSeq: s.startSeq + 1, skip: s.skip, length: s.take }),
      /authentication/,
    );
    assert.throws(
      () => decryptBuffer(keys[0] as Buffer, slice.subarray(0, slice.length - 1), { startSeq: s.startSeq, skip: s.skip, length: s.take }),
      ErrTruncated,
    );
    // Asking for more than the stream holds: the final package comes before the range is filled.
    const last = enc[2] as Buffer;
    assert.throws(() => decryptBuffer(keys[2] as Buffer, last, { length: 70001 }), ErrInvalidRange);
  });

  it('rejects ranges outside the object', () => {
    assert.throws(() => mapRange(total, 1, parts), ErrInvalidRange);
    assert.throws(() => mapRange(0, total + 1, parts), ErrInvalidRange);
    assert.throws(() => mapRange(-1, 1, parts), ErrInvalidRange);
    assert.deepEqual(mapRange(5, 0, parts), []);
  });
});

describe('decrypt options without mapRange', () => {
  const key = randomBytes(32);
  const pt = pseudoRandom(3 * PACKAGE_SIZE + 10, 77);
  const enc = encryptBuffer(key, pt);
  it('skip may cross packages (they are still authenticated), with or without length', () => {
    assert.ok(decryptBuffer(key, enc, { skip: 70000 }).equals(pt.subarray(70000)));
    assert.ok(decryptBuffer(key, enc, { skip: 70000, length: 100000 }).equals(pt.subarray(70000, 170000)));
    assert.ok(decryptBuffer(key, enc, { skip: pt.length }).equals(Buffer.alloc(0)));
    assert.equal(decryptBuffer(key, enc, { length: 0 }).length, 0);
  });
  it('a skip past the end is an invalid range', () => {
    assert.throws(() => decryptBuffer(key, enc, { skip: pt.length + 1 }), ErrInvalidRange);
    assert.throws(() => decryptBuffer(key, Buffer.alloc(0), { skip: 1 }), ErrInvalidRange);
  });
  it('with length set, input after the range is ignored', () => {
    const withJunk = Buffer.concat([enc.subarray(0, ENC_PACKAGE_SIZE), Buffer.from('not a package')]);
    assert.ok(decryptBuffer(key, withJunk, { length: 10 }).equals(pt.subarray(0, 10)));
  });
});

describe('partRange', () => {
  const parts = [{ plainSize: 10 }, { plainSize: 20 }, { plainSize: 5 }];
  it('gives each part its plaintext range', () => {
    assert.deepEqual(partRange(1, parts), { offset: 0, length: 10 });
    assert.deepEqual(partRange(2, parts), { offset: 10, length: 20 });
    assert.deepEqual(partRange(3, parts), { offset: 30, length: 5 });
  });
  it('rejects part numbers that do not exist', () => {
    for (const n of [0, 4, -1, 1.5, 10001]) assert.throws(() => partRange(n, parts), ErrInvalidPartNumber);
  });
});

describe('parseRangeHeader', () => {
  const size = 1000;
  it('serves single ranges as HTTP and S3 do', () => {
    const cases: [string, { offset: number; length: number }][] = [
      ['bytes=0-0', { offset: 0, length: 1 }],
      ['bytes=0-999', { offset: 0, length: 1000 }],
      ['bytes=10-19', { offset: 10, length: 10 }],
      ['bytes=990-5000', { offset: 990, length: 10 }], // last byte clamped
      ['bytes=500-', { offset: 500, length: 500 }],
      ['bytes=-1', { offset: 999, length: 1 }],
      ['bytes=-100', { offset: 900, length: 100 }],
      ['bytes=-5000', { offset: 0, length: 1000 }], // suffix longer than the object: all of it
      [' bytes=1-2 ', { offset: 1, length: 2 }],
      ['Bytes=1-2', { offset: 1, length: 2 }],
    ];
    for (const [h, want] of cases) assert.deepEqual(parseRangeHeader(h, size), want, h);
  });

  it('ignores absent, malformed and multi-range headers (whole object)', () => {
    for (const h of [
      undefined,
      '',
      'bytes=',
      'bytes=-',
      'bytes=5-3',
      'bytes=a-b',
      'items=0-1',
      'bytes=0-1,5-6',
      'bytes=-5-10',
      'bytes 0-1',
      'bytes=1.5-2',
    ]) {
      assert.equal(parseRangeHeader(h, size), null, String(h));
    }
  });

  it('rejects unsatisfiable ranges with the size for Content-Range', () => {
    for (const h of ['bytes=1000-', 'bytes=1000-1001', 'bytes=99999999999999999999-', 'bytes=-0']) {
      assert.throws(
        () => parseRangeHeader(h, size),
        (e: unknown) => e instanceof ErrInvalidRange && e.size === size && e.code === 'InvalidRange',
        h,
      );
    }
  });

  it('treats an empty object like S3: first-byte ranges are unsatisfiable, a suffix range serves it whole', () => {
    assert.throws(() => parseRangeHeader('bytes=0-', 0), ErrInvalidRange);
    assert.throws(() => parseRangeHeader('bytes=0-0', 0), ErrInvalidRange);
    assert.equal(parseRangeHeader('bytes=-10', 0), null);
  });
});
