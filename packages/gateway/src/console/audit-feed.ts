// The latest kes audit entries, for the Audit page: the console's identity follows kes's live audit stream
// (/v1/log/audit) from the gateway's start and keeps the newest entries in memory; it reconnects when the
// stream ends. kes writes no key material into these lines, so nothing secret is held.
import type { KesClient } from '@kesgate/kes-client';
import type { Logger } from 'pino';

export interface AuditEntry {
  time: string;
  identity: string;
  /** "gateway" or "console" for the identities this gateway knows (its own and the console's). */
  identityName?: string;
  method: string;
  path: string;
  key?: string;
  status: number;
  latencyMs?: number;
}

export interface AuditFilter {
  identity?: string;
  key?: string;
  status?: string;
  limit?: number;
}

const KEEP = 1000;
const RECONNECT_MS = 2000;

export class AuditFeed {
  private readonly entries: AuditEntry[] = [];
  private readonly abort = new AbortController();
  private connected = false;
  private lastError: string | undefined;

  constructor(
    private readonly client: KesClient,
    private readonly logger: Logger,
    private readonly names: ReadonlyMap<string, string> = new Map(),
  ) {}

  start(): void {
    void this.run();
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        for await (const line of this.client.stream('/v1/log/audit', this.abort.signal, () => {
          this.connected = true;
          this.lastError = undefined;
        })) {
          this.add(line);
        }
      } catch (err) {
        if (this.abort.signal.aborted) return;
        const text = err instanceof Error ? err.message : String(err);
        if (text !== this.lastError) this.logger.warn({ err: text }, 'console: the kes audit stream failed; retrying');
        this.lastError = text;
      }
      this.connected = false;
      await new Promise((r) => setTimeout(r, RECONNECT_MS).unref());
    }
  }

  private add(line: Record<string, unknown>): void {
    const e: AuditEntry = {
      time: String(line.time ?? ''),
      identity: String(line.identity ?? ''),
      ...(this.names.has(String(line.identity)) ? { identityName: this.names.get(String(line.identity))! } : {}),
      method: String(line.method ?? ''),
      path: String(line.path ?? ''),
      status: Number(line.status ?? 0),
      ...(typeof line.key === 'string' ? { key: line.key } : {}),
      ...(typeof line.latency_ms === 'number' ? { latencyMs: line.latency_ms } : {}),
    };
    this.entries.push(e);
    if (this.entries.length > KEEP) this.entries.splice(0, this.entries.length - KEEP);
  }

  /** Newest first. `status` matches the code ("403") or its class ("4xx"); identity and key match a substring. */
  latest(f: AuditFilter = {}): { entries: AuditEntry[]; connected: boolean; error?: string } {
    const status = f.status?.trim().toLowerCase();
    const match = (e: AuditEntry): boolean =>
      (!f.identity || e.identity.includes(f.identity.trim()) || e.identityName === f.identity.trim()) &&
      (!f.key || (e.key ?? '').includes(f.key.trim())) &&
      (!status || (/^\dxx$/.test(status) ? String(e.status)[0] === status[0] : String(e.status) === status));
    const out: AuditEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < (f.limit ?? 200); i--)
      if (match(this.entries[i]!)) out.push(this.entries[i]!);
    return { entries: out, connected: this.connected, ...(this.lastError ? { error: this.lastError } : {}) };
  }

  close(): void {
    this.abort.abort();
  }
}
