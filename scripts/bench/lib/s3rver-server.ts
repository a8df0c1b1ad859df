// The small-object baseline, run as a child process: s3rver (an unencrypted S3 emulator from npm;
// it stores objects as files and does not verify SigV4 signatures) on loopback, quiet.
// Prints {"http":PORT} once listening. Usage: node --import tsx s3rver-server.ts <data-dir>
import type { AddressInfo } from 'node:net';
// s3rver ships no types; its default export is a class whose run() resolves to the bound address.
// @ts-expect-error -- untyped CommonJS package
import S3rver from 's3rver';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: s3rver-server.ts <data-dir>\n');
  process.exit(2);
}
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
const server = new (S3rver as new (o: object) => S3rverInstance)({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
const info = await server.run();
process.stdout.write(`${JSON.stringify({ http: info.port })}\n`);
process.once('SIGTERM', () => process.exit(0));
