// What happens to the unread body of a refused request. Closing the connection at once would destroy a
// socket with unread bytes, which makes the kernel send a reset: a client still sending (Python's
// http.client sends the whole body before it reads anything) then gets a broken pipe and never sees the
// error, and the reset can even discard an answer it had already received. So the rest of the body is
// read and thrown away, within bounds, and the connection then serves the next request or closes cleanly.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { stopWaitingForBody } from './expect-continue.js';

/**
 * Most bytes of a refused body read and thrown away. Discarding costs bandwidth only (no memory, no disk),
 * and a client that sends its whole body first needs it to see the error at all; beyond a few hundred MiB a
 * refused client is not worth the link any more (AWS allows 5 GiB in one PUT), and the connection is cut.
 */
export const DISCARD_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Longest time a refused request's connection is kept to discard its body or wait for its client to close:
 * long enough for the bytes above over a slow link, short enough that a stalled client does not hold a
 * connection for the server's 5-minute request timeout.
 */
const DISCARD_MAX_MS = 60_000;

/**
 * Called while a refusal is being answered and `req`'s body is not (wholly) read. A client waiting for 100
 * Continue sends no body: the answer says `Connection: close` (Node insists), then the connection closes
 * cleanly, after whatever the client sends anyway. A body that is on its way is read and discarded: when
 * it is no larger than DISCARD_MAX_BYTES the connection stays open for the next request, else the answer
 * says `Connection: close` and the connection is cut at the bound.
 */
export function discardRefusedBody(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  const waiting = stopWaitingForBody(req);
  if (req.complete || req.destroyed || !socket || socket.destroyed) return;
  // No body (a GET refused before Node saw the end of its message, which follows the headers at once).
  const declared = req.headers['content-length'];
  if ((declared === undefined || declared === '0') && req.headers['transfer-encoding'] === undefined) return;
  const length = Number(declared);
  const keepOpen = !waiting && Number.isSafeInteger(length) && length <= DISCARD_MAX_BYTES;

  const cut = (): void => {
    socket.destroy();
  };
  const timer = setTimeout(cut, DISCARD_MAX_MS);
  timer.unref();
  const stop = (): void => {
    clearTimeout(timer);
    socket.off('close', stop);
  };
  socket.once('close', stop);
  // Kept open, the connection is the next request's once this body is read.
  if (keepOpen) req.once('end', stop);

  let discarded = 0;
  // The handler may have piped the body into its decoder before it failed: take it back.
  req.unpipe();
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DISCARD_MAX_BYTES) cut();
  });
  req.resume();

  if (!keepOpen) {
    res.setHeader('Connection', 'close');
    closeAfterPeer(socket);
  }
}

/**
 * Once the answer is written, Node calls destroySoon() on a connection that closes: it sends FIN and destroys
 * the socket as soon as the answer is flushed, resetting it if client bytes are still arriving. Here the
 * socket only ends its side (FIN; on TLS a close_notify first) and keeps reading, the HTTP parser handing
 * the bytes to the request being discarded, until the client closes too (the socket then closes itself)
 * or the bounds of discardRefusedBody cut it.
 */
function closeAfterPeer(socket: Socket): void {
  socket.destroySoon = function endOnly(this: Socket): void {
    if (this.writable) this.end();
  };
}
