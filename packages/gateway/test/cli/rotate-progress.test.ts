// The progress `kesgate rotate` prints off a terminal: its line (counts, share, rate, time left or taken).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDuration, progressLine, progressLines } from '../../src/cli/rotate-progress.js';
import type { RotationJob } from '../../src/rotation/index.js';
import { emptyCounters } from '../../src/rotation/types.js';

function job(state: RotationJob['state'], scanned: number, total?: number): RotationJob {
  const counters = { ...emptyCounters(), scanned, rotated: scanned - 1, skipped: 1 };
  return {
    id: 'j1',
    bucket: 'b',
    prefix: '',
    toKey: 'k',
    dryRun: false,
    state,
    counters,
    failures: [],
    createdAt: '2026-01-01T00:00:00Z',
    ...(total !== undefined ? { total } : {}),
  };
}

describe('rotation progress lines', () => {
  test('formatDuration', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(75), '1m15s');
    assert.equal(formatDuration(3 * 3600 + 5), '3h0m5s');
  });

  test('a running job: share done, rate and the time left at that rate', () => {
    assert.equal(
      progressLine(job('running', 1000, 4000), 50, 20),
      'progress: scanned 1000/4000 (25%), rotated 999, skipped 1, failed 0; 50 objects/s, about 1m0s left',
    );
    assert.equal(progressLine(job('running', 10), 2.5, 4), 'progress: scanned 10, rotated 9, skipped 1, failed 0; 2.5 objects/s');
  });

  test('an ended job: its state and the time taken', () => {
    assert.equal(
      progressLine(job('incomplete', 4000, 4000), 40, 100),
      'progress: scanned 4000/4000 (100%), rotated 3999, skipped 1, failed 0; 40 objects/s, incomplete after 1m40s',
    );
  });

  test('progressLines writes a line per update once the interval has passed, and one at the end', () => {
    const lines: string[] = [];
    const view = progressLines(0, (l) => lines.push(l));
    view.update(job('running', 1, 3));
    view.update(job('running', 2, 3));
    view.stop(job('done', 3, 3));
    assert.equal(lines.length, 3);
    assert.match(lines[2]!, /^progress: scanned 3\/3 \(100%\), .* done after \d+s$/);
    const quiet: string[] = [];
    const every = progressLines(3_600_000, (l) => quiet.push(l));
    every.update(job('running', 1, 3));
    every.stop(job('done', 3, 3));
    assert.equal(quiet.length, 1, 'within the interval only the final line');
  });
});
