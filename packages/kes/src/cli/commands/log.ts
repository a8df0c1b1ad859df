// `kes log --audit | --error`: follow a live log stream of a running kes until Ctrl-C.
import { Command } from 'commander';
import { clientOptions, withClient, type ConnectionFlags } from '../connection.js';
import type { Cli } from '../io.js';
import { CliError } from '../output.js';

type Flags = ConnectionFlags & { json?: boolean; audit?: boolean; error?: boolean };

const AUDIT_COLUMNS: Array<[string, number]> = [
  ['TIME', 24],
  ['IDENTITY', 13],
  ['IP', 15],
  ['METHOD', 6],
  ['STATUS', 6],
  ['LATENCY', 9],
  ['PATH', 0],
];

export function logCommand(cli: Cli): Command {
  return clientOptions(
    new Command('log')
      .description('follow the audit log (default) or the error log of a running kes; NDJSON with --json')
      .option('--audit', 'the audit log: one event per key operation and per refused request')
      .option('--error', 'the error log'),
  ).action((flags: Flags) => {
    if (flags.audit && flags.error) throw new CliError('choose one of --audit and --error');
    const path = flags.error ? '/v1/log/error' : '/v1/log/audit';
    return withClient(cli, flags, async (client) => {
      const abort = new AbortController();
      // Once: a second Ctrl-C while the stream closes ends the process the usual way.
      const stop = () => {
        unregister();
        abort.abort();
      };
      const unregister = cli.io.onInterrupt(stop);
      const render = flags.json ? (e: Record<string, unknown>) => JSON.stringify(e) : flags.error ? errorLine : auditRow;
      try {
        const opened = () => {
          cli.note(`following ${path} at ${client.endpointUrls[0]} (Ctrl-C to stop)`);
          if (!flags.json && !flags.error) cli.write(`${row(AUDIT_COLUMNS.map(([h]) => h))}\n`);
        };
        for await (const event of client.stream(path, abort.signal, opened)) cli.write(`${render(event)}\n`);
      } catch (e) {
        if (abort.signal.aborted) return;
        throw e;
      } finally {
        unregister();
      }
      if (!abort.signal.aborted) throw new CliError(`kes closed the ${flags.error ? 'error' : 'audit'} log stream (did the server stop?)`);
    });
  });
}

function row(cells: string[]): string {
  return cells.map((c, i) => (AUDIT_COLUMNS[i]![1] ? c.padEnd(AUDIT_COLUMNS[i]![1]) : c)).join(' ');
}

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

function auditRow(e: Record<string, unknown>): string {
  const identity = str(e.identity);
  return row([
    str(e.time),
    identity.length > 12 ? `${identity.slice(0, 12)}…` : identity || '-',
    str(e.ip),
    str(e.method),
    str(e.status),
    typeof e.latency_ms === 'number' ? `${e.latency_ms.toFixed(1)}ms` : '',
    str(e.path),
  ]);
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function errorLine(e: Record<string, unknown>): string {
  const { time, level, message, msg, pid: _pid, hostname: _host, ...rest } = e;
  const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
  return `${str(time)} ${typeof level === 'number' ? (LEVELS[level] ?? level) : str(level)} ${str(message ?? msg)}${extra}`;
}
