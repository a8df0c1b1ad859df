// MD5 and SHA-256 of large request bodies on a worker thread. Hashing is synchronous in Node: on the event
// loop, the MD5 of an SSE-S3 PUT (its ETag) cost ~1.5–2 ms of CPU per MiB — more than the AES-GCM encryption
// beside it — and held up every other request meanwhile. On a worker it runs on another core.
//
// Bytes reach the worker through a ring in shared memory, not as messages: copying 64 KiB into the ring costs
// the event loop a few microseconds, where posting it (even transferred) cost half as much as hashing it.
import { Worker } from 'node:worker_threads';

export type OffThreadAlgorithm = 'md5' | 'sha256';

/** Below this many bytes a body is hashed in place: the worker's start-up per body would cost more. */
export const OFF_THREAD_MIN_BYTES = 1024 * 1024;
// Each body hashed off-thread holds a ring of RING_BYTES; at most MAX_SESSIONS at once (the others hash in
// place), so the rings never hold more than 32 MiB. A ring the worker is done with is kept for the next body
// (up to MAX_SESSIONS of them) instead of allocating shared memory per body.
// 4 MiB, not 1: the worker and the event loop share two cores with the client and the disk, and whenever the
// worker got no core for a while a 1 MiB ring filled and the event loop stopped reading the body. Measured on
// 256 MiB SSE-S3 PUTs: the event loop waited 53–243 ms per PUT for room with 1 MiB, 2–102 ms with 4 MiB.
const RING_BYTES = 4 * 1024 * 1024;
const MAX_SESSIONS = 8;
/** The ring's size, for tests that send a body going round it more than once. */
export { RING_BYTES as HASH_RING_BYTES };
// The worker is woken once per this many bytes, not per chunk: each wake-up of a waiting worker costs the event
// loop a system call and, on a busy machine, often its core. Well below RING_BYTES, so a full ring always has a
// woken worker behind it; the end of the body always wakes it.
const WAKE_BYTES = 256 * 1024;
// The worker hands room back after each piece of this size, not after all it was given: an event loop waiting
// on a full ring goes on after one piece instead of a whole ring's hashing (~6 ms here).
const PIECE_BYTES = 64 * 1024;

// The control words of a ring (BigInt64Array): bytes written by the event loop, bytes hashed by the worker,
// a change counter the worker waits on, and the state (OPEN, ENDED: all written, DROPPED: abandoned).
const WRITTEN = 0;
const HASHED = 1;
const CHANGES = 2;
const STATE = 3;
const OPEN = 0n;
const ENDED = 1n;
const DROPPED = 2n;

// CommonJS, evaluated by the worker: nothing to bundle, nothing to resolve at run time. The worker reads
// CHANGES before it looks at the ring, so a change made after that read ends its wait at once.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', (m) => {
  run(m).catch((err) => parentPort.postMessage({ id: m.id, error: String(err && err.message || err) }));
});
async function run({ id, algs, ring, control }) {
  const data = new Uint8Array(ring);
  const ctl = new BigInt64Array(control);
  const size = BigInt(data.length);
  const hashes = algs.map((a) => [a, createHash(a)]);
  for (;;) {
    const seen = Atomics.load(ctl, ${CHANGES});
    const state = Atomics.load(ctl, ${STATE});
    if (state === ${DROPPED}n) {
      parentPort.postMessage({ id, dropped: true }); // done with its ring
      return;
    }
    const written = Atomics.load(ctl, ${WRITTEN});
    let hashed = Atomics.load(ctl, ${HASHED});
    if (hashed < written) {
      while (hashed < written) {
        const off = Number(hashed % size);
        const n = Math.min(Number(written - hashed), data.length - off, ${PIECE_BYTES});
        const piece = data.subarray(off, off + n);
        for (const [, h] of hashes) h.update(piece);
        hashed += BigInt(n);
        Atomics.store(ctl, ${HASHED}, hashed);
        Atomics.notify(ctl, ${HASHED});
      }
      continue;
    }
    if (state === ${ENDED}n) {
      const digests = {};
      for (const [a, h] of hashes) digests[a] = h.digest();
      parentPort.postMessage({ id, digests });
      return;
    }
    const w = Atomics.waitAsync(ctl, ${CHANGES}, seen);
    if (w.async) await w.value;
  }
}
`;

type Reply = { id: number; digests: Record<string, Uint8Array> } | { id: number; error: string } | { id: number; dropped: true };

interface Session {
  settle: (digests: Record<string, Uint8Array> | Error) => void;
}

/** The shared memory of one body's hashing: the bytes, and the control words both threads update. */
interface Ring {
  data: Uint8Array;
  ctl: BigInt64Array;
}

/** Rings the worker is done with, for the next bodies. */
const idleRings: Ring[] = [];
let ringsAllocated = 0;

/** How many rings this process has allocated (for tests: reused rings are not counted again). */
export function hashRingsAllocated(): number {
  return ringsAllocated;
}

function takeRing(): Ring {
  const idle = idleRings.pop();
  if (idle) {
    idle.ctl.fill(0n); // WRITTEN, HASHED, CHANGES = 0; STATE = OPEN
    return idle;
  }
  ringsAllocated++;
  return { data: new Uint8Array(new SharedArrayBuffer(RING_BYTES)), ctl: new BigInt64Array(new SharedArrayBuffer(4 * 8)) };
}

/** One worker per process, started on first use; it keeps the process alive only while a body is being hashed. */
class HashWorker {
  private worker: Worker | undefined;
  private readonly sessions = new Map<number, Session>();
  /** The rings the worker may still read, by session: back to idleRings once it says it is done with one. */
  private readonly rings = new Map<number, Ring>();
  private nextId = 1;

  get full(): boolean {
    return this.rings.size >= MAX_SESSIONS;
  }

  open(algs: OffThreadAlgorithm[], session: Session): { id: number; ring: Ring } {
    const w = this.ensure();
    const id = this.nextId++;
    const ring = takeRing();
    this.sessions.set(id, session);
    this.rings.set(id, ring);
    if (this.sessions.size === 1) w.ref();
    w.postMessage({ id, algs, ring: ring.data.buffer, control: ring.ctl.buffer });
    return { id, ring };
  }

  /** Bodies being hashed on the worker now. */
  get bodies(): number {
    return this.sessions.size;
  }

  /** Ends the worker thread as a crash would; resolves once its exit has failed the bodies it was hashing. */
  async terminate(): Promise<void> {
    await this.worker?.terminate();
  }

  forget(id: number): void {
    if (this.sessions.delete(id) && this.sessions.size === 0) this.worker?.unref();
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.on('message', (m: Reply) => {
      // The worker is done with this session's ring, whichever way it ended.
      const ring = this.rings.get(m.id);
      this.rings.delete(m.id);
      if (ring && idleRings.length < MAX_SESSIONS) idleRings.push(ring);
      const s = this.sessions.get(m.id);
      this.forget(m.id);
      if ('dropped' in m) return;
      s?.settle('error' in m ? new Error(`hashing a request body failed: ${m.error}`) : m.digests);
    });
    const fail = (err: Error): void => {
      if (this.worker === w) this.worker = undefined;
      const open = [...this.sessions.values()];
      this.sessions.clear();
      this.rings.clear(); // a dead worker's rings are not reused: it may have stopped mid-ring
      for (const s of open) s.settle(new Error(`the hashing worker stopped: ${err.message}`, { cause: err }));
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    // Idle until open() refs it (after the listeners: attaching one refs the worker again).
    w.unref();
    this.worker = w;
    return w;
  }
}

const shared = new HashWorker();

/** How many bodies are being hashed on the worker thread now (for tests: a body's hashing has started there). */
export function hashSessionsOpen(): number {
  return shared.bodies;
}

/**
 * For tests only, the one fault they inject here: ends the worker thread mid-body as a crash would. Every body it
 * was hashing fails (a 500 to its client, nothing stored); the next large body starts a new worker.
 */
export function terminateHashWorker(): Promise<void> {
  return shared.terminate();
}

/** Incremental hashes of one body, computed on the worker thread. */
export class OffThreadHashes {
  private readonly id: number;
  private readonly ring: Uint8Array;
  private readonly ctl: BigInt64Array;
  private written = 0n;
  /** Bytes put into the ring since the worker was last woken. */
  private unannounced = 0;
  private failure: Error | undefined;
  /** Settled or dropped: the ring may be another body's now, so this one must not touch it again. */
  private released = false;
  private readonly result: Promise<Record<string, Uint8Array>>;

  /** Off-thread hashes for one more body, or undefined when MAX_SESSIONS bodies are being hashed already. */
  static tryOpen(algs: OffThreadAlgorithm[]): OffThreadHashes | undefined {
    return shared.full ? undefined : new OffThreadHashes(algs);
  }

  private constructor(algs: OffThreadAlgorithm[]) {
    let settle!: (d: Record<string, Uint8Array> | Error) => void;
    this.result = new Promise((resolve, reject) => {
      settle = (d) => {
        this.released = true;
        if (d instanceof Error) {
          this.failure = d;
          reject(d);
        } else resolve(d);
      };
    });
    // Nobody may await the result (a body that fails first); digest() still reports a failure.
    this.result.catch(() => undefined);
    const { id, ring } = shared.open(algs, { settle });
    this.id = id;
    this.ring = ring.data;
    this.ctl = ring.ctl;
  }

  /**
   * Copies a chunk into the ring. Resolves at once while the ring has room; otherwise once the worker has
   * hashed enough of it — a slow worker slows the upload instead of filling memory.
   */
  update(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.released) return Promise.reject(new Error('the request body was hashed already'));
    let off = this.put(chunk, 0);
    if (off === chunk.length) return undefined;
    return (async () => {
      while (off < chunk.length) {
        await this.room();
        off = this.put(chunk, off);
      }
    })();
  }

  /** The digests, once every byte handed over is hashed. */
  async digest(): Promise<Partial<Record<OffThreadAlgorithm, Buffer>>> {
    if (this.failure) throw this.failure;
    this.signal(ENDED);
    const raw = await this.result;
    const out: Partial<Record<OffThreadAlgorithm, Buffer>> = {};
    for (const [alg, bytes] of Object.entries(raw)) out[alg as OffThreadAlgorithm] = Buffer.from(bytes);
    return out;
  }

  /** The body failed or was abandoned: the worker stops hashing it. */
  drop(): void {
    if (this.released || Atomics.load(this.ctl, STATE) !== OPEN) return;
    this.released = true;
    this.failure ??= new Error('the request body was abandoned');
    this.signal(DROPPED);
    Atomics.notify(this.ctl, HASHED); // an update() waiting for room gives up
    shared.forget(this.id);
  }

  /** Copies what fits of chunk[off..] into the ring; returns how far it got. */
  private put(chunk: Buffer, off: number): number {
    const free = RING_BYTES - Number(this.written - Atomics.load(this.ctl, HASHED));
    const n = Math.min(free, chunk.length - off);
    if (n <= 0) return off;
    const at = Number(this.written % BigInt(RING_BYTES));
    const first = Math.min(n, RING_BYTES - at);
    this.ring.set(chunk.subarray(off, off + first), at);
    if (first < n) this.ring.set(chunk.subarray(off + first, off + n), 0);
    this.written += BigInt(n);
    Atomics.store(this.ctl, WRITTEN, this.written);
    this.unannounced += n;
    this.changed(this.unannounced >= WAKE_BYTES);
    return off + n;
  }

  /** Waits until the worker has hashed more of the ring, or failed. */
  private async room(): Promise<void> {
    const seen = Atomics.load(this.ctl, HASHED);
    if (this.written - seen < BigInt(RING_BYTES)) return;
    const w = Atomics.waitAsync(this.ctl, HASHED, seen);
    if (w.async) await Promise.race([w.value, this.result]);
    if (this.failure) throw this.failure;
  }

  private signal(state: bigint): void {
    Atomics.store(this.ctl, STATE, state);
    this.changed(true);
  }

  /**
   * Counts a change, and wakes the worker if `wake`. Counting alone is enough while the worker runs: it reads
   * CHANGES before it looks at the ring and does not wait when it changed meanwhile.
   */
  private changed(wake: boolean): void {
    Atomics.add(this.ctl, CHANGES, 1n);
    if (!wake) return;
    this.unannounced = 0;
    Atomics.notify(this.ctl, CHANGES);
  }
}
