// Leases and gateway heartbeats for a metadata store one process holds alone (the embedded SQLite store,
// locked by its process): nobody else can take a lease or share the store, so memory is enough, and a
// restart (a new holder) starts with every lease free.
import type { GatewayInstance, GatewayPresence } from './types.js';

export class InProcessCoordination {
  private readonly leases = new Map<string, { holder: string; expiresAt: number }>();
  private readonly gateways = new Map<string, GatewayPresence>();

  tryLease(name: string, holder: string, ttlMs: number): boolean {
    assertTtl(ttlMs);
    const now = Date.now();
    const lease = this.leases.get(name);
    if (lease && lease.holder !== holder && lease.expiresAt > now) return false;
    this.leases.set(name, { holder, expiresAt: now + ttlMs });
    return true;
  }

  releaseLease(name: string, holder: string): void {
    if (this.leases.get(name)?.holder === holder) this.leases.delete(name);
  }

  leaseHolder(name: string): string | undefined {
    const lease = this.leases.get(name);
    return lease && lease.expiresAt > Date.now() ? lease.holder : undefined;
  }

  heartbeat(instance: GatewayInstance): void {
    this.gateways.set(instance.id, {
      id: instance.id,
      address: instance.address,
      startedAt: new Date(instance.startedAt.getTime()),
      lastSeen: new Date(),
    });
  }

  seen(withinMs: number): GatewayPresence[] {
    const since = Date.now() - withinMs;
    return [...this.gateways.values()]
      .filter((g) => g.lastSeen.getTime() >= since)
      .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || (a.id < b.id ? -1 : 1))
      .map((g) => ({ ...g, startedAt: new Date(g.startedAt.getTime()), lastSeen: new Date(g.lastSeen.getTime()) }));
  }

  remove(id: string): void {
    this.gateways.delete(id);
  }
}

export function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1)
    throw new RangeError(`a lease's time to live must be a positive whole number of ms (got ${ttlMs})`);
}
