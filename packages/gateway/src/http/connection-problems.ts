// Connections that fail before a request (slow or malformed headers, resets, TLS failures) and connections
// refused for exceeding the per-client limit. Each is logged at debug; an operator sees one warn line per
// period that counts them by cause, not one line per connection (2,000 slowloris connections would be
// 2,000 lines), and a counter on /metrics.
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

const SUMMARY_EVERY_MS = 60_000;

export class ConnectionProblems {
  private counts = new Map<string, number>();
  /** A TLS failure comes as both 'tlsClientError' and 'clientError': each connection counts once. */
  private readonly counted = new WeakSet<object>();
  private readonly timer: NodeJS.Timeout;
  private readonly counter: Counter<'listener' | 'cause'>;

  constructor(
    private readonly logger: Logger,
    registry: Registry,
    everyMs = SUMMARY_EVERY_MS,
  ) {
    this.counter = new Counter({
      name: 'kesgate_client_connection_problems_total',
      help: 'Client connections that failed before a request was parsed, or were refused over the per-client limit, by cause',
      labelNames: ['listener', 'cause'] as const,
      registers: [registry],
    });
    this.timer = setInterval(() => this.summarise(everyMs), everyMs);
    this.timer.unref();
  }

  /**
   * One problem on `listener`'s connection `socket`: `cause` is an error code (ERR_HTTP_REQUEST_TIMEOUT,
   * HPE_…, ERR_SSL_…) or 'over-limit'. A connection already counted is not counted again.
   */
  note(listener: string, socket: object, cause: string, detail: Record<string, unknown> = {}): void {
    if (this.counted.has(socket)) return;
    this.counted.add(socket);
    const key = `${listener} ${cause}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.counter.inc({ listener, cause });
    this.logger.debug({ listener, cause, ...detail }, 'client connection problem');
  }

  /** The warn line for the period just ended, if anything happened in it. */
  summarise(periodMs: number): void {
    if (this.counts.size === 0) return;
    const byCause: Record<string, number> = {};
    let total = 0;
    for (const [key, n] of this.counts) {
      byCause[key] = n;
      total += n;
    }
    this.counts = new Map();
    this.logger.warn(
      { total, byCause, periodSeconds: Math.round(periodMs / 1000) },
      `${total} client connection problem(s) in the last ${Math.round(periodMs / 1000)} s`,
    );
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Refuses a new connection from an address that already holds `perClient` open ones on any listener (0: no
 * limit), so one client cannot take every socket. Behind a proxy every connection comes from the proxy's
 * address: raise the limit or set 0 there.
 */
export class PerClientConnectionLimit {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly perClient: number,
    private readonly problems: ConnectionProblems,
  ) {}

  /** TLS servers emit 'connection' with the raw socket before the handshake: a refused client costs no crypto. */
  attach(server: http.Server, listener: string): void {
    if (this.perClient <= 0) return;
    server.on('connection', (socket: Socket) => {
      const address = socket.remoteAddress ?? 'unknown';
      const count = this.open.get(address) ?? 0;
      if (count >= this.perClient) {
        this.problems.note(listener, socket, 'over-limit', { remoteAddress: address, open: count });
        socket.destroy();
        return;
      }
      this.open.set(address, count + 1);
      socket.once('close', () => {
        const left = (this.open.get(address) ?? 1) - 1;
        if (left <= 0) this.open.delete(address);
        else this.open.set(address, left);
      });
    });
  }
}
