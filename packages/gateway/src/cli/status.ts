// `kesgate status`: the gateway's backend, kes endpoints, default key and rotation jobs.
import type { AdminClient } from '../admin/client.js';
import type { GatewayStatus } from '../admin/status.js';
import { kesReadiness } from '../admin/kes-readiness.js';
import type { StoreHealth } from '../storage/probe.js';
import type { KesgateIO } from './io.js';

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `fs at /dir` for the embedded layout; otherwise each store by kind and place. */
function backendLine(b: GatewayStatus['backend']): string {
  if (b.path !== undefined) return `${b.type} at ${b.path}`;
  const place = ({ kind, ...fields }: { kind: string } & Record<string, unknown>): string => {
    const where = Object.entries(fields)
      .filter(([, v]) => v !== '' && v !== undefined)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
    return where ? `${kind} (${where})` : kind;
  };
  return `metadata ${place(b.metadata)}, blobs ${place(b.blobs)}`;
}

/** `reachable (schema 2, 3 ms)` or `UNREACHABLE (why)`. */
function health(h: StoreHealth): string {
  if (!h.reachable) return `UNREACHABLE (${h.error ?? 'no answer'})`;
  const extra = [h.schemaVersion !== undefined ? `schema ${h.schemaVersion}` : '', h.latencyMs !== undefined ? `${h.latencyMs} ms` : '']
    .filter(Boolean)
    .join(', ');
  return `reachable${extra ? ` (${extra})` : ''}`;
}

export function formatStatus(s: GatewayStatus): string {
  const st = s.backend.stats;
  const lines = [`backend      ${backendLine(s.backend)}`];
  if (s.backend.health) lines.push(`             metadata ${health(s.backend.health.metadata)}, blobs ${health(s.backend.health.blobs)}`);
  if (st) {
    lines.push(
      `             ${plural(st.buckets, 'bucket')}, ${plural(st.objects, 'object')}, ${bytes(st.bytes)} (${bytes(st.storedBytes)} stored), ${plural(st.uploads, 'multipart upload')} in progress`,
    );
  }
  for (const g of s.backend.gateways ?? []) {
    lines.push(`gateway      ${g.id} at ${g.address}, started ${g.startedAt}, last seen ${g.lastSeen}${g.self ? '  (this one)' : ''}`);
  }
  for (const e of s.kes.endpoints) {
    const state = !e.online ? `OFFLINE (${e.error ?? 'no answer'})` : e.sealed ? 'online, SEALED' : 'online, unsealed';
    const extra = [
      e.latencyMs !== undefined ? `${e.latencyMs} ms` : '',
      e.version ? `kes ${e.version}` : '',
      e.unseal ? `unseal ${e.unseal.progress}/${e.unseal.threshold}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const traffic = !e.traffic
      ? ''
      : e.traffic.up
        ? ', takes traffic'
        : `, NO TRAFFIC (marked down${e.traffic.lastError ? `: ${e.traffic.lastError}` : ''})`;
    lines.push(`kes          ${e.endpoint}  ${state}${traffic}${extra ? `  (${extra})` : ''}`);
  }
  const k = s.kes.defaultKey;
  const keyInfo = k.error
    ? `unknown: ${k.error}`
    : [k.state, k.latestVersion ? `latest ${k.latestVersion}` : ''].filter(Boolean).join(', ');
  lines.push(`default key  ${k.name}${keyInfo ? `  (${keyInfo})` : ''}`);
  lines.push(
    s.rotation.running !== undefined
      ? `rotation     ${plural(s.rotation.running, 'job')} running`
      : `rotation     unknown (${s.rotation.error ?? 'no answer'})`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * What is wrong, worst first: an unreachable store or kes is an error; kes answering but sealed is the
 * sealed state (fixed by unsealing, as `vault status` tells apart); nothing means ready.
 */
function statusProblems(s: GatewayStatus): { errors: string[]; sealed: boolean } {
  const errors: string[] = [];
  if (!s.backend.health.metadata.reachable) errors.push('metadata store unreachable');
  if (!s.backend.health.blobs.reachable) errors.push('blob store unreachable');
  const kes = kesReadiness(s.kes.endpoints);
  if (kes === 'unreachable') errors.push('no kes endpoint reachable');
  return { errors, sealed: kes === 'sealed' };
}

/** As `vault status`: 0 ready (kes unsealed, stores answering), 2 kes sealed, 1 an error (also: gateway unreachable). */
function statusExitCode(s: GatewayStatus): number {
  const p = statusProblems(s);
  return p.errors.length > 0 ? 1 : p.sealed ? 2 : 0;
}

function verdict(s: GatewayStatus): string {
  const p = statusProblems(s);
  const problems = [...p.errors, ...(p.sealed ? ['kes sealed (unseal it: kes unseal)'] : [])];
  return `ready        ${problems.length === 0 ? 'yes' : `NO: ${problems.join(', ')}`}\n`;
}

export async function runStatus(io: KesgateIO, client: AdminClient, json: boolean): Promise<number> {
  const status = await client.status();
  io.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status) + verdict(status));
  return statusExitCode(status);
}
