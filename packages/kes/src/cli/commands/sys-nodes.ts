// `kes status`, `kes seal` and `kes unseal` with several endpoints (`--server a,b`, a repeated --server, or a
// KES_SERVER list): each node is asked on its own (a failover client would answer for whichever node it
// reached), and one line per node is printed. Unseal is per node, as in Vault: the same shares go to each.
import type { KesClient, KesStatus, SealStatus } from '@kesgate/kes-client';
import { clientFor, type Connection } from '../connection.js';
import { EXIT } from '../exit-codes.js';
import type { Cli, Out } from '../io.js';
import { describeError } from '../output.js';

/** Exit status of `kes status`, as `vault status`: 0 every node unsealed, 2 one sealed (or not initialized), 1 an error. */
const EXIT_SEALED = EXIT.sealed;
const EXIT_ERROR = EXIT.error;

export type NodeState = 'unsealed' | 'sealed' | 'not initialized' | 'error';

interface NodeStatus {
  endpoint: string;
  state: NodeState;
  seal: SealStatus | null;
  status: KesStatus | null;
  error?: string;
}

/** An error on any node wins (its state is unknown), then a sealed one. */
export function exitCodeFor(states: NodeState[]): number {
  if (states.includes('error')) return EXIT_ERROR;
  if (states.some((s) => s !== 'unsealed')) return EXIT_SEALED;
  return 0;
}

export function stateOf(status: KesStatus | undefined, seal: SealStatus | undefined): NodeState {
  if (seal) return !seal.initialized ? 'not initialized' : seal.sealed ? 'sealed' : 'unsealed';
  return status?.sealed ? 'sealed' : 'unsealed';
}

function nodeClient(c: Connection, endpoint: string, timeoutMs: number): KesClient {
  return clientFor(c, { endpoints: [endpoint], retries: 0, timeoutMs });
}

async function withNode<T>(c: Connection, endpoint: string, timeoutMs: number, fn: (client: KesClient) => Promise<T>): Promise<T> {
  const client = nodeClient(c, endpoint, timeoutMs);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** The errors a CLI user reads, on one line (the hints describeError adds go on the next). */
const oneLine = (e: unknown): string => describeError(e).split('\n')[0]!;

function sealLine(s: SealStatus): string {
  if (!s.initialized) return 'not initialized (run `kes init`)';
  if (!s.sealed) return 'unsealed';
  return `sealed (unseal progress ${s.progress} of ${s.t})`;
}

export async function statusOfNodes(cli: Cli, c: Connection, out: Out): Promise<number> {
  const nodes = await Promise.all(
    c.endpoints.map((endpoint) =>
      withNode(c, endpoint, 5000, async (client): Promise<NodeStatus> => {
        const [st, seal] = await Promise.allSettled([client.status(), client.sealStatus()]);
        if (st.status === 'rejected' && seal.status === 'rejected') {
          return { endpoint, state: 'error', seal: null, status: null, error: oneLine(st.reason) };
        }
        const status = st.status === 'fulfilled' ? st.value : undefined;
        const sealStatus = seal.status === 'fulfilled' ? seal.value : undefined;
        return { endpoint, state: stateOf(status, sealStatus), seal: sealStatus ?? null, status: status ?? null };
      }),
    ),
  );
  const width = Math.max(...nodes.map((n) => n.endpoint.length));
  cli.emit(out, { endpoints: c.endpoints, nodes }, () =>
    nodes.map((n) => {
      const what = n.error !== undefined ? `ERROR: ${n.error}` : n.seal ? sealLine(n.seal) : n.state;
      const version = n.status ? `  (kes ${String(n.status.version)})` : '';
      return `${n.endpoint.padEnd(width)}  ${what}${version}`;
    }),
  );
  return exitCodeFor(nodes.map((n) => n.state));
}

export async function sealNodes(cli: Cli, c: Connection, out: Out): Promise<number> {
  const nodes = await Promise.all(
    c.endpoints.map((endpoint) =>
      withNode(c, endpoint, 10_000, async (client) => {
        try {
          if ((await client.sealStatus()).sealed) return { endpoint, result: 'already sealed' };
          await client.seal();
          return { endpoint, result: 'sealed' };
        } catch (e) {
          return { endpoint, result: 'error', error: oneLine(e) };
        }
      }),
    ),
  );
  const width = Math.max(...nodes.map((n) => n.endpoint.length));
  cli.emit(out, { nodes }, () =>
    nodes.map((n) => `${n.endpoint.padEnd(width)}  ${n.error !== undefined ? `ERROR: ${n.error}` : n.result}`),
  );
  return nodes.some((n) => n.error !== undefined) ? EXIT_ERROR : 0;
}

interface UnsealResult {
  endpoint: string;
  /** Its seal status after the shares, when it answered. */
  seal?: SealStatus;
  result: 'unsealed' | 'already unsealed' | 'still sealed' | 'error';
  error?: string;
}

/**
 * Unseals each node in turn with the same shares: those given with --share, else read (stdin, or typed
 * without echo) as the first sealed node needs them and kept in memory for the others.
 */
export async function unsealNodes(cli: Cli, c: Connection, given: string[] | undefined, out: Out): Promise<number> {
  const input = cli.input();
  const shares = [...(given ?? [])];
  const more = async (endpoint: string, s: SealStatus): Promise<string | undefined> => {
    if (given) return undefined;
    if (!input.interactive) return input.nextValue();
    const typed = await input.secret(`Unseal share ${s.progress + 1} of ${s.t} for ${endpoint} (empty line to stop): `);
    return typed?.trim() || undefined;
  };
  const results: UnsealResult[] = [];
  try {
    for (const endpoint of c.endpoints) {
      results.push(
        await withNode(c, endpoint, 10_000, async (client): Promise<UnsealResult> => {
          try {
            let s = await client.sealStatus();
            if (!s.initialized) return { endpoint, seal: s, result: 'error', error: 'not initialized: run `kes init` first' };
            if (!s.sealed) return { endpoint, seal: s, result: 'already unsealed' };
            for (let i = 0; s.sealed; i++) {
              const share = i < shares.length ? shares[i] : await more(endpoint, s);
              if (share === undefined) break;
              if (i >= shares.length) shares.push(share);
              s = await client.unseal(share);
            }
            if (s.sealed && shares.length === 0) {
              return {
                endpoint,
                seal: s,
                result: 'error',
                error: 'no unseal share given: pass --share, pipe the shares one per line on stdin, or run `kes unseal` at a terminal',
              };
            }
            return { endpoint, seal: s, result: s.sealed ? 'still sealed' : 'unsealed' };
          } catch (e) {
            return { endpoint, result: 'error', error: oneLine(e) };
          }
        }),
      );
    }
  } finally {
    input.close();
  }
  const width = Math.max(...results.map((r) => r.endpoint.length));
  cli.emit(out, { nodes: results }, () =>
    results.map((r) => {
      const what =
        r.error !== undefined
          ? `ERROR: ${r.error}`
          : r.result === 'still sealed'
            ? `still sealed: ${r.seal!.progress} of ${r.seal!.t} shares submitted`
            : r.result;
      return `${r.endpoint.padEnd(width)}  ${what}`;
    }),
  );
  if (results.some((r) => r.error !== undefined)) return EXIT_ERROR;
  return 0;
}

/** `kes unseal --reset` on each node: the shares each has collected so far are forgotten. */
export async function resetNodes(cli: Cli, c: Connection, out: Out): Promise<number> {
  const nodes = await Promise.all(
    c.endpoints.map((endpoint) =>
      withNode(c, endpoint, 10_000, async (client) => {
        try {
          return { endpoint, seal: await client.resetUnseal() };
        } catch (e) {
          return { endpoint, error: oneLine(e) };
        }
      }),
    ),
  );
  const width = Math.max(...nodes.map((n) => n.endpoint.length));
  cli.emit(out, { nodes }, () =>
    nodes.map(
      (n) => `${n.endpoint.padEnd(width)}  ${n.error !== undefined ? `ERROR: ${n.error}` : `unseal progress reset: ${sealLine(n.seal!)}`}`,
    ),
  );
  return nodes.some((n) => n.error !== undefined) ? EXIT_ERROR : 0;
}
