// moto_server (a Python S3 emulator, found on PATH) as a child process on a port: the upstream S3 of the
// tests, `npm run cluster` and the cluster benchmark, standing in for MinIO, Ceph RGW or AWS S3. It keeps
// its buckets in memory and checks no signatures: any credentials do.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port.js';

/** Why moto_server cannot run here, or undefined when it is on PATH. */
export function motoMissing(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim()
    ? undefined
    : 'moto_server is not on PATH (pip install "moto[server]" to run an upstream S3 on this machine)';
}

export interface MotoServer {
  endpoint: string;
  port: number;
  process: ChildProcess;
  /**
   * Requests served so far, by kind ("PUT", "GET", "DELETE", "PUT part", "POST complete", …), counted from
   * moto's access log: what a client's request cost upstream.
   */
  requests(): Record<string, number>;
  close(): Promise<void>;
}

/** "PUT part" for `PUT /b/k?partNumber=1&uploadId=…`, "GET" for a plain GET, and so on. */
function requestKind(method: string, target: string): string {
  const query = target.includes('?') ? target.slice(target.indexOf('?') + 1) : '';
  if (/(^|&)partNumber=/.test(query)) return `${method} part`;
  if (/(^|&)uploads(=|&|$)/.test(query)) return `${method} create-multipart`;
  if (/(^|&)uploadId=/.test(query)) return `${method} ${method === 'POST' ? 'complete' : method === 'DELETE' ? 'abort' : 'list-parts'}`;
  if (/(^|&)delete(=|&|$)/.test(query)) return 'POST delete-objects';
  if (/(^|&)list-type=2/.test(query) || (method === 'GET' && /^\/[^/]+\/?$/.test(target.split('?')[0]!))) return 'GET list';
  return method;
}

/** Starts moto_server on 127.0.0.1 (on `port`, else a free one) and waits until it answers. */
export async function startMotoServer(options: { port?: number } = {}): Promise<MotoServer> {
  const port = options.port ?? (await freePort());
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let partial = '';
  const counts: Record<string, number> = {};
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stderr = (stderr + text).slice(-2000);
    // Werkzeug's access log: 127.0.0.1 - - [date] "PUT /bucket/key?x=y HTTP/1.1" 200 -
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const m = /"([A-Z]+) (\S+) HTTP\/[\d.]+"/.exec(line);
      if (m) {
        const kind = requestKind(m[1]!, m[2]!);
        counts[kind] = (counts[kind] ?? 0) + 1;
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const failed = new Promise<never>((_, reject) => child.once('error', reject));
  failed.catch(() => {});
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const up = await fetch(endpoint).then(
      (res) => res.ok,
      () => false,
    );
    if (up) break;
    const code = await Promise.race([exited, failed, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 200))]);
    if (code !== 'running') throw new Error(`moto_server exited (${code}) before it served: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within 60 s: ${stderr}`);
    }
  }
  return {
    endpoint,
    port,
    process: child,
    requests: () => ({ ...counts }),
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
