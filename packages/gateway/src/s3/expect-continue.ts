// `Expect: 100-continue` answered by the gateway rather than by Node. Node answers 100 Continue as soon as
// the headers arrive, before anything is checked, so a client then sends a whole body that is refused the
// moment it arrives. Here 100 goes out only when a handler starts reading the body (see bodyStream): every
// check made before that (signature, bucket, upload, SSE headers, the KMS data key) can still answer with
// its final status, and the client sends no body at all.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** Requests whose client waits for 100 Continue, with the response to write it on. */
const waiting = new WeakMap<IncomingMessage, ServerResponse>();

/**
 * Takes over `Expect: 100-continue` on `server`: with a 'checkContinue' listener Node no longer answers 100
 * itself; the request goes to the server's 'request' listeners (the app) as any other.
 */
export function continueWhenBodyIsRead(server: Server): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    waiting.set(req, res);
    server.emit('request', req, res);
  });
}

/** Sends the 100 Continue `req`'s client waits for, if it waits and no final answer went out before. */
export function sendContinue(req: IncomingMessage): void {
  const res = waiting.get(req);
  if (!res) return;
  waiting.delete(req);
  if (!res.headersSent && !res.writableEnded) res.writeContinue();
}

/**
 * Whether `req`'s client still waits for 100 Continue (and so sends no body unless it stops waiting). The
 * request is forgotten: once answered with a final status, it is never sent 100.
 */
export function stopWaitingForBody(req: IncomingMessage): boolean {
  return waiting.delete(req);
}
