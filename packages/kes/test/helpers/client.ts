// A keep-alive mTLS client for tests that send many requests (one TLS handshake, not hundreds).
import { Agent, request } from 'node:https';
import type { Client } from './pki.js';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export interface KeepAliveClient {
  send(method: string, path: string, body?: unknown): Promise<Answer>;
  close(): void;
}

export function keepAliveClient(port: number, ca: string, who: Client, sockets = 1): KeepAliveClient {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, key: who.key, cert: who.cert, ca });
  return {
    send(method, path, body) {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      return new Promise((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method,
            path,
            agent,
            headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}
