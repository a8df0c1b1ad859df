// One HTTP/1.1 connection driven byte by byte (plain TCP or TLS): a test decides when the head, the body
// and the next request go out, and sees every interim (100 Continue) and final answer, the peer's FIN and
// any reset, which an HTTP client library would hide.
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';

export interface WireAnswer {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
}

export class Wire {
  private received = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  /** Statuses of the interim (1xx) answers seen. */
  readonly interim: number[] = [];
  /** The peer ended its side cleanly (FIN; on TLS after close_notify or a bare FIN). */
  ended = false;
  /** The error the connection failed with (ECONNRESET, EPIPE, …), if it did. */
  error: NodeJS.ErrnoException | undefined;
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.received = Buffer.concat([this.received, c]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.error ??= err;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** `halfOpen` (plain TCP): keep sending after the server's FIN, as a client that does not read while it sends. */
  static async open(port: number, ca?: string, halfOpen = false): Promise<Wire> {
    if (ca === undefined) {
      const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: halfOpen });
      await once(socket, 'connect');
      return new Wire(socket);
    }
    if (halfOpen) throw new Error('Wire: halfOpen is for plain TCP only');
    const socket = tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost' });
    await once(socket, 'secureConnect');
    return new Wire(socket);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Writes, waiting while the socket's buffer is full; false if the connection failed meanwhile. */
  async write(data: Buffer | string): Promise<boolean> {
    if (this.error || this.socket.destroyed || !this.socket.writable) return false;
    if (this.socket.write(data)) return true;
    const s = this.socket;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        s.off('drain', done).off('close', done).off('error', done);
        resolve();
      };
      s.on('drain', done).on('close', done).on('error', done);
    });
    return !this.error && !s.destroyed;
  }

  /** Writes `size` bytes of body in 1 MiB pieces; the number of bytes the socket accepted. */
  async writeBody(size: number): Promise<number> {
    const piece = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    while (sent < size) {
      const n = Math.min(piece.length, size - sent);
      if (!(await this.write(n === piece.length ? piece : piece.subarray(0, n)))) break;
      sent += n;
    }
    return sent;
  }

  /** The next final answer (interim ones are recorded in `interim`); undefined if the connection ends first. */
  async answer(): Promise<WireAnswer | undefined> {
    for (;;) {
      const parsed = this.parse();
      if (parsed === 'interim') continue;
      if (parsed) return parsed;
      if (this.closed || this.ended || this.error) return undefined;
      await this.changed();
    }
  }

  /** Whether an interim answer has arrived (without waiting). */
  sawContinue(): boolean {
    while (this.parse(true) === 'interim');
    return this.interim.includes(100);
  }

  private parse(interimOnly = false): WireAnswer | 'interim' | undefined {
    const end = this.received.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const lines = this.received.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    if (status >= 100 && status < 200) {
      this.interim.push(status);
      this.received = this.received.subarray(end + 4);
      return 'interim';
    }
    if (interimOnly) return undefined;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (this.received.length < end + 4 + length) return undefined;
    const body = this.received.subarray(end + 4, end + 4 + length).toString('utf8');
    this.received = this.received.subarray(end + 4 + length);
    return { status, headers, body };
  }

  /** Waits until the connection is closed (by either side); then `ended` and `error` tell how. */
  async untilClosed(): Promise<void> {
    while (!this.closed) await this.changed();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** An HTTP/1.1 request head. */
export function head(method: string, path: string, headers: Record<string, string>): string {
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}
