// A PartReader over the body of a ranged GET: each read() copies what the socket has delivered into the
// caller's buffer, waiting only when nothing is there yet. The body stays paused in between, so a slow
// consumer holds back the upstream connection (TCP backpressure) instead of buffering the range.
import type { Readable } from 'node:stream';
import type { PartReader } from '../../types.js';

/**
 * `truncated` makes the error for a body that ended early; `failed` maps a body that failed (a reset or idle
 * connection) to the error the caller should see.
 */
export function pullReader(
  body: Readable,
  length: number,
  truncated: (received: number) => Error,
  failed: (err: Error) => Error,
): PartReader {
  let pending: Buffer | undefined;
  let received = 0;
  let failure: Error | undefined;
  let ended = false;
  // A 'readable' listener keeps the body in paused mode, where read() hands out what is buffered.
  const onError = (err: Error): void => {
    failure ??= failed(err);
  };
  body.on('error', onError);
  body.on('readable', () => {});
  body.once('end', () => {
    ended = true;
  });

  /** Resolves once there is something to read, the body ended, or it failed. */
  const more = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        body.off('readable', done);
        body.off('end', done);
        body.off('close', done);
        body.off('error', done);
        resolve();
      };
      body.once('readable', done);
      body.once('end', done);
      body.once('close', done);
      body.once('error', done);
    });

  return {
    async read(into: Buffer): Promise<number> {
      for (;;) {
        let n = 0;
        while (n < into.length && received + n < length) {
          if (!pending) {
            const next = body.read() as Buffer | null;
            if (next === null) break;
            pending = next;
          }
          const k = pending.copy(into, n, 0, Math.min(pending.length, into.length - n, length - received - n));
          n += k;
          pending = k < pending.length ? pending.subarray(k) : undefined;
        }
        if (n > 0) {
          received += n;
          return n;
        }
        if (received >= length) return 0;
        if (failure) throw failure;
        if (ended || body.readableEnded || body.destroyed) throw failure ?? truncated(received);
        await more();
      }
    },
    async close(): Promise<void> {
      pending = undefined;
      body.off('error', onError);
      body.on('error', () => {});
      // A fully read body is drained to its end, which returns its connection to the pool; one left
      // half-read is destroyed, which closes its connection.
      if (received >= length && !failure && !body.destroyed) body.resume();
      else body.destroy();
    },
  };
}
