// The kesgate-sse CLI, spawned through its bin script as a user would run it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { decryptBuffer, encryptBuffer, ENC_PACKAGE_SIZE, PACKAGE_SIZE, sealObjectKey } from '../src/index.js';
import { pseudoRandom } from './helpers.js';

const bin = fileURLToPath(new URL('../bin/kesgate-sse.js', import.meta.url));

interface Result {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function cli(args: string[], input: Buffer = Buffer.alloc(0)): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    p.stdin.on('error', () => {}); // the CLI may exit before reading all of stdin
    p.stdin.end(input);
  });
}

describe('kesgate-sse CLI', () => {
  const key = randomBytes(32);
  const pt = pseudoRandom(3 * PACKAGE_SIZE + 777, 21);

  it('encrypt | decrypt round-trips, and a fixed nonce gives the library output', async () => {
    const nonce = randomBytes(12);
    const enc = await cli(['encrypt', '--key', key.toString('hex'), '--nonce', nonce.toString('hex')], pt);
    assert.equal(enc.code, 0, enc.stderr);
    assert.deepEqual(enc.stdout, encryptBuffer(key, pt, { nonce }));
    const dec = await cli(['decrypt', '--key', key.toString('hex')], enc.stdout);
    assert.equal(dec.code, 0, dec.stderr);
    assert.ok(dec.stdout.equals(pt));
  });

  it('decrypts a range, from the whole stream and from a slice starting at package --seq', async () => {
    const enc = encryptBuffer(key, pt, { cipher: 'ChaCha20-Poly1305' });
    const off = PACKAGE_SIZE + 1000;
    const whole = await cli(['decrypt', '--key', key.toString('hex'), '--offset', String(off), '--length', '70000'], enc);
    assert.equal(whole.code, 0, whole.stderr);
    assert.ok(whole.stdout.equals(pt.subarray(off, off + 70000)));
    const slice = enc.subarray(ENC_PACKAGE_SIZE, 3 * ENC_PACKAGE_SIZE);
    const part = await cli(['decrypt', '--key', key.toString('hex'), '--seq', '1', '--offset', '1000', '--length', '70000'], slice);
    assert.equal(part.code, 0, part.stderr);
    assert.ok(part.stdout.equals(pt.subarray(off, off + 70000)));
  });

  it('unseals a sealed object key and prints the OEK in hex', async () => {
    const ek = randomBytes(32);
    const s = sealObjectKey({ ek, domain: 'SSE-KMS', path: 'bkt/dir/obj' });
    const args = [
      'unseal',
      '--ek',
      ek.toString('hex'),
      '--iv',
      s.iv.toString('base64'),
      '--domain',
      'SSE-KMS',
      '--sealed',
      s.sealedKey.toString('base64'),
    ];
    const ok = await cli([...args, '--path', 'bkt/dir/obj']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.toString().trim(), s.oek.toString('hex'));
    const wrong = await cli([...args, '--path', 'bkt/dir//obj']);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /KeyMismatch/);
    assert.equal(wrong.stdout.length, 0);
  });

  it('a tampered stream or a wrong key exits non-zero with a message and writes nothing', async () => {
    const enc = Buffer.from(encryptBuffer(key, pt));
    enc[100] = (enc[100] as number) ^ 0x01;
    const bad = await cli(['decrypt', '--key', key.toString('hex')], enc);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Tampered: package 0 failed authentication/);
    assert.equal(bad.stdout.length, 0);
    const small = encryptBuffer(key, Buffer.from('top secret'));
    const wrongKey = await cli(['decrypt', '--key', randomBytes(32).toString('hex')], small);
    assert.notEqual(wrongKey.code, 0);
    assert.equal(wrongKey.stdout.length, 0);
    const truncated = await cli(['decrypt', '--key', key.toString('hex')], small.subarray(0, small.length - 1));
    assert.notEqual(truncated.code, 0);
    assert.match(truncated.stderr, /Truncated/);
    assert.equal(truncated.stdout.length, 0);
    assert.deepEqual(decryptBuffer(key, small), Buffer.from('top secret')); // control: the intact stream is fine
  });

  it('refuses malformed arguments with exit code 2', async () => {
    const r = await cli(['decrypt', '--key', 'abcd']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /64 hex digits/);
  });
});
