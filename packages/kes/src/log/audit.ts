// The audit log: one JSON line per request that touches a key and per refused (403) request,
// to a file or stdout and to live /v1/log/audit subscribers. It records who did what to which
// key and how it ended — never key material, plaintexts, ciphertexts, contexts or shares.
// File writes are batched: the lines of one event-loop turn are appended with one synchronous
// write in that turn's check phase (setImmediate) — under load that is one syscall for many
// requests, and a line is in the file before its client can have read the response.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface AuditEvent {
  time: string;
  identity: string;
  ip: string;
  method: string;
  path: string;
  key?: string;
  version?: string;
  status: number;
  latency_ms: number;
}

type Subscriber = (line: string) => void;

export class AuditLog {
  #fd: number | undefined;
  readonly #onError: (e: Error) => void;
  readonly #stdout: boolean;
  readonly #subscribers = new Set<Subscriber>();
  readonly #onEvent: () => void;
  #pending: string[] = [];
  #flushScheduled = false;

  /** `target`: 'off', 'stdout' or a file path (appended to). `onError`: the file failed. */
  constructor(target: string, onEvent: () => void = () => {}, onError: (e: Error) => void = () => {}) {
    this.#stdout = target === 'stdout';
    if (target !== 'off' && target !== 'stdout') {
      mkdirSync(dirname(target), { recursive: true });
      this.#fd = openSync(target, 'a', 0o600);
    }
    this.#onEvent = onEvent;
    this.#onError = onError;
  }

  write(event: AuditEvent): void {
    // The nested request/response objects are KES's own audit shape, for KES tooling.
    const line = `${JSON.stringify({
      ...event,
      request: { ip: event.ip, path: event.path, identity: event.identity },
      response: { code: event.status, time: Math.round(event.latency_ms * 1000) },
    })}\n`;
    this.#onEvent();
    if (this.#fd !== undefined) {
      this.#pending.push(line);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.flush());
      }
    }
    if (this.#stdout) process.stdout.write(line);
    for (const s of this.#subscribers) s(line);
  }

  /** Appends the buffered lines now. */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#fd === undefined || this.#pending.length === 0) return;
    const text = this.#pending.join('');
    this.#pending = [];
    try {
      writeSync(this.#fd, text);
    } catch (e) {
      this.#onError(e as Error);
    }
  }

  subscribe(s: Subscriber): () => void {
    this.#subscribers.add(s);
    return () => this.#subscribers.delete(s);
  }

  close(): void {
    this.#subscribers.clear();
    this.flush();
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
