// `kesgate rotate list` and `kesgate rotate cancel ID`: the rotation jobs of a gateway (its admin API).
import type { AdminClient } from '../admin/client.js';
import type { RotationJob } from '../rotation/index.js';
import { EXIT } from './exit-codes.js';
import type { KesgateIO } from './io.js';

function row(j: RotationJob): string[] {
  const c = j.counters;
  return [
    j.id,
    `${j.state}${j.cancelRequested && j.state === 'running' ? ' (cancel requested)' : ''}${j.dryRun ? ' (dry run)' : ''}`,
    `${j.bucket}${j.prefix ? `/${j.prefix}` : ''}`,
    `${j.fromKey ? `${j.fromKey} → ` : ''}${j.toKey}${j.targetVersion ? ` ${j.targetVersion}` : ''}`,
    `${c.scanned}${j.total !== undefined ? `/${j.total}` : ''}`,
    String(c.rotated),
    String(c.failed),
    j.createdAt,
  ];
}

/** Columns padded to their widest cell (the last one is not padded). */
function columns(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]!.length))) ?? [];
  return rows.map((r) =>
    r
      .map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd(),
  );
}

export async function runRotateList(io: KesgateIO, client: AdminClient, json: boolean): Promise<number> {
  const jobs = await client.rotations();
  if (json) {
    io.stdout.write(`${JSON.stringify({ jobs }, null, 2)}\n`);
    return EXIT.ok;
  }
  if (jobs.length === 0) {
    io.stderr.write('no rotation jobs\n');
    return EXIT.ok;
  }
  const header = ['ID', 'STATE', 'BUCKET', 'KEY', 'SCANNED', 'ROTATED', 'FAILED', 'CREATED'];
  io.stdout.write(`${columns([header, ...jobs.map(row)]).join('\n')}\n`);
  return EXIT.ok;
}

/** Exit 0 when the job ended cancelled, or another gateway runs it and will end it (cancel requested). */
export async function runRotateCancel(io: KesgateIO, client: AdminClient, id: string, json: boolean): Promise<number> {
  const job = await client.cancelRotation(id);
  if (json) io.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
  else if (job.state === 'cancelled') {
    io.stdout.write(
      `rotation job ${id} cancelled: ${job.counters.rotated} object(s) were rotated before it stopped; the others keep their key (run the rotation again to go on)\n`,
    );
  } else {
    io.stdout.write(
      `cancel of rotation job ${id} requested: the gateway running it ends it at its next lease renewal (see \`kesgate rotate list\`)\n`,
    );
  }
  return job.state === 'cancelled' || job.cancelRequested ? EXIT.ok : EXIT.error;
}
