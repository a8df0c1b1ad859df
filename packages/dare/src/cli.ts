// kesgate-sse: encrypt, decrypt and unseal by hand, over stdin/stdout — for operators checking an object
// outside the gateway. Exit status 1 on any authentication failure, 2 on bad arguments.
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ENC_PACKAGE_SIZE, PACKAGE_SIZE, type CipherName } from './constants.js';
import { createDecryptStream, createEncryptStream } from './dare.js';
import { SSEError } from './errors.js';
import { SSE_DOMAINS, unsealObjectKey, type SSEDomain } from './keys.js';

function hexBytes(bytes: number, what: string) {
  return (v: string): Buffer => {
    if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(v))
      throw new InvalidArgumentError(`${what} must be ${bytes * 2} hex digits (${bytes} bytes)`);
    return Buffer.from(v, 'hex');
  };
}

function base64Bytes(bytes: number, what: string) {
  return (v: string): Buffer => {
    const b = Buffer.from(v, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(v) || b.length !== bytes) throw new InvalidArgumentError(`${what} must be base64 of ${bytes} bytes`);
    return b;
  };
}

function count(what: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError(`${what} must be a non-negative integer`);
    return Number(v);
  };
}

/** Passes its input on minus the first `n` bytes (whole packages a range read does not need). */
function dropFirst(n: number): Transform {
  let left = n;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      if (left >= chunk.length) {
        left -= chunk.length;
        cb();
        return;
      }
      const rest = left > 0 ? chunk.subarray(left) : chunk;
      left = 0;
      cb(null, rest);
    },
  });
}

function fail(err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`kesgate-sse: ${err instanceof SSEError ? `${err.code}: ` : ''}${msg}\n`);
  process.exitCode = 1;
}

const program = new Command()
  .name('kesgate-sse')
  .description('DARE 2.0 object encryption (the format kesgate stores): encrypt, decrypt, unseal')
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('encrypt')
  .description('encrypt stdin to stdout as a DARE 2.0 package stream')
  .requiredOption('--key <hex>', '32-byte key, hex', hexBytes(32, '--key'))
  .option('--nonce <hex>', '12-byte base nonce, hex (random by default; never reuse one with the same key)', hexBytes(12, '--nonce'))
  .addOption(new Option('--cipher <name>', 'AEAD').choices(['AES-256-GCM', 'ChaCha20-Poly1305']).default('AES-256-GCM'))
  .action(async (o: { key: Buffer; nonce?: Buffer; cipher: CipherName }) => {
    await pipeline(process.stdin, createEncryptStream(o.key, { cipher: o.cipher, ...(o.nonce ? { nonce: o.nonce } : {}) }), process.stdout);
  });

program
  .command('decrypt')
  .description('decrypt a DARE 2.0 package stream from stdin to stdout; only authenticated bytes are written')
  .requiredOption('--key <hex>', '32-byte key, hex', hexBytes(32, '--key'))
  .option('--offset <n>', 'plaintext offset to start at, counted from the first package on stdin', count('--offset'), 0)
  .option('--length <n>', 'plaintext bytes to write (then stop; stdin need not reach the final package)', count('--length'))
  .option('--seq <n>', 'sequence number of the first package on stdin (when stdin starts mid-stream)', count('--seq'), 0)
  .action(async (o: { key: Buffer; offset: number; length?: number; seq: number }) => {
    // Whole packages before the offset are skipped unread (no need to authenticate what is not output).
    const pkgs = Math.floor(o.offset / PACKAGE_SIZE);
    const dec = createDecryptStream(o.key, {
      startSeq: o.seq + pkgs,
      skip: o.offset % PACKAGE_SIZE,
      ...(o.length !== undefined ? { length: o.length } : {}),
    });
    await pipeline(process.stdin, dropFirst(pkgs * ENC_PACKAGE_SIZE), dec, process.stdout);
  });

program
  .command('unseal')
  .description("unseal an object's sealed key and print the object key (OEK) in hex")
  .requiredOption('--ek <hex>', 'external key (SSE-C key or kes data key), 32 bytes hex', hexBytes(32, '--ek'))
  .requiredOption('--iv <b64>', 'the object\'s stored "iv", base64', base64Bytes(32, '--iv'))
  .addOption(new Option('--domain <d>', 'SSE type').choices(SSE_DOMAINS).makeOptionMandatory())
  .requiredOption('--path <bucket/object>', 'bucket + "/" + object key, exactly as stored')
  .requiredOption('--sealed <b64>', 'the object\'s stored "sealedKey", base64', base64Bytes(64, '--sealed'))
  .action((o: { ek: Buffer; iv: Buffer; domain: SSEDomain; path: string; sealed: Buffer }) => {
    const oek = unsealObjectKey({ ek: o.ek, iv: o.iv, domain: o.domain, path: o.path, sealedKey: o.sealed });
    process.stdout.write(`${oek.toString('hex')}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  fail(err);
}
