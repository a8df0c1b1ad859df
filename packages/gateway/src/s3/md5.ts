// MD5 for ETags, the costliest hash on the PUT path (~2 ms of CPU per MiB here). For large payloads it runs
// on a worker thread, so the main thread is left to parse, encrypt and write: each chunk is copied into its
// own ArrayBuffer and transferred (cheaper than a structured clone), and a stream that gets ahead of the
// worker by more than IN_FLIGHT_LIMIT bytes waits for it, so memory stays bounded.
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** An MD5 in progress. */
export interface Md5 {
  update(chunk: Buffer): void;
  /** Resolves when it is fine to feed more (at once, except for a worker that is behind). */
  ready(): Promise<void> | undefined;
  digest(): Promise<Buffer>;
  /** Forget the hash (the request failed). */
  discard(): void;
}

/** Payloads at least this large are hashed on the worker; below it the messages would cost more than the hash. */
export const OFFLOAD_MIN_BYTES = 1024 * 1024;
const IN_FLIGHT_LIMIT = 8 * 1024 * 1024;

class InlineMd5 implements Md5 {
  private readonly hash: Hash = createHash('md5');
  update(chunk: Buffer): void {
    this.hash.update(chunk);
  }
  ready(): undefined {
    return undefined;
  }
  digest(): Promise<Buffer> {
    return Promise.resolve(this.hash.digest());
  }
  discard(): void {}
}

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.data) {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = createHash('md5')));
    h.update(new Uint8Array(m.data));
    parentPort.postMessage({ id: m.id, done: m.data.byteLength });
  } else if (m.end) {
    const h = hashes.get(m.id) || createHash('md5');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, digest: h.digest() });
  } else if (m.drop) {
    hashes.delete(m.id);
  }
});`;

interface WorkerReply {
  id: number;
  done?: number;
  digest?: Uint8Array;
}

/** One worker for the process, made on first use; if it dies, the hashes in flight fail and the next use makes another. */
class Md5Worker {
  private worker: Worker | undefined;
  private nextId = 1;
  readonly hashes = new Map<number, WorkerMd5>();

  post(message: object, transfer?: ArrayBuffer[]): void {
    this.ensure().postMessage(message, transfer);
  }

  newId(): number {
    return this.nextId++;
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    // execArgv: [] — the worker needs none of the parent's flags (a TypeScript loader, --input-type, ...).
    const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    w.on('message', (m: WorkerReply) => this.hashes.get(m.id)?.onReply(m));
    const fail = (err: Error): void => {
      if (this.worker === w) this.worker = undefined;
      for (const h of this.hashes.values()) h.onFailure(err);
      this.hashes.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the MD5 worker exited (code ${code})`)));
    // Referenced only while a hash is pending: an idle worker never keeps a process alive. (After the
    // listeners: adding a 'message' listener references the worker again.)
    if (this.hashes.size === 0) w.unref();
    this.worker = w;
    return w;
  }

  add(h: WorkerMd5, id: number): void {
    this.hashes.set(id, h);
    if (this.hashes.size === 1) this.worker?.ref();
  }

  remove(id: number): boolean {
    const had = this.hashes.delete(id);
    if (had && this.hashes.size === 0) this.worker?.unref();
    return had;
  }
}

const shared = new Md5Worker();

class WorkerMd5 implements Md5 {
  private readonly id = shared.newId();
  private inFlight = 0;
  private failure: Error | undefined;
  private waiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
  private result: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;

  constructor() {
    shared.add(this, this.id);
  }

  update(chunk: Buffer): void {
    if (this.failure) return;
    const copy = new ArrayBuffer(chunk.length);
    new Uint8Array(copy).set(chunk);
    this.inFlight += chunk.length;
    shared.post({ id: this.id, data: copy }, [copy]);
  }

  ready(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inFlight <= IN_FLIGHT_LIMIT) return undefined;
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  digest(): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.result = { resolve, reject };
      shared.post({ id: this.id, end: true });
    });
  }

  discard(): void {
    if (!shared.remove(this.id)) return;
    shared.post({ id: this.id, drop: true });
  }

  onReply(m: WorkerReply): void {
    if (m.done !== undefined) {
      this.inFlight -= m.done;
      if (this.waiter && this.inFlight <= IN_FLIGHT_LIMIT) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve();
      }
    } else if (m.digest) {
      shared.remove(this.id);
      this.result?.resolve(Buffer.from(m.digest));
    }
  }

  onFailure(err: Error): void {
    this.failure = err;
    this.waiter?.reject(err);
    this.result?.reject(err);
  }
}

/** An MD5 for a payload of `expectedSize` bytes (unknown: hashed inline). */
export function createMd5(expectedSize: number | undefined): Md5 {
  return expectedSize !== undefined && expectedSize >= OFFLOAD_MIN_BYTES ? new WorkerMd5() : new InlineMd5();
}
