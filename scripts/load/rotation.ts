// The rotation step of the load test: start a job through the admin API and wait for it to end.
import { setTimeout as sleep } from 'node:timers/promises';
import { AdminClient, AdminRequestError, type RotationJob } from '@kesgate/gateway';

export type RotationOutcome = { ran: false; why: string } | { ran: true; job: RotationJob; seconds: number };

/**
 * Starts `POST /kesgate/admin/v1/rotate` and polls it until it is no longer running. A gateway without
 * the admin API (404) is reported, not failed: the rest of the load test still means something.
 */
export async function rotate(
  admin: AdminClient,
  request: { bucket: string; toKey: string; fromKey?: string },
  timeoutMs = 600_000,
): Promise<RotationOutcome> {
  const start = performance.now();
  let job: RotationJob;
  try {
    job = await admin.startRotation(request);
  } catch (err) {
    if (err instanceof AdminRequestError && err.status === 404)
      return { ran: false, why: `the gateway has no admin rotate route (${err.code}: ${err.message})` };
    throw err;
  }
  const deadline = Date.now() + timeoutMs;
  while (job.state === 'running') {
    if (Date.now() > deadline)
      throw new Error(`rotation job ${job.id} still running after ${timeoutMs / 1000} s: ${JSON.stringify(job.counters)}`);
    await sleep(250);
    job = await admin.rotation(job.id);
  }
  return { ran: true, job, seconds: (performance.now() - start) / 1000 };
}
