// Leases and gateway heartbeats in the PostgreSQL metadata database (tables `leases` and `gateways`, schema
// version 2). Every time is the database's clock, so gateways whose clocks disagree still agree on when a
// lease expires and who was seen lately.
import type { GatewayInstance, GatewayPresence } from '../types.js';
import { assertTtl } from '../in-process-coordination.js';
import type { PostgresDatabase } from './database.js';

/** The database's clock, ms since the epoch (clock_timestamp: the time of the statement, not of its transaction). */
export const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/** A gateway that has not been seen for this long is forgotten (its row removed) by the next heartbeat. */
const FORGET_AFTER_MS = 24 * 60 * 60_000;

export async function tryLease(db: PostgresDatabase, name: string, holder: string, ttlMs: number): Promise<boolean> {
  assertTtl(ttlMs);
  return db.transaction(async (tx) => {
    // Taken when free or expired, extended when the holder's own; the row of another live holder is left as it is.
    const { rowCount } = await tx.query(
      `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, ${NOW_MS} + $3)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
       WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= ${NOW_MS}`,
      [name, holder, ttlMs],
    );
    return rowCount === 1;
  });
}

export async function releaseLease(db: PostgresDatabase, name: string, holder: string): Promise<void> {
  await db.transaction((tx) => tx.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder]));
}

export async function leaseHolder(db: PostgresDatabase, name: string): Promise<string | undefined> {
  const [row] = await db.read<{ holder: string }>(`SELECT holder FROM leases WHERE name = $1 AND expires_at > ${NOW_MS}`, [name]);
  return row?.holder;
}

export async function heartbeat(db: PostgresDatabase, instance: GatewayInstance): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO gateways (id, address, started_at, last_seen) VALUES ($1, $2, $3, ${NOW_MS})
       ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, last_seen = EXCLUDED.last_seen`,
      [instance.id, instance.address, instance.startedAt.getTime()],
    );
    // Gateways that died without a goodbye leave a row behind: drop the long-gone ones.
    await tx.query(`DELETE FROM gateways WHERE last_seen < ${NOW_MS} - $1`, [FORGET_AFTER_MS]);
  });
}

export async function gateways(db: PostgresDatabase, withinMs: number): Promise<GatewayPresence[]> {
  const rows = await db.read<{ id: string; address: string; started_at: number; last_seen: number }>(
    `SELECT id, address, started_at, last_seen FROM gateways WHERE last_seen >= ${NOW_MS} - $1 ORDER BY started_at, id`,
    [withinMs],
  );
  return rows.map((r) => ({ id: r.id, address: r.address, startedAt: new Date(r.started_at), lastSeen: new Date(r.last_seen) }));
}

export async function removeGateway(db: PostgresDatabase, id: string): Promise<void> {
  await db.transaction((tx) => tx.query('DELETE FROM gateways WHERE id = $1', [id]));
}
