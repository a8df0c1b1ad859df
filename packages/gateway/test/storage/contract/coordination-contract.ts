// The part of the MetadataStore contract that lets gateways sharing a store coordinate, as tests through the
// interface: leases (take, renew, refuse another holder, expire, release) and heartbeats (the gateways seen
// lately). Every implementation runs it from its own *.test.ts; `openPeer`, where the store can be shared,
// opens a second store on the same data, as a second gateway would.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { GatewayInstance, MetadataStore } from '../../../src/storage/metadata/types.js';
import type { OpenedMetadataStore } from './metadata-contract.js';

export interface CoordinationFixture extends OpenedMetadataStore {
  /** A second store on the same data (another gateway); undefined where one process holds the store alone. */
  openPeer?: () => Promise<MetadataStore>;
}

/** Long enough that no test outlives it by accident. */
const LONG = 60_000;
/** Short enough to wait out in a test. */
const SHORT = 150;

const lease = (): string => `test-lease-${randomUUID()}`;

/** Waits until a lease of `ttlMs` taken before this call has surely expired. */
const outlive = (ttlMs: number): Promise<void> => sleep(ttlMs + 100);

export function describeCoordination(name: string, open: () => Promise<CoordinationFixture>): void {
  describe(`metadata store contract, gateways sharing it: ${name}`, () => {
    let fixture: CoordinationFixture;
    let m: MetadataStore;
    const peers: MetadataStore[] = [];

    before(async () => {
      fixture = await open();
      m = fixture.store;
    });
    after(async () => {
      for (const peer of peers) await peer.close();
      await fixture?.cleanup();
    });

    describe('leases', () => {
      it('a free lease is taken; its holder renews it; another holder is refused while it lasts', async () => {
        const name = lease();
        assert.equal(await m.leaseHolder(name), undefined);
        assert.equal(await m.tryLease(name, 'gw-a', LONG), true);
        assert.equal(await m.leaseHolder(name), 'gw-a');
        assert.equal(await m.tryLease(name, 'gw-a', LONG), true, 'renewed by its holder');
        assert.equal(await m.tryLease(name, 'gw-b', LONG), false);
        assert.equal(await m.leaseHolder(name), 'gw-a', 'the refusal changed nothing');
        assert.equal(await m.tryLease(lease(), 'gw-b', LONG), true, 'leases of other names are independent');
      });

      it('an expired lease is free: another holder takes it, and the old holder is then refused', async () => {
        const name = lease();
        assert.equal(await m.tryLease(name, 'gw-a', SHORT), true);
        await outlive(SHORT);
        assert.equal(await m.leaseHolder(name), undefined, 'nobody holds an expired lease');
        assert.equal(await m.tryLease(name, 'gw-b', LONG), true);
        assert.equal(await m.tryLease(name, 'gw-a', LONG), false, 'the old holder cannot renew what it lost');
        assert.equal(await m.leaseHolder(name), 'gw-b');
      });

      it('a renewal extends the lease from the time of the renewal', async () => {
        const name = lease();
        assert.equal(await m.tryLease(name, 'gw-a', SHORT), true);
        assert.equal(await m.tryLease(name, 'gw-a', LONG), true);
        await outlive(SHORT);
        assert.equal(await m.leaseHolder(name), 'gw-a');
        assert.equal(await m.tryLease(name, 'gw-b', LONG), false);
      });

      it('is released by its holder only; a released lease is free at once', async () => {
        const name = lease();
        await m.tryLease(name, 'gw-a', LONG);
        await m.releaseLease(name, 'gw-b');
        assert.equal(await m.leaseHolder(name), 'gw-a', 'a release by another holder does nothing');
        assert.equal(await m.tryLease(name, 'gw-b', LONG), false);
        await m.releaseLease(name, 'gw-a');
        assert.equal(await m.leaseHolder(name), undefined);
        assert.equal(await m.tryLease(name, 'gw-b', LONG), true);
        await m.releaseLease(lease(), 'gw-a'); // releasing a lease nobody holds is no error
      });

      it('goes to exactly one of many holders asking at once', async () => {
        const name = lease();
        const holders = Array.from({ length: 12 }, (_, i) => `gw-${i}`);
        const got = await Promise.all(holders.map((h) => m.tryLease(name, h, LONG)));
        assert.equal(got.filter(Boolean).length, 1);
        assert.equal(await m.leaseHolder(name), holders[got.indexOf(true)]);
      });

      it('refuses a time to live that is not a positive whole number of ms, taking nothing', async () => {
        const name = lease();
        for (const ttl of [0, -5, 1.5, Number.NaN]) await assert.rejects(m.tryLease(name, 'gw-a', ttl), RangeError);
        assert.equal(await m.leaseHolder(name), undefined);
      });

      it('is one lease for every store on the same data: one gateway holds it, the others are refused', async (t) => {
        if (!fixture.openPeer) return t.skip('one process holds this store alone');
        const peer = await fixture.openPeer();
        peers.push(peer);
        const name = lease();
        const got = await Promise.all([m.tryLease(name, 'gw-a', SHORT), peer.tryLease(name, 'gw-b', SHORT)]);
        assert.equal(got.filter(Boolean).length, 1, 'exactly one of the two gateways got it');
        const [winner, loser, loserName] = got[0] ? [m, peer, 'gw-b'] : [peer, m, 'gw-a'];
        assert.equal(await loser.leaseHolder(name), got[0] ? 'gw-a' : 'gw-b', 'both see the same holder');
        await outlive(SHORT);
        assert.equal(await loser.tryLease(name, loserName, LONG), true, 'the other gateway takes it once it expired');
        assert.equal(await winner.leaseHolder(name), loserName);
      });
    });

    describe('heartbeats', () => {
      const instance = (address: string, startedAt: number): GatewayInstance => ({
        id: randomUUID(),
        address,
        startedAt: new Date(startedAt),
      });

      it('lists the gateways that beat lately, oldest start first, with their addresses and times', async () => {
        const before = Date.now();
        const first = instance('http://10.0.0.1:9000', before - 60_000);
        const second = instance('http://10.0.0.2:9000', before - 30_000);
        await m.heartbeat(second);
        await m.heartbeat(first);
        const seen = (await m.gateways(LONG)).filter((g) => g.id === first.id || g.id === second.id);
        assert.deepEqual(
          seen.map(({ lastSeen: _, ...g }) => g),
          [first, second],
        );
        for (const g of seen) {
          // The store's clock may differ a little from this process's: a loose bound only.
          assert.ok(Math.abs(g.lastSeen.getTime() - before) < 60_000, `lastSeen ${g.lastSeen.toISOString()} is now`);
        }
        await m.removeGateway(first.id);
        await m.removeGateway(second.id);
        assert.deepEqual(
          (await m.gateways(LONG)).filter((g) => g.id === first.id || g.id === second.id),
          [],
        );
      });

      it('leaves out a gateway whose latest beat is older than asked, and lists it again once it beats', async () => {
        const gw = instance('http://10.0.0.3:9000', Date.now());
        await m.heartbeat(gw);
        await sleep(SHORT + 50);
        assert.equal(
          (await m.gateways(SHORT)).some((g) => g.id === gw.id),
          false,
        );
        assert.equal(
          (await m.gateways(LONG)).some((g) => g.id === gw.id),
          true,
        );
        await m.heartbeat({ ...gw, address: 'http://10.0.0.4:9000' });
        const again = (await m.gateways(SHORT)).find((g) => g.id === gw.id);
        assert.equal(again?.address, 'http://10.0.0.4:9000', 'a beat refreshes the address');
        assert.equal(again?.startedAt.getTime(), gw.startedAt.getTime());
        await m.removeGateway(gw.id);
      });

      it('is one list for every store on the same data', async (t) => {
        if (!fixture.openPeer) return t.skip('one process holds this store alone');
        const peer = await fixture.openPeer();
        peers.push(peer);
        const a = instance('http://10.0.1.1:9000', Date.now() - 2000);
        const b = instance('http://10.0.1.2:9000', Date.now() - 1000);
        await m.heartbeat(a);
        await peer.heartbeat(b);
        for (const store of [m, peer]) {
          assert.deepEqual(
            (await store.gateways(LONG)).filter((g) => g.id === a.id || g.id === b.id).map((g) => g.id),
            [a.id, b.id],
          );
        }
        await peer.removeGateway(a.id);
        assert.deepEqual(
          (await m.gateways(LONG)).filter((g) => g.id === a.id || g.id === b.id).map((g) => g.id),
          [b.id],
        );
        await m.removeGateway(b.id);
      });
    });
  });
}
