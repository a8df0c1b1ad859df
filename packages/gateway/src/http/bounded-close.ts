// Shutdown that ends within a bound: stop accepting, let requests in flight finish for a drain period, then cut
// whatever is still open. Without the bound a keep-alive client that never reads its response (or an upload
// that stalls) holds a SIGTERM up to the keep-alive or request timeout, past a container's grace period.
import type http from 'node:http';
import net, { type Socket } from 'node:net';

/**
 * Follows the connections of the servers it tracks, so that `close(drainMs)` can tell idle connections from
 * busy ones and count what it had to cut. Node's `server.close()` is not used to stop listening: it also
 * destroys every connection whose response has been ended, even one whose last bytes are still waiting for a
 * slow reader, which would truncate that response at the start of the drain.
 */
export class BoundedClose {
  private readonly servers: http.Server[] = [];
  /** Every accepted TCP connection (for TLS: the raw socket, so handshakes in progress count too). */
  private readonly connections = new Set<Socket>();
  /** Responses not yet closed, per socket that carries HTTP (the TLS socket on an HTTPS listener). */
  private readonly inFlight = new Map<Socket, Set<http.ServerResponse>>();
  /** Sockets that carry HTTP, for the idle sweep at the start of the drain. */
  private readonly httpSockets = new Set<Socket>();
  private closing = false;

  /** Follows `server`'s connections from now on; call it before the server listens. */
  track(server: http.Server, tls = false): void {
    this.servers.push(server);
    server.on('connection', (socket: Socket) => {
      this.connections.add(socket);
      socket.once('close', () => this.connections.delete(socket));
      if (!tls) this.followHttp(socket);
    });
    if (tls) server.on('secureConnection', (socket: Socket) => this.followHttp(socket));
    // First among the request listeners, so it runs before the app writes anything.
    server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.started(req.socket, res));
  }

  /**
   * Stops accepting, closes idle connections, lets requests in flight finish for `drainMs` (each response
   * then ends its connection: `Connection: close`), and destroys the connections still open at the deadline.
   * Resolves once every connection is gone, with how many were cut.
   */
  async close(drainMs: number): Promise<number> {
    this.closing = true;
    const stopped = Promise.all(
      this.servers
        .filter((server) => server.listening)
        .map((server) => new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()))),
    );
    for (const socket of this.httpSockets) {
      const responses = this.inFlight.get(socket);
      if (!responses) this.end(socket);
      else for (const res of responses) if (!res.headersSent) res.shouldKeepAlive = false;
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), drainMs)));
    const outcome = await Promise.race([stopped.then(() => 'drained' as const), deadline]);
    clearTimeout(timer);
    let cut = 0;
    if (outcome === 'deadline') {
      cut = this.connections.size;
      for (const socket of this.connections) socket.destroy();
      await stopped;
    }
    // Node's own close clears the header-timeout timer; the servers stopped listening already, so it only says so.
    for (const server of this.servers) server.close(() => undefined);
    return cut;
  }

  private followHttp(socket: Socket): void {
    this.httpSockets.add(socket);
    socket.once('close', () => {
      this.httpSockets.delete(socket);
      this.inFlight.delete(socket);
    });
  }

  private started(socket: Socket, res: http.ServerResponse): void {
    // During the drain the response ends its connection, so the client takes its next request elsewhere.
    if (this.closing) res.shouldKeepAlive = false;
    let responses = this.inFlight.get(socket);
    if (!responses) this.inFlight.set(socket, (responses = new Set()));
    responses.add(res);
    res.once('close', () => {
      responses.delete(res);
      if (responses.size > 0) return;
      this.inFlight.delete(socket);
      // A keep-alive response that finished during the drain leaves an idle connection: end it now.
      if (this.closing && !socket.destroyed) this.end(socket);
    });
  }

  /** Ends a connection after what it has written is flushed (a FIN, not a reset of bytes in flight). */
  private end(socket: Socket): void {
    socket.end(() => socket.destroy());
  }
}
