// Concurrent small-object loops that measure PUT and GET apart: a PUT-only loop for a while, then a GET-only loop
// over exactly the objects that loop wrote (compared byte for byte). A PUT+GET loop mixes the two rates into one
// figure; the gateway's costs differ between them (a data key made on PUT, unwrapped on GET).
import type { RawS3 } from './s3-raw.js';
import type { LoopResult } from './transfer.js';

export interface SmallLoopOptions {
  clients: number;
  seconds: number;
  size: number;
  keysPerClient: number;
  pool: Buffer;
  /** Key prefix, so cases that write differently never read each other's objects. */
  prefix: string;
  headers?: Record<string, string>;
}

/** What a PUT loop wrote: each client's keys and their bodies (views into the pool). */
export type Written = Map<string, Buffer>[];

function newResult(op: string): LoopResult {
  return { ops: 0, seconds: 0, latencies: { [op]: [] }, errors: {} };
}

function fail(r: LoopResult, what: string): void {
  r.errors[what] = (r.errors[what] ?? 0) + 1;
}

/** `clients` loops of PUTs for `seconds`, each over `keysPerClient` keys of its own (later rounds overwrite). */
export async function putLoop(client: RawS3, bucket: string, o: SmallLoopOptions): Promise<{ result: LoopResult; written: Written }> {
  const result = newResult('PUT');
  const written: Written = Array.from({ length: o.clients }, () => new Map());
  const start = performance.now();
  const deadline = start + o.seconds * 1000;
  const loop = async (c: number): Promise<void> => {
    for (let n = 0; performance.now() < deadline; n++) {
      const key = `${o.prefix}/c${c}/k${n % o.keysPerClient}`;
      const at = Math.floor(Math.random() * (o.pool.length - o.size));
      const body = o.pool.subarray(at, at + o.size);
      try {
        const put = await client.put(bucket, key, body, o.headers);
        if (put.status !== 200) {
          fail(result, `PUT ${put.status} ${put.code ?? ''}`);
          continue;
        }
        written[c]!.set(key, body);
        result.latencies.PUT!.push(put.ms);
        result.ops++;
      } catch (err) {
        fail(result, `network ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, c) => loop(c)));
  result.seconds = (performance.now() - start) / 1000;
  return { result, written };
}

/** `clients` loops of GETs for `seconds`, each cycling over the objects its PUT loop wrote. */
export async function getLoop(
  client: RawS3,
  bucket: string,
  written: Written,
  o: { seconds: number; headers?: Record<string, string> },
): Promise<LoopResult> {
  const result = newResult('GET');
  const start = performance.now();
  const deadline = start + o.seconds * 1000;
  const loop = async (objects: [string, Buffer][]): Promise<void> => {
    if (objects.length === 0) return;
    for (let n = 0; performance.now() < deadline; n++) {
      const [key, body] = objects[n % objects.length]!;
      try {
        const get = await client.get(bucket, key, { ...(o.headers ? { headers: o.headers } : {}), sink: 'buffer' });
        if (get.status !== 200) {
          fail(result, `GET ${get.status} ${get.code ?? ''}`);
          continue;
        }
        if (!get.body!.equals(body)) {
          fail(result, 'GET body differs from the PUT');
          continue;
        }
        result.latencies.GET!.push(get.ms);
        result.ops++;
      } catch (err) {
        fail(result, `network ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
  };
  await Promise.all(written.map((m) => loop([...m])));
  result.seconds = (performance.now() - start) / 1000;
  return result;
}
