// A TCP forwarder in front of a server that can be switched off and on again on the same port: off, new
// connections are refused and open ones are reset, as when the server behind it is stopped; on, it
// forwards again. The server behind keeps its state (moto keeps everything in memory, so stopping moto
// itself would lose the blobs).
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpSwitch {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  off(): Promise<void>;
  on(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpSwitch(target: string): Promise<TcpSwitch> {
  const to = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      const upstream = connect(Number(to.port), to.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as { port: number }).port;
    server = s;
  };

  const off = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const socket of sockets) socket.resetAndDestroy();
    await closed;
  };

  await listen();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    off,
    async on() {
      if (!server) await listen();
    },
    close: off,
  };
}
