// `kes metric`: the server's metrics (GET /v1/metrics, Prometheus text) as a table of samples, or as JSON.
import { Command } from 'commander';
import { clientOptions, withClient, type ConnectionFlags } from '../connection.js';
import type { Cli } from '../io.js';
import { table } from '../output.js';

type Flags = ConnectionFlags & { json?: boolean; raw?: boolean };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments and blank lines skipped). */
function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line.trim());
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

const labelText = (labels: Record<string, string>) => {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

export function metricCommand(cli: Cli): Command {
  return clientOptions(
    new Command('metric')
      .description("print the server's metrics: requests by outcome, response times, log events, process figures")
      .option('--raw', 'print the Prometheus text as kes serves it'),
  ).action((flags: Flags) =>
    withClient(cli, flags, async (c) => {
      const text = await c.metrics();
      if (flags.raw) {
        cli.write(text.endsWith('\n') ? text : `${text}\n`);
        return;
      }
      const samples = parseSamples(text);
      cli.emit({ json: !!flags.json }, { metrics: samples }, () =>
        table(samples.map((s) => [`${s.name}${labelText(s.labels)}`, String(s.value)])),
      );
    }),
  );
}
