// One round of the crash tests' writing: every writer streams new versions of its key, one after the other, until
// `target` writes were acknowledged in all; then, at a random moment up to `killWithinMs` later, `kill` ends the
// gateway and the writers stop. The caller keeps its own account of each key through `sent` (a version goes out:
// its sha256) and `acknowledged` (the gateway answered it: its sha256 and what the write resolved with), and
// checks the keys against that account after the restart. A write that fails before the kill fails the round.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export interface VersionWriter<R = void> {
  key: string;
  newVersion(): Buffer[];
  /** Writes one version (a single PUT, or a multipart upload of these parts). */
  write(s3: S3Client, parts: Buffer[]): Promise<R>;
}

export interface WriteRound<R> {
  writers: readonly VersionWriter<R>[];
  s3: S3Client;
  target: number;
  killWithinMs: number;
  kill(): Promise<void>;
  sent(key: string, sha: string): void;
  acknowledged(key: string, sha: string, result: R): void;
}

/** Runs one round; resolves with how many writes were acknowledged, once every writer has stopped. */
export async function writeUntilKilled<R>(round: WriteRound<R>): Promise<number> {
  let killed = false;
  let acks = 0;
  let reached!: () => void;
  const enough = new Promise<void>((resolve) => (reached = resolve));
  const unexpected: string[] = [];
  const loops = round.writers.map(async (w) => {
    while (!killed) {
      const parts = w.newVersion();
      const sha = sha256(Buffer.concat(parts));
      round.sent(w.key, sha);
      let result: R;
      try {
        result = await w.write(round.s3, parts);
      } catch (e) {
        if (!killed) {
          unexpected.push(`${w.key}: ${(e as Error).message}`);
          reached();
        }
        return;
      }
      round.acknowledged(w.key, sha, result);
      if (++acks >= round.target) reached();
    }
  });
  await enough;
  await sleep(Math.random() * round.killWithinMs);
  killed = true;
  await round.kill();
  await Promise.all(loops);
  assert.deepEqual(unexpected, [], 'no write failed before the kill');
  return acks;
}
