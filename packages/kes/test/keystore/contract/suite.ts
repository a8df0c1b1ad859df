// The keystore contract, as one suite every implementation runs (sqlite.test.ts, postgres.test.ts):
// through the keyring and the key service, with two "nodes" (two store connections, each with its
// own barrier unsealed by the same share) over one database, and with rows edited directly in the
// database, which must be refused, never obeyed.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Barrier } from '../../../src/barrier/barrier.js';
import { KesError } from '../../../src/errors.js';
import { KeyRing } from '../../../src/keystore/keyring.js';
import type { KeyStore } from '../../../src/keystore/types.js';
import { KeyService } from '../../../src/service/keys.js';

/** Direct edits of the database, as someone with write access to it (not through kes). */
export interface Tamper {
  /** Flips one bit of the key's sealed state. */
  corruptState(name: string): Promise<void>;
  /** Writes `from`'s sealed state into `to`'s row. */
  copyState(from: string, to: string): Promise<void>;
  /** Writes the state row's bytes as they were (a saved copy) back. */
  readState(name: string): Promise<Buffer>;
  writeState(name: string, state: Buffer): Promise<void>;
  /** Copies a version's wrapped key bytes into another key's version row. */
  copyWrappedKey(from: { name: string; version: number }, to: { name: string; version: number }): Promise<void>;
  /** Removes one version row. */
  deleteVersion(name: string, version: number): Promise<void>;
  /** Changes a version's algorithm column. */
  setAlgorithm(name: string, version: number, algorithm: string): Promise<void>;
}

export interface ContractFixture {
  /** A new, empty keystore database and a way to open connections ("nodes") to it. */
  open(): Promise<KeyStore>;
  tamper: Tamper;
  close(): Promise<void>;
}

interface Node {
  store: KeyStore;
  barrier: Barrier;
  ring: KeyRing;
  service: KeyService;
  errors: string[];
}

const is = (status: number, message: RegExp | string) => (e: unknown) =>
  e instanceof KesError && e.status === status && (typeof message === 'string' ? e.message === message : message.test(e.message));
const integrity = is(502, /does not authenticate \(the keystore was changed outside kes\)/);

export function keystoreContract(kind: string, setup: () => Promise<ContractFixture>): void {
  describe(`keystore contract: ${kind}`, () => {
    let fx: ContractFixture;
    let a: Node;
    let b: Node;
    let share: string;

    const node = async (store: KeyStore): Promise<Node> => {
      const barrier = await Barrier.open(store);
      const errors: string[] = [];
      const ring = new KeyRing(store, barrier);
      const service = new KeyService(ring, barrier, { error: (f, m) => errors.push(`${m} ${JSON.stringify(f)}`) });
      return { store, barrier, ring, service, errors };
    };

    before(async () => {
      fx = await setup();
      const first = await fx.open();
      share = (await (await Barrier.open(first)).initialize(1, 1))[0]!;
      a = await node(first);
      b = await node(await fx.open());
      await a.barrier.unseal(share);
      await b.barrier.unseal(share);
    });
    after(async () => {
      await a?.store.close();
      await b?.store.close();
      await fx?.close();
    });

    test('init happens once: a second init, from any connection, is refused', async () => {
      await assert.rejects((await Barrier.open(b.store)).initialize(1, 1), is(400, 'system is already initialized'));
      await assert.rejects(new Barrier(b.store).initialize(3, 2), is(400, 'system is already initialized'));
    });

    test('create, generate, decrypt; a name is taken once', async () => {
      await a.service.create('k-basic', 'me');
      await assert.rejects(b.service.create('k-basic', 'me'), is(400, 'key already exists'));
      const dek = await a.service.generate('k-basic', Buffer.from('ctx'));
      assert.deepEqual((await b.service.decrypt('k-basic', dek.ciphertext, Buffer.from('ctx'))).plaintext, dek.plaintext);
      const d = await b.service.describe('k-basic');
      assert.deepEqual([d.createdBy, d.state, d.versions, d.latestVersion, d.minDecryptionVersion], ['me', 'active', ['v1'], 'v1', 'v1']);
      await assert.rejects(b.service.generate('k-missing'), is(404, 'key does not exist'));
    });

    test('rotate, seal, min_decryption_version and delete through one node are obeyed by the other at once', async () => {
      await a.service.create('k-shared', 'me');
      const v1 = await b.service.generate('k-shared'); // b now holds v1 unwrapped
      assert.equal((await a.service.rotate('k-shared', 'me')).version, 'v2');
      assert.equal((await b.service.generate('k-shared')).version, 'v2');
      assert.deepEqual((await b.service.decrypt('k-shared', v1.ciphertext)).plaintext, v1.plaintext);

      await a.service.seal('k-shared');
      await assert.rejects(b.service.generate('k-shared'), is(403, 'key is sealed'));
      assert.equal((await b.service.describe('k-shared')).state, 'sealed');
      await b.service.unseal('k-shared');
      assert.equal((await a.service.generate('k-shared')).version, 'v2');

      await a.service.configure('k-shared', 2);
      await assert.rejects(b.service.decrypt('k-shared', v1.ciphertext), is(400, 'key version is too old'));
      await assert.rejects(b.service.configure('k-shared', 3), is(400, /invalid min_decryption_version v3/));

      await a.service.delete('k-shared');
      await assert.rejects(b.service.generate('k-shared'), is(404, 'key does not exist'));
      await b.service.create('k-shared', 'again');
      await assert.rejects(a.service.decrypt('k-shared', v1.ciphertext), is(400, 'decryption failed: ciphertext is not authentic'));
    });

    test('concurrent rotations on two nodes: every version lands once, in order', async () => {
      await a.service.create('k-race', 'me');
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).service.rotate('k-race', 'me')));
      const numbers = results.map((r) => Number(r.version.slice(1))).sort((x, y) => x - y);
      assert.deepEqual(numbers, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      const d = await b.service.describe('k-race');
      assert.equal(d.latestVersion, 'v11');
      assert.equal(d.versions.length, 11);
      assert.equal((await a.service.generate('k-race')).version, 'v11');
    });

    test('generate under churn (rotations on the other node, a seal in flight): every data key returned decrypts', async () => {
      await a.service.create('k-churn', 'me');
      const deks = await Promise.all(
        Array.from({ length: 60 }, async (_, i) => {
          if (i % 10 === 0) await b.service.rotate('k-churn', 'me');
          return a.service.generate('k-churn');
        }),
      );
      for (const dek of deks) assert.deepEqual((await b.service.decrypt('k-churn', dek.ciphertext)).plaintext, dek.plaintext);

      // A seal while generates are in flight: each one fails with 503 or returns a key that decrypts.
      const inFlight = Array.from({ length: 20 }, () => a.service.generate('k-churn').catch((e: unknown) => e));
      await new Promise((r) => setImmediate(r));
      a.barrier.seal();
      const outcomes = await Promise.all(inFlight);
      await a.barrier.unseal(share);
      for (const o of outcomes) {
        if (o instanceof KesError) assert.equal(o.status, 503);
        else {
          const dek = o as { ciphertext: Buffer; plaintext: Buffer };
          assert.deepEqual((await b.service.decrypt('k-churn', dek.ciphertext)).plaintext, dek.plaintext);
        }
      }
    });

    test('list: bytewise order, prefixes and pages', async () => {
      for (const n of ['L-b', 'L-a', 'L-B', 'L-_', 'L-0', 'Lx']) await a.service.create(n, 'me');
      assert.deepEqual((await b.service.list('L-*')).names, ['L-0', 'L-B', 'L-_', 'L-a', 'L-b']);
      const page = await b.service.list('L', { limit: 2 });
      assert.deepEqual(page, { names: ['L-0', 'L-B'], continueAt: 'L-_' });
      assert.deepEqual((await b.service.list('L', { continueAt: 'L-_', limit: 10 })).names, ['L-_', 'L-a', 'L-b', 'Lx']);
    });

    test('the seal epoch advances for every connection and is read with each key state', async () => {
      const before = await b.store.sealEpoch();
      assert.equal(await a.store.advanceSealEpoch(), before + 1);
      assert.equal(await b.store.sealEpoch(), before + 1);
      await a.service.create('k-epoch', 'me');
      assert.equal((await b.store.readState('k-epoch')).sealEpoch, before + 1);
      assert.equal((await b.store.readState('k-none')).sealEpoch, before + 1);
    });

    describe('rows edited in the database are refused, never obeyed', () => {
      test('a flipped bit in the state (sealed flag, versions): refused and logged', async () => {
        await a.service.create('t-bit', 'me');
        await a.service.seal('t-bit');
        await fx.tamper.corruptState('t-bit');
        b.errors.length = 0;
        await assert.rejects(b.service.generate('t-bit'), integrity);
        await assert.rejects(b.service.unseal('t-bit'), integrity);
        await assert.rejects(b.service.describe('t-bit'), integrity);
        assert.ok(
          b.errors.some((l) => l.includes('t-bit') && l.includes('its rows were changed outside kes')),
          b.errors.join('\n'),
        );
      });

      test("another key's state copied in (an unsealed one over a sealed key): refused", async () => {
        await a.service.create('t-open', 'me');
        await a.service.create('t-sealed', 'me');
        await a.service.seal('t-sealed');
        await fx.tamper.copyState('t-open', 't-sealed');
        await assert.rejects(b.service.generate('t-sealed'), integrity);
        await assert.rejects(a.service.generate('t-sealed'), integrity);
        assert.equal((await b.service.generate('t-open')).version, 'v1');
      });

      test("another key's wrapped bytes copied into a version row: refused", async () => {
        await a.service.create('t-donor', 'me');
        await a.service.create('t-victim', 'me');
        await b.service.generate('t-victim');
        await fx.tamper.copyWrappedKey({ name: 't-donor', version: 1 }, { name: 't-victim', version: 1 });
        await assert.rejects(a.service.generate('t-victim'), integrity);
        // b's cached copy is the authentic key (its state is unchanged); once dropped, b reads the rows and refuses too
        b.ring.dropAll();
        await assert.rejects(b.service.generate('t-victim'), integrity);
      });

      test('a version row removed (latest version rolled back) or its algorithm changed: refused', async () => {
        await a.service.create('t-versions', 'me');
        await a.service.rotate('t-versions', 'me');
        await fx.tamper.deleteVersion('t-versions', 2);
        await assert.rejects(b.service.generate('t-versions'), integrity);

        await a.service.create('t-algo', 'me');
        await fx.tamper.setAlgorithm('t-algo', 1, 'ChaCha20');
        await assert.rejects(b.service.generate('t-algo'), integrity);
      });

      test('an older state of the key written back (the unsealed state over the sealed key): refused by a node that saw the newer one', async () => {
        await a.service.create('t-replay', 'me');
        const unsealedState = await fx.tamper.readState('t-replay');
        await a.service.seal('t-replay');
        await assert.rejects(b.service.generate('t-replay'), is(403, 'key is sealed'));
        await fx.tamper.writeState('t-replay', unsealedState);
        await assert.rejects(a.service.generate('t-replay'), integrity);
        await assert.rejects(b.service.generate('t-replay'), integrity);
      });

      test('the state of another keystore does not open here', async () => {
        await a.service.create('t-foreign', 'me');
        const saved = await fx.tamper.readState('t-foreign');
        const other = await setup();
        try {
          const store = await other.open();
          const [s] = await (await Barrier.open(store)).initialize(1, 1);
          const n = await node(store);
          await n.barrier.unseal(s!);
          await n.service.create('t-foreign', 'me');
          await other.tamper.writeState('t-foreign', saved);
          await assert.rejects(n.service.generate('t-foreign'), integrity);
          await store.close();
        } finally {
          await other.close();
        }
      });
    });

    test('a whole key imported in one transaction (export bundles): refused when taken, replaced with --force', async () => {
      const { importKeys } = await import('../../../src/transfer/bundle.js');
      const key = (name: string, sealed: boolean) => ({
        name,
        sealed,
        min_decryption_version: 1,
        latest_version: 2,
        versions: [1, 2].map((version) => ({
          version,
          algorithm: 'AES256' as const,
          key: Buffer.alloc(32, version).toString('base64'),
          hmac_key: Buffer.alloc(32, 9).toString('base64'),
          created_at: 'now',
          created_by: 'bundle',
        })),
      });
      assert.deepEqual(await importKeys(a.ring, [key('i-moved', false)]), { imported: ['i-moved'], replaced: [] });
      assert.equal((await b.service.generate('i-moved')).version, 'v2');
      await assert.rejects(importKeys(a.ring, [key('i-moved', true)]), /already exist/);
      assert.deepEqual(await importKeys(a.ring, [key('i-moved', true)], { force: true }), { imported: ['i-moved'], replaced: ['i-moved'] });
      await assert.rejects(b.service.generate('i-moved'), is(403, 'key is sealed'));
    });

    test('seal drops every unwrapped key; a sealed node serves nothing', async () => {
      await a.service.create('k-seal', 'me');
      await a.service.generate('k-seal');
      a.barrier.seal();
      await assert.rejects(a.service.generate('k-seal'), is(503, 'system is sealed'));
      assert.equal((await b.service.generate('k-seal')).version, 'v1');
      await a.barrier.unseal(share);
      assert.equal((await a.service.generate('k-seal')).version, 'v1');
    });
  });
}
