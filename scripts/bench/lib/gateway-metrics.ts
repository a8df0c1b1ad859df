// Reads the gateway's own kes-latency histogram from /kesgate/metrics, so a benchmark can tell
// time spent waiting for kes from time spent in the gateway.
import http from 'node:http';

export interface KesCalls {
  /** By operation (generate, decrypt, …): calls and total seconds. */
  [operation: string]: { count: number; seconds: number };
}

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

export async function kesCalls(gatewayUrl: string): Promise<KesCalls> {
  const text = await fetchText(`${gatewayUrl}/kesgate/metrics`);
  const out: KesCalls = {};
  const re = /^kesgate_kms_request_duration_seconds_(sum|count)\{([^}]*)\} ([0-9.eE+-]+)$/gm;
  for (const m of text.matchAll(re)) {
    const op = /operation="([^"]*)"/.exec(m[2]!)?.[1] ?? '?';
    const entry = (out[op] ??= { count: 0, seconds: 0 });
    if (m[1] === 'sum') entry.seconds += Number(m[3]);
    else entry.count += Number(m[3]);
  }
  return out;
}

/** "generate 1200 calls, mean 4.1 ms; decrypt …" for the calls made between two snapshots. */
export function describeKesCalls(before: KesCalls, after: KesCalls): string {
  const parts: string[] = [];
  for (const [op, a] of Object.entries(after)) {
    const b = before[op] ?? { count: 0, seconds: 0 };
    const n = a.count - b.count;
    if (n > 0) parts.push(`${op} ${n} calls, mean ${(((a.seconds - b.seconds) / n) * 1000).toFixed(1)} ms`);
  }
  return parts.join('; ') || 'no kes calls';
}
