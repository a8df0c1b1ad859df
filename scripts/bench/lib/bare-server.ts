// The baseline of the gateway benchmarks, run as a child process: a bare Node HTTP(S) server with no
// authentication and no cryptography. PUT streams the body to a file, GET streams a file back
// (with a single `Range: bytes=a-b`). A PUT with `x-bench-fsync: 1` fsyncs the file before answering,
// as a durable store must. Prints {"http":PORT,"https":PORT} once listening.
// Usage: node --import tsx bare-server.ts <data-dir> <cert.pem> <key.pem>
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const [dir, certFile, keyFile] = process.argv.slice(2);
if (!dir || !certFile || !keyFile) {
  process.stderr.write('usage: bare-server.ts <data-dir> <cert.pem> <key.pem>\n');
  process.exit(2);
}

/** One flat directory; the path (without query) names the file. */
function fileOf(url: string): string {
  return join(dir!, url.split('?')[0]!.replace(/[^A-Za-z0-9._-]/g, '_'));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const segments = req.url!.split('?')[0]!.split('/').filter(Boolean);
  if (req.method === 'PUT' && segments.length < 2) {
    // "create bucket": nothing to do
    req.resume();
    res.end();
    return;
  }
  const file = fileOf(req.url!);
  if (req.method === 'PUT') {
    await pipeline(req, createWriteStream(file));
    if (req.headers['x-bench-fsync'] === '1') {
      const h = await open(file, 'r+');
      await h.sync();
      await h.close();
    }
    res.end();
    return;
  }
  if (req.method === 'GET') {
    const size = (await stat(file)).size;
    const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
    if (m) {
      const start = Number(m[1]);
      const end = Math.min(Number(m[2]), size - 1);
      res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}` });
      await pipeline(createReadStream(file, { start, end }), res);
    } else {
      res.writeHead(200, { 'content-length': size });
      await pipeline(createReadStream(file), res);
    }
    return;
  }
  res.statusCode = 405;
  res.end();
}

const app = (req: IncomingMessage, res: ServerResponse): void => {
  handle(req, res).catch((err: Error) => {
    if (!res.headersSent) {
      res.statusCode = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 404 : 500;
      res.end(err.message);
    } else {
      res.destroy(err);
    }
  });
};

const plain = http.createServer(app);
const secure = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, app);
for (const s of [plain, secure]) s.keepAliveTimeout = 60_000;
await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
process.stdout.write(`${JSON.stringify({ http: (plain.address() as AddressInfo).port, https: (secure.address() as AddressInfo).port })}\n`);
process.once('SIGTERM', () => process.exit(0));
