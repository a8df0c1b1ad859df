// The audit log: one JSON line per request that touches a key and per refused (403) request,
// to a file or stdout and to live /v1/log/audit subscribers. It records who did what to which
// key and how it ended — never key material, plaintexts, ciphertexts, contexts or shares.
//
// File writes leave the request path: the lines of one event-loop turn are joined and appended
// by an fs stream (libuv's thread pool). A synchronous append per request measured ~70 µs of
// main-thread time per key request on this kind of machine. The cost: lines of the last few
// milliseconds before a kill -9 may be lost; `flush()` resolves once everything is written.
//
// A file rotates by size (`log.audit: { file, max_bytes, keep }`, rotating-file-stream): audit.log is renamed
// audit.log.1 (and .1 to .2, …) once a write takes it past max_bytes, and the oldest beyond `keep` is removed.
import { createWriteStream, mkdirSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { basename, dirname } from 'node:path';
import { createStream } from 'rotating-file-stream';

export interface AuditEvent {
  time: string;
  /** The kes node that served the request (several nodes may share one keystore). */
  node?: string;
  identity: string;
  ip: string;
  method: string;
  path: string;
  key?: string;
  version?: string;
  /** Bulk routes: how many items the request carried (one audit line stands for all of them). */
  items?: number;
  status: number;
  latency_ms: number;
}

type Subscriber = (line: string) => void;

export interface AuditRotation {
  /** Rotate after the write that takes the file to this many bytes; 0: never. */
  maxBytes: number;
  /** Rotated files kept (audit.log.1 … audit.log.N). */
  keep: number;
}

export interface AuditLogOptions {
  rotate?: AuditRotation;
  /** For `stdout`: how an event reaches the process output (the server passes its logger, so stdout stays one shape). */
  stdout?: (event: Record<string, unknown>) => void;
}

function openFile(target: string, rotate: AuditRotation | undefined): Writable {
  mkdirSync(dirname(target), { recursive: true });
  if (!rotate || rotate.maxBytes <= 0) return createWriteStream(target, { flags: 'a', mode: 0o600 });
  const name = basename(target);
  // Classical rotation names files by index only: null is the live file, 1 the newest rotated one.
  return createStream((index: number | Date | null) => (typeof index === 'number' ? `${name}.${index}` : name), {
    path: `${dirname(target)}/`,
    size: `${rotate.maxBytes}B`,
    rotate: Math.max(1, rotate.keep),
    mode: 0o600,
  });
}

export class AuditLog {
  readonly #file: Writable | undefined;
  readonly #stdout: ((event: Record<string, unknown>) => void) | undefined;
  readonly #subscribers = new Set<Subscriber>();
  readonly #onEvent: () => void;
  /** Set once the server knows its address; added to every line as `node`. */
  node: string | undefined;
  #pending: string[] = [];
  #flushScheduled = false;
  /** Settles when every batch handed to the stream so far has been written. */
  #written: Promise<void> = Promise.resolve();

  /** `target`: 'off', 'stdout' or a file path (appended to). `onError`: the file failed. */
  constructor(target: string, onEvent: () => void = () => {}, onError: (e: Error) => void = () => {}, options: AuditLogOptions = {}) {
    if (target === 'stdout') this.#stdout = options.stdout ?? ((event) => process.stdout.write(`${JSON.stringify(event)}\n`));
    if (target !== 'off' && target !== 'stdout') {
      this.#file = openFile(target, options.rotate);
      this.#file.on('error', onError);
    }
    this.#onEvent = onEvent;
  }

  write(event: AuditEvent): void {
    // The nested request/response objects are KES's own audit shape, for KES tooling.
    const entry = {
      ...(this.node !== undefined && event.node === undefined ? { node: this.node } : {}),
      ...event,
      request: { ip: event.ip, path: event.path, identity: event.identity },
      response: { code: event.status, time: Math.round(event.latency_ms * 1000) },
    };
    const line = `${JSON.stringify(entry)}\n`;
    this.#onEvent();
    if (this.#file) {
      this.#pending.push(line);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#handOver());
      }
    }
    this.#stdout?.(entry);
    for (const s of this.#subscribers) s(line);
  }

  /** Resolves once every line logged so far is in the file. */
  flush(): Promise<void> {
    this.#handOver();
    return this.#written;
  }

  subscribe(s: Subscriber): () => void {
    this.#subscribers.add(s);
    return () => this.#subscribers.delete(s);
  }

  async close(): Promise<void> {
    this.#subscribers.clear();
    await this.flush();
    const file = this.#file;
    if (file && !file.destroyed) await new Promise<void>((resolve) => file.end(resolve));
  }

  #handOver(): void {
    this.#flushScheduled = false;
    const file = this.#file;
    if (!file || this.#pending.length === 0 || file.destroyed) return;
    const text = this.#pending.join('');
    this.#pending = [];
    // Stream writes complete in order: this batch's callback means all earlier ones are done.
    this.#written = new Promise((resolve) => file.write(text, () => resolve()));
  }
}
