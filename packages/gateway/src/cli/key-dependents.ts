// `kesgate key dependents NAME`: what deleting (or sealing) a master key at kes would make unreadable.
import type { AdminClient } from '../admin/client.js';
import type { KeyDependentsReport } from '../admin/key-dependents.js';
import type { KesgateIO } from './io.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function formatKeyDependents(r: KeyDependentsReport): string {
  if (r.versions === 0 && r.uploads === 0) return `nothing in this gateway's buckets depends on key ${r.key}\n`;
  const lines = [
    `key ${r.key}: ${plural(r.objects, 'object')} (${plural(r.versions, 'version')}), ${plural(r.uploads, 'unfinished upload')}`,
  ];
  for (const b of r.buckets)
    lines.push(`  ${b.bucket}: ${plural(b.objects, 'object')} (${plural(b.versions, 'version')}), ${plural(b.uploads, 'upload')}`);
  lines.push(`deleting ${r.key} at kes makes these unreadable for good; rotate them first: kesgate rotate --bucket B --from-key ${r.key}`);
  return `${lines.join('\n')}\n`;
}

/** Exit code: 0 when nothing depends on the key, 3 when something does (scripts can test it). */
export async function runKeyDependents(io: KesgateIO, client: AdminClient, key: string, json: boolean): Promise<number> {
  const r = await client.keyDependents(key);
  io.stdout.write(json ? `${JSON.stringify(r, null, 2)}\n` : formatKeyDependents(r));
  return r.versions === 0 && r.uploads === 0 ? 0 : 3;
}
