// `kes status`, `kes seal`, `kes unseal`: the service-wide seal state of a running kes.
import { Command } from 'commander';
import type { KesClient, KesStatus, SealStatus } from '@kesgate/kes-client';
import { clientOptions, resolveConnection, withClient, type ConnectionFlags } from '../connection.js';
import type { Cli } from '../io.js';
import { CliError, table } from '../output.js';
import { exitCodeFor, resetNodes, sealNodes, stateOf, statusOfNodes, unsealNodes } from './sys-nodes.js';

type Flags = ConnectionFlags & { json?: boolean };

function describeSeal(s: SealStatus): string {
  if (!s.initialized) return 'not initialized (run `kes init`)';
  if (!s.sealed) return 'unsealed';
  return `sealed (unseal progress ${s.progress} of ${s.t}; ${s.n} share${s.n === 1 ? '' : 's'} exist)`;
}

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return [d && `${d}d`, (d || h) && `${h}h`, (d || h || m) && `${m}m`, `${s}s`].filter(Boolean).join('');
}

/** Several endpoints: each node is asked on its own (sys-nodes.ts). */
const severalNodes = (cli: Cli, flags: Flags) => {
  const c = resolveConnection(flags, cli.env, cli.io.cwd);
  return c.endpoints.length > 1 ? c : undefined;
};

const STATUS_EXIT_HELP = `
Several endpoints (--server a,b, a repeated --server, or KES_SERVER=a,b) are each asked, one line per node.
Exit status, as \`vault status\`: 0 every node unsealed, 2 a node sealed (or not initialized), 1 a node
unreachable or another error.`;

export function statusCommand(cli: Cli): Command {
  return clientOptions(new Command('status').description('show whether kes is sealed, the unseal progress, and server status'))
    .addHelpText('after', STATUS_EXIT_HELP)
    .action(async (flags: Flags) => {
      const nodes = severalNodes(cli, flags);
      if (nodes) {
        cli.exitCode = await statusOfNodes(cli, nodes, { json: !!flags.json });
        return;
      }
      await withClient(cli, flags, async (client) => {
        const [st, seal] = await Promise.allSettled([client.status(), client.sealStatus()]);
        if (st.status === 'rejected' && seal.status === 'rejected') throw st.reason;
        const status = st.status === 'fulfilled' ? st.value : undefined;
        const sealStatus = seal.status === 'fulfilled' ? seal.value : undefined;
        cli.emit({ json: !!flags.json }, { endpoints: client.endpointUrls, seal: sealStatus ?? null, status: status ?? null }, () => [
          `kes at ${client.endpointUrls.join(', ')}`,
          ...table(statusRows(status, sealStatus), '  '),
        ]);
        cli.exitCode = exitCodeFor([stateOf(status, sealStatus)]);
      });
    });
}

function statusRows(status: KesStatus | undefined, seal: SealStatus | undefined): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  if (seal) rows.push(['state', describeSeal(seal)]);
  else if (status) rows.push(['state', status.sealed ? 'sealed' : 'unsealed']);
  if (!status) return rows;
  rows.push(['version', String(status.version)]);
  if (typeof status.uptime === 'number') rows.push(['uptime', duration(status.uptime)]);
  if (typeof status.keystore_latency === 'number') rows.push(['keystore', `answers in ${status.keystore_latency} µs`]);
  else if (status.keystore_unreachable) rows.push(['keystore', 'unreachable']);
  if (status.os) rows.push(['platform', `${String(status.os)}/${String(status.arch)}, ${String(status.num_cpu)} CPUs`]);
  if (typeof status.mem_heap_used === 'number') rows.push(['heap', `${(status.mem_heap_used / 2 ** 20).toFixed(1)} MiB`]);
  return rows;
}

export function sealCommand(cli: Cli): Command {
  return clientOptions(
    new Command('seal').description('seal kes: drop the root key and every master key from memory (admin); with several endpoints, each'),
  ).action(async (flags: Flags) => {
    const nodes = severalNodes(cli, flags);
    if (nodes) {
      cli.exitCode = await sealNodes(cli, nodes, { json: !!flags.json });
      return;
    }
    await withClient(cli, flags, async (client) => {
      await client.seal();
      const s = await client.sealStatus();
      cli.emit({ json: !!flags.json }, s, () => [
        'kes is sealed: the root key and every master key were dropped from memory; every key operation answers 503 until unsealed.',
        `Unseal with ${s.t} of the ${s.n} shares: \`kes unseal\`.`,
      ]);
    });
  });
}

interface UnsealFlags extends Flags {
  share?: string[];
  reset?: boolean;
}

export function unsealCommand(cli: Cli): Command {
  return clientOptions(
    new Command('unseal')
      .description('submit unseal shares: --share, one per line on stdin, or typed without echo at a terminal')
      .option(
        '--share <share>',
        'an unseal share (repeatable); prefer stdin or the prompt, flags land in shell history',
        (v: string, all: string[] = []) => [...all, v],
      )
      .option('--reset', 'forget the shares submitted so far')
      .addHelpText(
        'after',
        '\nSeveral endpoints: the same shares go to each node in turn (asked for once), one line per node; exit 1 if any node failed.',
      ),
  ).action(async (flags: UnsealFlags) => {
    const nodes = severalNodes(cli, flags);
    if (nodes) {
      const out = { json: !!flags.json };
      cli.exitCode = flags.reset ? await resetNodes(cli, nodes, out) : await unsealNodes(cli, nodes, flags.share, out);
      return;
    }
    await withClient(cli, flags, async (client) => {
      const out = { json: !!flags.json };
      if (flags.reset) {
        const s = await client.resetUnseal();
        cli.emit(out, s, () => `unseal progress reset: ${describeSeal(s)}`);
        return;
      }
      const before = await client.sealStatus();
      if (!before.initialized) throw new CliError('kes is not initialized: run `kes init` first');
      if (!before.sealed) {
        cli.emit(out, before, () => 'kes is already unsealed');
        return;
      }
      const after = await submitShares(cli, client, before, flags, out.json);
      cli.emit(out, after, () =>
        after.sealed
          ? `still sealed: ${after.progress} of ${after.t} shares submitted; submit ${after.t - after.progress} more with \`kes unseal\``
          : 'kes is unsealed',
      );
    });
  });
}

/** `kes sys status|seal|unseal`: the same commands under the name of the API they call (/v1/sys/...). */
export function sysCommand(cli: Cli): Command {
  return new Command('sys')
    .description('the service-wide seal state: status, seal, unseal (also available as `kes status`, `kes seal`, `kes unseal`)')
    .addCommand(statusCommand(cli))
    .addCommand(sealCommand(cli))
    .addCommand(unsealCommand(cli));
}

async function submitShares(cli: Cli, client: KesClient, start: SealStatus, flags: UnsealFlags, json: boolean): Promise<SealStatus> {
  const input = cli.input();
  const given = [...(flags.share ?? [])];
  const next = async (s: SealStatus): Promise<string | undefined> => {
    if (flags.share) return given.shift();
    if (!input.interactive) return input.nextValue();
    const typed = await input.secret(`Unseal share ${s.progress + 1} of ${s.t} (empty line to stop): `);
    return typed?.trim() || undefined;
  };
  let status = start;
  let submitted = 0;
  try {
    for (let share = await next(status); share !== undefined; share = await next(status)) {
      const progress = status.progress;
      status = await client.unseal(share);
      submitted++;
      if (!json && status.sealed) {
        const dup = status.progress === progress ? ' (this share was already submitted; it counts once)' : '';
        cli.write(`share accepted: ${status.progress} of ${status.t}${dup}\n`);
      }
      if (!status.sealed) break;
    }
  } finally {
    input.close();
  }
  if (submitted === 0)
    throw new CliError('no unseal share given: pass --share, pipe the shares one per line on stdin, or run `kes unseal` at a terminal');
  return status;
}
