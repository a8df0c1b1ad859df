// `kesgate rotate`: start a rotation job on the gateway, follow it, and summarise.
import { setTimeout as sleep } from 'node:timers/promises';
import type { AdminClient, RotateInput } from '../admin/client.js';
import type { RotationJob } from '../rotation/index.js';
import type { KesgateIO } from './io.js';
import { progressBar, progressLines, type ProgressView } from './rotate-progress.js';

export interface RotateFlags extends RotateInput {
  json: boolean;
  /** Milliseconds between progress polls. */
  poll: number;
  /** Seconds between plain progress lines when stderr is not a terminal. */
  progressEvery: number;
}

function counts(j: RotationJob): string {
  const c = j.counters;
  return `scanned ${c.scanned}${j.total !== undefined ? `/${j.total}` : ''}, ${j.dryRun ? 'would rotate' : 'rotated'} ${c.rotated}, skipped ${c.skipped}, failed ${c.failed}`;
}

function formatSummary(j: RotationJob): string {
  const c = j.counters;
  const target = `${j.toKey}${j.targetVersion ? ` ${j.targetVersion}` : ''}`;
  const lines = [
    `rotation job ${j.id} ${j.state}${j.dryRun ? ' (dry run: nothing changed)' : ''}`,
    `  bucket ${j.bucket}${j.prefix ? `, prefix ${j.prefix}` : ''}, to ${target}${j.fromKey ? `, only objects under ${j.fromKey}` : ''}`,
    `  ${counts(j)}`,
    `  skipped: ${c.skippedBy['current']} already current, ${c.skippedBy['sse-c']} SSE-C, ${c.skippedBy['other-key']} under other keys, ${c.skippedBy['gone']} deleted meanwhile; ${c.retries} retries`,
  ];
  if (j.error) lines.push(`  error: ${j.error}`);
  for (const f of j.failures) lines.push(`  failed: ${f.key}: ${f.error}`);
  if (c.failed > j.failures.length) lines.push(`  … and ${c.failed - j.failures.length} more failures (see the gateway log)`);
  if (j.state === 'incomplete') {
    const old = j.fromKey ?? 'the old key';
    lines.push(
      `  ${c.failed} object${c.failed === 1 ? ' is' : 's are'} still under ${old}: fix the cause and run the same rotation again (it retries only those); do not delete ${old} before \`kesgate key dependents ${j.fromKey ?? 'KEY'}\` says nothing depends on it`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Follows the job until it ends; returns its final state. */
async function follow(io: KesgateIO, client: AdminClient, first: RotationJob, flags: RotateFlags): Promise<RotationJob> {
  let job = first;
  const view: ProgressView | undefined = flags.json
    ? undefined
    : io.stderr.isTTY === true
      ? progressBar(io.stderr)
      : progressLines(flags.progressEvery * 1000, (l) => io.stderr.write(`${l}\n`));
  const unregister = io.onInterrupt(() => {
    view?.stop(job);
    io.stderr.write(`\nkesgate: stopped following; job ${job.id} goes on in the gateway (GET /kesgate/admin/v1/rotate/${job.id})\n`);
  });
  try {
    while (job.state === 'running') {
      await sleep(flags.poll);
      job = await client.rotation(job.id);
      if (job.state === 'running') view?.update(job);
    }
  } finally {
    view?.stop(job);
    unregister();
  }
  return job;
}

/** Returns the process exit code: 0 when the job finished with no failed object. */
export async function runRotate(io: KesgateIO, client: AdminClient, flags: RotateFlags): Promise<number> {
  const input: RotateInput = { bucket: flags.bucket };
  if (flags.prefix !== undefined) input.prefix = flags.prefix;
  if (flags.toKey !== undefined) input.toKey = flags.toKey;
  if (flags.fromKey !== undefined) input.fromKey = flags.fromKey;
  if (flags.dryRun) input.dryRun = true;
  const started = await client.startRotation(input);
  if (!flags.json)
    io.stderr.write(
      `started rotation job ${started.id} on bucket ${started.bucket} to ${started.toKey}${started.targetVersion ? ` ${started.targetVersion}` : ''}\n`,
    );
  const job = await follow(io, client, started, flags);
  io.stdout.write(flags.json ? `${JSON.stringify(job, null, 2)}\n` : formatSummary(job));
  return job.state === 'done' && job.counters.failed === 0 ? 0 : 1;
}
