// Timed single-stream transfers and concurrent small-object loops, against any endpoint RawS3 speaks to.
import { expectStatus, repeatingBody, type RawS3 } from './s3-raw.js';
import { MiB } from './stats.js';

/** PUT `size` bytes of `block` repeated; returns MB/s (MiB per second) of the whole request. */
export async function timedPut(
  client: RawS3,
  bucket: string,
  key: string,
  size: number,
  block: Buffer,
  headers?: Record<string, string>,
): Promise<number> {
  const r = await client.put(bucket, key, repeatingBody(size, block), headers);
  expectStatus(r, 200, `PUT ${key} (${size} bytes) at ${client.endpoint}`);
  return size / MiB / (r.ms / 1000);
}

/** GET the whole object, counting bytes only; returns MB/s (MiB per second). */
export async function timedGet(
  client: RawS3,
  bucket: string,
  key: string,
  size: number,
  headers?: Record<string, string>,
): Promise<number> {
  const r = await client.get(bucket, key, { ...(headers ? { headers } : {}), sink: 'count' });
  expectStatus(r, 200, `GET ${key} at ${client.endpoint}`);
  if (r.bytes !== size) throw new Error(`GET ${key} at ${client.endpoint}: ${r.bytes} bytes, expected ${size}`);
  return size / MiB / (r.ms / 1000);
}

export interface LoopResult {
  ops: number;
  seconds: number;
  /** Latencies in ms by operation name. */
  latencies: Record<string, number[]>;
  /** Failures by "OP status code". */
  errors: Record<string, number>;
}

export function emptyResult(): LoopResult {
  return { ops: 0, seconds: 0, latencies: {}, errors: {} };
}

export function mergeInto(into: LoopResult, r: LoopResult): void {
  into.ops += r.ops;
  into.seconds += r.seconds;
  for (const [op, l] of Object.entries(r.latencies)) (into.latencies[op] ??= []).push(...l);
  for (const [k, n] of Object.entries(r.errors)) into.errors[k] = (into.errors[k] ?? 0) + n;
}

/**
 * `clients` concurrent loops for `seconds`, each a PUT of `size` bytes then a GET of the same key
 * (compared byte for byte), cycling over `keysPerClient` keys of its own (so most PUTs overwrite).
 */
export async function putGetLoop(
  client: RawS3,
  bucket: string,
  opts: {
    clients: number;
    seconds: number;
    size: number;
    keysPerClient: number;
    pool: Buffer;
    headers?: Record<string, string>;
    /** Headers of the GETs, when not `headers` (which SSE-C needs on both, and SSE-S3/KMS must not send on a GET). */
    getHeaders?: Record<string, string>;
  },
): Promise<LoopResult> {
  const result: LoopResult = { ops: 0, seconds: 0, latencies: { PUT: [], GET: [] }, errors: {} };
  const fail = (what: string) => {
    result.errors[what] = (result.errors[what] ?? 0) + 1;
  };
  const start = performance.now();
  const deadline = start + opts.seconds * 1000;
  const loop = async (c: number): Promise<void> => {
    for (let n = 0; performance.now() < deadline; n++) {
      const key = `c${c}/k${n % opts.keysPerClient}`;
      const at = Math.floor(Math.random() * (opts.pool.length - opts.size));
      const body = opts.pool.subarray(at, at + opts.size);
      try {
        const put = await client.put(bucket, key, body, opts.headers);
        if (put.status !== 200) {
          fail(`PUT ${put.status} ${put.code ?? ''}`);
          continue;
        }
        result.latencies.PUT!.push(put.ms);
        result.ops++;
        const getHeaders = opts.getHeaders ?? opts.headers;
        const get = await client.get(bucket, key, { ...(getHeaders ? { headers: getHeaders } : {}), sink: 'buffer' });
        if (get.status !== 200) {
          fail(`GET ${get.status} ${get.code ?? ''}`);
          continue;
        }
        if (!get.body!.equals(body)) {
          fail('GET body differs from the PUT');
          continue;
        }
        result.latencies.GET!.push(get.ms);
        result.ops++;
      } catch (err) {
        fail(`network ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.clients }, (_, c) => loop(c)));
  result.seconds = (performance.now() - start) / 1000;
  return result;
}
