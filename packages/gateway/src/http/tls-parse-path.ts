import type https from 'node:https';
import type { TLSSocket } from 'node:tls';

const ignore = (): void => {};

/**
 * Works around a Node 20 HTTP-over-TLS flaw that resets keep-alive connections carrying request bodies.
 *
 * Node's HTTP server lets its parser read a TLS socket's decrypted bytes directly. When a request's headers
 * arrive while the previous response is still draining (a large GET, then a PUT on the same keep-alive or
 * pipelined connection), the server pauses the socket and the parser, but TLS keeps delivering the records it
 * already decrypted from the same network read. The paused parser then fails with HPE_PAUSED and the server
 * destroys the connection: the client sees ECONNRESET in the middle of its PUT. Plain TCP is not affected
 * (a paused TCP socket delivers nothing more).
 *
 * A 'data' listener on the socket makes Node parse from the socket's readable stream instead; a paused
 * stream buffers what arrives and hands it over on resume, so nothing is fed to a paused parser. The
 * listener itself ignores the bytes (the server's own listener parses them). Registered after Node's
 * connection listener, so it is that listener's wrapped `on` that switches the parse path.
 */
export function parseTlsThroughStream(server: https.Server): void {
  server.on('secureConnection', (socket: TLSSocket) => {
    socket.on('data', ignore);
  });
}
