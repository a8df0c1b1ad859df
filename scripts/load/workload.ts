// The load test's clients: each owns its keys (so no GET races a PUT of the same key and the expected
// content is always known), mixes PUT/GET/DELETE with random sizes and SSE modes, and checks every
// answer against what it last stored.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { RawS3, Reply } from '../bench/lib/s3-raw.js';
import { sseC, sseKms, sseS3 } from '../bench/lib/sse-headers.js';

const MODES = ['sse-s3', 'sse-kms:key-a', 'sse-kms:key-b', 'sse-c'] as const;
type Mode = (typeof MODES)[number];
export const KMS_KEYS = ['key-a', 'key-b'];

/** What a key holds, as its owner last stored it. */
interface Stored {
  sha256: string;
  size: number;
  mode: Mode;
  customerKey?: Buffer;
}

export interface Tally {
  /** Completed operations by name: PUT, GET, GET-absent, DELETE. */
  count: Record<string, number>;
  latencies: Record<string, number[]>;
  /** Unexpected outcomes by "OP status code" (or "OP network CODE"). */
  unexpected: Record<string, number>;
  /** GETs whose bytes differ from the last PUT. */
  mismatches: string[];
  byMode: Record<string, number>;
}

function newTally(): Tally {
  return { count: {}, latencies: {}, unexpected: {}, mismatches: [], byMode: {} };
}

export interface WorkloadOptions {
  bucket: string;
  clients: number;
  keysPerClient: number;
  maxSize: number;
  totalOps: number;
  /** Plain HTTP for SSE-S3/KMS; HTTPS for SSE-C (the gateway refuses SSE-C over HTTP). */
  http: RawS3;
  https: RawS3;
  /** Called once, when half of the operations have been issued. */
  midway?: () => void;
}

/** Random bytes to slice object bodies from (slices at random offsets: objects differ). */
const POOL = randomBytes(4 * 1024 * 1024);

function headersFor(s: Stored): Record<string, string> {
  if (s.mode === 'sse-s3') return sseS3();
  if (s.mode === 'sse-c') return sseC(s.customerKey!);
  return sseKms(s.mode.slice('sse-kms:'.length));
}

export class Workload {
  readonly tally = newTally();
  /** Per client, per key slot: what is stored, or undefined when absent. */
  private readonly state: (Stored | undefined)[][];
  private issued = 0;
  /** Keys whose content is unknown after a failed PUT/DELETE: not checked until rewritten. */
  private readonly forget = new Set<string>();
  private midwayDone = false;

  constructor(private readonly o: WorkloadOptions) {
    this.state = Array.from({ length: o.clients }, () => new Array<Stored | undefined>(o.keysPerClient).fill(undefined));
  }

  keyOf(client: number, slot: number): string {
    return `client-${client}/object-${slot}`;
  }

  private record(op: string, r: Reply): void {
    this.tally.count[op] = (this.tally.count[op] ?? 0) + 1;
    (this.tally.latencies[op] ??= []).push(r.ms);
  }

  private unexpected(what: string): void {
    this.tally.unexpected[what] = (this.tally.unexpected[what] ?? 0) + 1;
  }

  private async put(client: number, slot: number): Promise<void> {
    const size = randomInt(0, this.o.maxSize + 1);
    const at = randomInt(0, POOL.length - size + 1);
    const body = POOL.subarray(at, at + size);
    const mode = MODES[randomInt(0, MODES.length)]!;
    const next: Stored = {
      sha256: createHash('sha256').update(body).digest('hex'),
      size,
      mode,
      ...(mode === 'sse-c' ? { customerKey: randomBytes(32) } : {}),
    };
    const client_ = mode === 'sse-c' ? this.o.https : this.o.http;
    const r = await client_.put(this.o.bucket, this.keyOf(client, slot), body, headersFor(next));
    if (r.status !== 200) {
      // The old content may or may not be there now: stop asserting on this key until it is written again.
      this.state[client]![slot] = undefined;
      this.unexpected(`PUT ${r.status} ${r.code ?? ''}`.trim());
      this.forget.add(this.keyOf(client, slot));
      return;
    }
    this.forget.delete(this.keyOf(client, slot));
    this.state[client]![slot] = next;
    this.tally.byMode[mode] = (this.tally.byMode[mode] ?? 0) + 1;
    this.record('PUT', r);
  }

  async get(client: number, slot: number): Promise<void> {
    const key = this.keyOf(client, slot);
    const s = this.state[client]![slot];
    if (this.forget.has(key)) return;
    // Only SSE-C needs headers on GET (S3 refuses the other SSE headers there with 400 InvalidArgument).
    const r =
      s?.mode === 'sse-c'
        ? await this.o.https.get(this.o.bucket, key, { headers: sseC(s.customerKey!), sink: 'sha256' })
        : await this.o.http.get(this.o.bucket, key, { sink: 'sha256' });
    if (!s) {
      if (r.status === 404 && r.code === 'NoSuchKey') this.record('GET-absent', r);
      else this.unexpected(`GET(absent) ${r.status} ${r.code ?? ''}`.trim());
      return;
    }
    if (r.status !== 200) {
      this.unexpected(`GET ${r.status} ${r.code ?? ''}`.trim());
      return;
    }
    if (r.sha256 !== s.sha256 || r.bytes !== s.size) {
      this.tally.mismatches.push(
        `${key} (${s.mode}): got ${r.bytes} bytes sha256 ${r.sha256}, expected ${s.size} bytes sha256 ${s.sha256}`,
      );
      return;
    }
    this.record('GET', r);
  }

  private async del(client: number, slot: number): Promise<void> {
    const key = this.keyOf(client, slot);
    const r = await this.o.http.delete(this.o.bucket, key);
    if (r.status !== 204) {
      this.unexpected(`DELETE ${r.status} ${r.code ?? ''}`.trim());
      this.forget.add(key);
      return;
    }
    this.forget.delete(key);
    this.state[client]![slot] = undefined;
    this.record('DELETE', r);
  }

  private async loop(client: number): Promise<void> {
    while (this.issued < this.o.totalOps) {
      this.issued++;
      if (!this.midwayDone && this.issued >= this.o.totalOps / 2) {
        this.midwayDone = true;
        this.o.midway?.();
      }
      const slot = randomInt(0, this.o.keysPerClient);
      const p = Math.random();
      const op = this.state[client]!.every((s) => s === undefined) || p < 0.45 ? 'PUT' : p < 0.85 ? 'GET' : 'DELETE';
      try {
        if (op === 'PUT') await this.put(client, slot);
        else if (op === 'GET') await this.get(client, slot);
        else await this.del(client, slot);
      } catch (err) {
        this.unexpected(`${op} network ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
  }

  /** Runs every client until `totalOps` operations have been issued; returns the wall time in seconds. */
  async run(): Promise<number> {
    const start = performance.now();
    await Promise.all(Array.from({ length: this.o.clients }, (_, c) => this.loop(c)));
    return (performance.now() - start) / 1000;
  }

  /** GETs every key once more (after the rotation has finished): the final byte-for-byte check. */
  async verifyAll(): Promise<number> {
    let checked = 0;
    for (let c = 0; c < this.o.clients; c++) {
      await Promise.all(
        Array.from({ length: this.o.keysPerClient }, async (_, slot) => {
          await this.get(c, slot).catch((err: Error) =>
            this.unexpected(`GET(final) network ${(err as NodeJS.ErrnoException).code ?? err.message}`),
          );
          checked++;
        }),
      );
    }
    return checked;
  }
}
