// Durations as KES configs write them (Go's time.ParseDuration): "15s", "1m30s", "500ms", "2h"; a bare
// number is seconds. Used for the per-API `timeout` of the `api:` section.
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** Seconds, or undefined when `value` is not a duration. "0" and "0s" are 0 (no timeout). */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '0') return 0;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  let total = 0;
  let at = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    at = PART.lastIndex;
  }
  return text.length > 0 ? total : undefined;
}
