// Benchmark of the DARE 2.0 package streams against raw AES-256-GCM cipher calls on the same 64 KiB
// buffers, measured side by side in this process. The ratio (stream MB/s / raw MB/s) is the figure; absolute
// MB/s vary with the machine and its load.
// Run: npm run bench -- sse   (node --import tsx --expose-gc scripts/bench/sse.ts)
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream, createEncryptStream, ENC_PACKAGE_SIZE, encryptedSize } from '@kesgate/dare';

const MiB = 1024 * 1024;
const TOTAL = Number(process.env.SSE_BENCH_MIB ?? 256) * MiB;
const CHUNK = 64 * 1024;
const ROUNDS = Number(process.env.SSE_BENCH_ROUNDS ?? 5);
const key = randomBytes(32);
const aad = Buffer.from([0x20, 0x00, 0xff, 0xff]);
// A few distinct source buffers, cycled: cipher speed does not depend on the data.
const sources = Array.from({ length: 16 }, () => randomBytes(CHUNK));

const mem = { rss: 0, heapUsed: 0, arrayBuffers: 0, buffered: 0 };
/** The stream under test: its buffered bytes (both sides) are the memory the format code holds on to. */
let current: Transform | null = null;
function sampleBuffered(): void {
  if (current) mem.buffered = Math.max(mem.buffered, current.readableLength + current.writableLength);
}
function sampleMemory(): void {
  const m = process.memoryUsage();
  mem.rss = Math.max(mem.rss, m.rss);
  mem.heapUsed = Math.max(mem.heapUsed, m.heapUsed);
  mem.arrayBuffers = Math.max(mem.arrayBuffers, m.arrayBuffers);
}
function resetMemory(): void {
  (globalThis as { gc?: () => void }).gc?.();
  mem.rss = mem.heapUsed = mem.arrayBuffers = mem.buffered = 0;
  sampleMemory();
}

// The machine is shared: by default time is the CPU time this process spent (user + system, all its
// threads), which other processes' load barely moves; SSE_BENCH_CLOCK=wall measures elapsed time instead.
const WALL = process.env.SSE_BENCH_CLOCK === 'wall';
function now(): number {
  if (WALL) return Number(process.hrtime.bigint()) / 1e9;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}
function timed(fn: () => void): number {
  const t = now();
  fn();
  return now() - t;
}
async function timedAsync(fn: () => Promise<void>): Promise<number> {
  const t = now();
  await fn();
  return now() - t;
}

function rawEncrypt(): void {
  const nonce = randomBytes(12);
  for (let i = 0; i < TOTAL / CHUNK; i++) {
    nonce.writeUInt32LE(i, 8);
    const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    c.setAAD(aad);
    c.update(sources[i % sources.length] as Buffer);
    c.final();
    c.getAuthTag();
  }
}

// Raw decryption runs over the packages of the very stream the decrypt stream reads (256 MiB that do not
// fit in a cache, unlike the 16 cycled source buffers), so both sides pay the same memory traffic.
interface Sealed {
  nonce: Buffer;
  aad: Buffer;
  ct: Buffer;
  tag: Buffer;
}
function rawDecrypt(packages: Sealed[]): void {
  for (const p of packages) {
    const d = createDecipheriv('aes-256-gcm', key, p.nonce, { authTagLength: 16 });
    d.setAAD(p.aad);
    d.setAuthTag(p.tag);
    d.update(p.ct);
    d.final();
  }
}
/** The encrypt stream emits header, ciphertext and tag of each package as three chunks. */
function splitPackages(chunks: Buffer[]): Sealed[] {
  const out: Sealed[] = [];
  for (let i = 0; i + 2 < chunks.length; i += 3) {
    const h = chunks[i] as Buffer;
    const nonce = Buffer.from(h.subarray(4, 16));
    nonce.writeUInt32LE((nonce.readUInt32LE(8) ^ out.length) >>> 0, 8);
    out.push({ nonce, aad: h.subarray(0, 4), ct: chunks[i + 1] as Buffer, tag: chunks[i + 2] as Buffer });
  }
  return out;
}

function source(chunks: () => Iterable<Buffer>): Readable {
  return Readable.from(chunks(), { objectMode: false });
}
function* plainChunks(): Iterable<Buffer> {
  for (let i = 0; i < TOTAL / CHUNK; i++) yield sources[i % sources.length] as Buffer;
}
function sink(onChunk?: (b: Buffer) => void): Writable & { bytes: number } {
  let writes = 0;
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      w.bytes += chunk.length;
      onChunk?.(chunk);
      sampleBuffered();
      // memoryUsage() costs tens of microseconds: sampled every 256 writes (~8 MiB) to stay out of the figures.
      if (++writes % 256 === 0) sampleMemory();
      cb();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

async function streamEncrypt(collect?: Buffer[]): Promise<void> {
  const out = sink(collect ? (b) => collect.push(b) : undefined);
  current = createEncryptStream(key);
  await pipeline(source(plainChunks), current, out);
  if (out.bytes !== encryptedSize(TOTAL)) throw new Error(`encrypt produced ${out.bytes} bytes`);
}

// The decrypt input: the encrypted stream re-cut into `size`-byte chunks, as file reads deliver it. 64 KiB
// (fs default) does not line up with the 65 568-byte packages; reads of ENC_PACKAGE_SIZE do.
function recut(parts: Buffer[], size: number): Buffer[] {
  const all: Buffer[] = [];
  let cur = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) {
    let off = 0;
    while (off < p.length) {
      const n = p.copy(cur, at, off);
      off += n;
      at += n;
      if (at === size) {
        all.push(cur);
        cur = Buffer.allocUnsafe(size);
        at = 0;
      }
    }
  }
  if (at > 0) all.push(cur.subarray(0, at));
  return all;
}

async function streamDecrypt(input: Buffer[]): Promise<void> {
  const out = sink();
  current = createDecryptStream(key);
  await pipeline(Readable.from(input, { objectMode: false }), current, out);
  if (out.bytes !== TOTAL) throw new Error(`decrypt produced ${out.bytes} bytes`);
}

const mbps = (s: number): number => TOTAL / MiB / s;
const fmt = (n: number): string => (n / MiB).toFixed(1);
const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? (v[(v.length - 1) / 2] as number) : ((v[v.length / 2 - 1] as number) + (v[v.length / 2] as number)) / 2;
};

/** Alternates the baseline and the stream runs so all see the same machine load; returns the seconds of each run. */
async function sideBySide(raw: () => void, ...streams: (() => Promise<void>)[]): Promise<{ raw: number[]; stream: number[][] }> {
  const out = { raw: [] as number[], stream: streams.map(() => [] as number[]) };
  for (let r = 0; r < ROUNDS; r++) {
    out.raw.push(timed(raw));
    for (let k = 0; k < streams.length; k++) (out.stream[k] as number[]).push(await timedAsync(streams[k] as () => Promise<void>));
  }
  return out;
}

function report(name: string, raw: number[], stream: number[]): void {
  const rawMed = median(raw);
  const strMed = median(stream);
  const rawBest = Math.min(...raw);
  const strBest = Math.min(...stream);
  console.log(
    `${name.padEnd(28)} stream ${mbps(strMed).toFixed(0).padStart(5)} MB/s  raw aes-256-gcm ${mbps(rawMed).toFixed(0).padStart(5)} MB/s  ` +
      `ratio ${(rawMed / strMed).toFixed(3)}x median, ${(rawBest / strBest).toFixed(3)}x best-of-${ROUNDS} (target >= 0.85x)`,
  );
}

async function main(): Promise<void> {
  console.log(
    `stream of ${TOTAL / MiB} MiB in ${CHUNK / 1024} KiB source chunks, ${ROUNDS} alternating rounds, ${WALL ? 'wall-clock' : 'CPU'} time, node ${process.version}`,
  );

  resetMemory();
  const base = process.memoryUsage();
  const enc = await sideBySide(rawEncrypt, () => streamEncrypt());
  const encMem = { ...mem };

  const ciphertext: Buffer[] = [];
  await streamEncrypt(ciphertext);
  const input64k = recut(ciphertext, CHUNK);
  const inputPkg = recut(ciphertext, ENC_PACKAGE_SIZE);
  const packages = splitPackages(ciphertext);
  if (packages.length !== Math.ceil(TOTAL / 65536)) throw new Error('unexpected chunking of the encrypted stream');

  resetMemory();
  const decBase = process.memoryUsage();
  const dec = await sideBySide(
    () => rawDecrypt(packages),
    () => streamDecrypt(input64k),
    () => streamDecrypt(inputPkg),
  );
  const decMem = { ...mem };

  report('encrypt', enc.raw, enc.stream[0] as number[]);
  report('decrypt, 64 KiB reads', dec.raw, dec.stream[0] as number[]);
  report('decrypt, 65568-byte reads', dec.raw, dec.stream[1] as number[]);
  console.log(
    `buffered in the stream (readable + writable side), max: encrypt ${(encMem.buffered / 1024).toFixed(0)} KiB, decrypt ${(decMem.buffered / 1024).toFixed(0)} KiB ` +
      `(plus at most one package of plaintext inside the encoder or decoder)`,
  );
  console.log(
    `memory, encrypt: max RSS ${fmt(encMem.rss)} MiB (+${fmt(encMem.rss - base.rss)} over start), max heapUsed ${fmt(encMem.heapUsed)} MiB, ` +
      `max arrayBuffers +${fmt(encMem.arrayBuffers - base.arrayBuffers)} MiB (includes garbage not yet collected)`,
  );
  console.log(
    `memory, decrypt: max RSS ${fmt(decMem.rss)} MiB (+${fmt(decMem.rss - decBase.rss)} over 3 copies of the ${fmt(encryptedSize(TOTAL))} MiB input held in memory), ` +
      `max heapUsed ${fmt(decMem.heapUsed)} MiB, max arrayBuffers +${fmt(decMem.arrayBuffers - decBase.arrayBuffers)} MiB over the input`,
  );
}

await main();
