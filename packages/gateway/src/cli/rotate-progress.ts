// How `kesgate rotate` shows a job's progress on stderr: a bar with the rate and the time left when stderr is
// a terminal; otherwise (a log file, CI) a plain line every few seconds and one at the end.
import cliProgress from 'cli-progress';
import type { RotationJob } from '../rotation/index.js';

export interface ProgressView {
  update(job: RotationJob): void;
  /** The job ended (or the CLI stops following it). */
  stop(job: RotationJob): void;
}

/** 75s → "1m15s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return [h && `${h}h`, (h || m) && `${m}m`, `${s % 60}s`].filter(Boolean).join('');
}

/** Objects per second since following began (from the first state seen, so a resumed job's old work is not counted). */
class Rate {
  readonly #t0 = Date.now();
  #scanned0: number | undefined;

  perSecond(job: RotationJob): number {
    this.#scanned0 ??= job.counters.scanned;
    const elapsed = (Date.now() - this.#t0) / 1000;
    return elapsed > 0 ? (job.counters.scanned - this.#scanned0) / elapsed : 0;
  }

  elapsed(): number {
    return (Date.now() - this.#t0) / 1000;
  }
}

const rateText = (r: number) => (r >= 10 ? r.toFixed(0) : r.toFixed(1));

export function progressBar(stream: NodeJS.WritableStream = process.stderr): ProgressView {
  const rate = new Rate();
  const bar = new cliProgress.SingleBar(
    {
      stream,
      // value/total, the rate we measure, and cli-progress's own ETA (smoothed over the last updates).
      format: ' {bar} {value}/{total} objects | {rate} obj/s | ETA {eta_formatted} | rotated {rotated} skipped {skipped} failed {failed}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(job) {
      // Started on the first answer: before the job has counted its objects, a bar would have no total.
      const total = job.total ?? Math.max(job.counters.scanned, 1);
      const payload = {
        rotated: job.counters.rotated,
        skipped: job.counters.skipped,
        failed: job.counters.failed,
        rate: rateText(rate.perSecond(job)),
      };
      if (!started) bar.start(total, job.counters.scanned, payload);
      started = true;
      bar.setTotal(total);
      bar.update(job.counters.scanned, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** One line: counts, share done, rate, and the time left (while running) or taken (at the end). */
export function progressLine(job: RotationJob, perSecond: number, elapsedSeconds: number): string {
  const c = job.counters;
  const share = job.total ? ` (${Math.floor((100 * c.scanned) / job.total)}%)` : '';
  const left = job.total !== undefined && perSecond > 0 ? `, about ${formatDuration((job.total - c.scanned) / perSecond)} left` : '';
  const time = job.state === 'running' ? left : `, ${job.state} after ${formatDuration(elapsedSeconds)}`;
  return `progress: scanned ${c.scanned}${job.total !== undefined ? `/${job.total}` : ''}${share}, ${job.dryRun ? 'would rotate' : 'rotated'} ${c.rotated}, skipped ${c.skipped}, failed ${c.failed}; ${rateText(perSecond)} objects/s${time}`;
}

export function progressLines(everyMs: number, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): ProgressView {
  const rate = new Rate();
  let last = Date.now();
  return {
    update(job) {
      const perSecond = rate.perSecond(job);
      if (Date.now() - last < everyMs) return;
      last = Date.now();
      write(progressLine(job, perSecond, rate.elapsed()));
    },
    stop(job) {
      write(progressLine(job, rate.perSecond(job), rate.elapsed()));
    },
  };
}
