export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function when(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function sseLabel(e: { sse: string; kmsKeyId?: string } | null | undefined, defaultKey?: string): string {
  if (!e) return 'None';
  if (e.sse === 'AES256') return 'SSE-S3';
  if (e.sse === 'aws:kms') return `SSE-KMS (${e.kmsKeyId ?? `${defaultKey ?? 'default key'}`})`;
  return e.sse;
}
