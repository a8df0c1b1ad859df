// A layer-4 balancer for tests: each new TCP connection goes to the next target in turn, as haproxy in
// `balance roundrobin` mode does in docker/. Clients that keep connections alive stay on one gateway for
// that connection; a tool that opens several (the AWS CLI's parallel parts, boto3's pool) spreads over all.
import { connect, createServer, type Socket } from 'node:net';

export interface RoundRobinProxy {
  port: number;
  /** Connections handed to each target so far, in target order. */
  connections(): number[];
  close(): Promise<void>;
}

export async function startRoundRobinProxy(targetPorts: () => number[]): Promise<RoundRobinProxy> {
  const sockets = new Set<Socket>();
  const counts: number[] = [];
  let turn = 0;
  const server = createServer((client) => {
    const ports = targetPorts();
    const index = turn++ % ports.length;
    counts[index] = (counts[index] ?? 0) + 1;
    const upstream = connect(ports[index]!, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    connections: () => targetPorts().map((_, i) => counts[i] ?? 0),
    close: () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      return closed;
    },
  };
}
