// A TCP port on 127.0.0.1 that nothing listens on, for a server that another process starts a moment later.
//
// The port is chosen below the kernel's ephemeral range on purpose. The kernel hands ephemeral ports to every
// listen(0) and to the local end of every outgoing connection, so a port it gave us and we released can be handed
// to someone else before our server binds it. CI saw exactly that: `npm start` failed with EADDRINUSE on a port
// that a probe had just found free. Ports below the range are only taken by whoever asks for them by number.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;
/** Ports this process has handed out: never twice, even if the first server has not bound its port yet. */
const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (Linux), else the IANA default. */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 0) return first;
  } catch {
    // Not Linux: fall through.
  }
  return 49_152;
}

/** Listens on `port` (0: the kernel picks) and closes again; the port it got, or undefined if it was taken. */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}

export async function freePort(): Promise<number> {
  const high = ephemeralStart() - 1;
  if (high - LOWEST >= 1000) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = LOWEST + Math.floor(Math.random() * (high - LOWEST + 1));
      if (handedOut.has(port)) continue;
      if ((await probe(port)) === port) {
        handedOut.add(port);
        return port;
      }
    }
  }
  // No room below the ephemeral range (or all of it busy): let the kernel choose, with the race described above.
  const port = await probe(0);
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}
