// The ETag MD5, inline for small payloads and on a worker thread for large ones: same answers, bounded
// memory (a producer that gets ahead waits), and an idle worker never keeps a process alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createMd5, OFFLOAD_MIN_BYTES } from '../../src/s3/md5.js';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

test('inline and worker MD5 agree with node:crypto for many sizes and chunkings', async () => {
  for (const size of [0, 1, 1000, OFFLOAD_MIN_BYTES - 1, OFFLOAD_MIN_BYTES, 3 * OFFLOAD_MIN_BYTES + 12345]) {
    const data = randomBytes(size);
    for (const chunk of [1, 4096, 65536, 1 << 20]) {
      if (size > 100_000 && chunk === 1) continue;
      const h = createMd5(size);
      for (let i = 0; i < size; i += chunk) {
        h.update(data.subarray(i, i + chunk));
        await h.ready();
      }
      assert.equal((await h.digest()).toString('hex'), md5(data), `${size} bytes in ${chunk}-byte chunks`);
    }
  }
});

test('concurrent worker hashes stay apart', async () => {
  const inputs = Array.from({ length: 6 }, () => randomBytes(2 * OFFLOAD_MIN_BYTES + 7));
  const hashes = inputs.map((d) => createMd5(d.length));
  for (let i = 0; i < inputs[0]!.length; i += 65536) hashes.forEach((h, k) => h.update(inputs[k]!.subarray(i, i + 65536)));
  const digests = await Promise.all(hashes.map((h) => h.digest()));
  digests.forEach((d, k) => assert.equal(d.toString('hex'), md5(inputs[k]!)));
});

test('a producer far ahead of the worker is asked to wait, then the digest is still right', async () => {
  const chunk = randomBytes(1 << 20);
  const h = createMd5(64 << 20);
  let waited = 0;
  const all = createHash('md5');
  for (let i = 0; i < 64; i++) {
    h.update(chunk);
    all.update(chunk);
    const r = h.ready();
    if (r) {
      waited++;
      await r;
    }
  }
  assert.ok(waited > 0, 'feeding 64 MiB at once exceeds the in-flight limit');
  assert.equal((await h.digest()).toString('hex'), all.digest('hex'));
});

test('a discarded hash is forgotten, and a process with an idle worker exits', async () => {
  const h = createMd5(OFFLOAD_MIN_BYTES);
  h.update(randomBytes(1000));
  h.discard();
  // A child that hashes on the worker and then has nothing left to do must exit by itself.
  const script = `import { createMd5 } from ${JSON.stringify(fileURLToPath(new URL('../../src/s3/md5.ts', import.meta.url)))};
    const h = createMd5(2 << 20); h.update(Buffer.alloc(2 << 20, 7)); console.log((await h.digest()).toString('hex'));`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  assert.equal(out.trim(), md5(Buffer.alloc(2 << 20, 7)));
});
