// Listing semantics against a brute-force oracle: all keys in memory, sorted with Buffer.compare
// over UTF-8, rolled up with Buffer.indexOf — independent of the store's string handling.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ObjectStore } from '../../src/storage/index.js';
import { prefixUpperBound } from '../../src/storage/key-order.js';
import { layouts, prng, putBytes, rejectsWith, type TempStore } from './helpers.js';
import { sseRecord } from './fixtures/sse-records.js';

// Pieces chosen so UTF-8 byte order and UTF-16 order disagree (U+FFFF vs 😀), and so successors
// cross awkward points (U+D7FF → U+E000, U+10FFFF has none).
const PIECES = ['a', 'b', 'ab', '/', '//', '-', '.', '|', ' ', 'é', '€', '😀', '\uFFFF', '\u{10FFFF}', '\uD7FF', '\uE000', 'z'];
const DELIMITERS = [undefined, '/', '/', '|', '-', 'ab', '😀', '\u{10FFFF}', '//', '\uD7FF'];

interface Entry {
  value: string;
  /** '' for keys and common prefixes of objects; the upload id for uploads. */
  id: string;
  prefix: boolean;
}

function utf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

function compareEntries(a: { value: string; id: string }, b: { value: string; id: string }): number {
  return Buffer.compare(utf8(a.value), utf8(b.value)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function rollUp(key: string, prefix: string, delimiter: string | undefined): string | undefined {
  const k = utf8(key);
  const p = utf8(prefix);
  if (!delimiter) return undefined;
  const at = k.indexOf(utf8(delimiter), p.length);
  return at < 0 ? undefined : k.subarray(0, at + utf8(delimiter).length).toString('utf8');
}

function startsWithBytes(key: string, prefix: string): boolean {
  const p = utf8(prefix);
  return utf8(key).subarray(0, p.length).equals(p);
}

/** Every entry of a listing, in order, after the marker. */
function oracle(
  items: { key: string; id: string }[],
  prefix: string,
  delimiter: string | undefined,
  marker?: { value: string; id?: string },
): Entry[] {
  const entries = new Map<string, Entry>();
  for (const { key, id } of items) {
    if (!startsWithBytes(key, prefix)) continue;
    const cp = rollUp(key, prefix, delimiter);
    const entry = cp === undefined ? { value: key, id, prefix: false } : { value: cp, id: '', prefix: true };
    entries.set(`${entry.value}\u0000${entry.id}`, entry);
  }
  return [...entries.values()].sort(compareEntries).filter((e) => {
    if (marker === undefined) return true;
    if (marker.id === undefined) return Buffer.compare(utf8(e.value), utf8(marker.value)) > 0;
    return compareEntries(e, { value: marker.value, id: marker.id }) > 0;
  });
}

function randomString(random: () => number, maxPieces: number): string {
  let s = '';
  const n = 1 + Math.floor(random() * maxPieces);
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(random() * PIECES.length)]!;
  return s;
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)]!;
}

function randomPrefix(random: () => number, keys: string[]): string {
  const r = random();
  if (r < 0.3) return '';
  if (r < 0.8) {
    const points = Array.from(pick(random, keys));
    return points.slice(0, Math.floor(random() * (points.length + 1))).join('');
  }
  return randomString(random, 2);
}

/** Pages through a whole object listing and returns its entries in order plus the page sizes. */
async function pageObjects(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  delimiter: string | undefined,
  maxKeys: number,
  startAfter: string | undefined,
  useMarker: boolean,
): Promise<{ entries: Entry[]; pageSizes: number[] }> {
  const entries: Entry[] = [];
  const pageSizes: number[] = [];
  let token: string | undefined;
  let marker = startAfter;
  for (let guard = 0; guard < 1000; guard++) {
    const page = await store.listObjects({
      bucket,
      prefix,
      ...(delimiter !== undefined && { delimiter }),
      maxKeys,
      ...(token !== undefined ? { continuationToken: token } : marker !== undefined ? { startAfter: marker } : {}),
    });
    const pageEntries = [
      ...page.contents.map((o) => ({ value: o.key, id: '', prefix: false })),
      ...page.commonPrefixes.map((p) => ({ value: p, id: '', prefix: true })),
    ].sort(compareEntries);
    entries.push(...pageEntries);
    pageSizes.push(pageEntries.length);
    if (!page.isTruncated) {
      assert.equal(page.nextToken, undefined);
      return { entries, pageSizes };
    }
    assert.equal(page.nextMarker, pageEntries[pageEntries.length - 1]?.value, 'nextMarker is the last entry');
    if (useMarker) marker = page.nextMarker;
    else token = page.nextToken;
  }
  throw new Error('listing did not end');
}

for (const layout of layouts) {
  describe(`${layout.name} store: listing`, { skip: layout.skip }, () => {
    let t: TempStore;
    const keySets: string[][] = [];

    before(async () => {
      t = await layout.open();
      for (let set = 0; set < 6; set++) {
        const random = prng(1000 + set);
        const keys = new Set<string>();
        const want = 15 + Math.floor(random() * 30);
        while (keys.size < want) keys.add(randomString(random, set % 2 === 0 ? 4 : 7));
        if (set === 0) {
          for (const k of [
            'a',
            'a/',
            'a//',
            'a/b',
            'a/b/',
            'a0',
            'a.',
            'a\uFFFF',
            'a😀',
            'a\u{10FFFF}',
            'a\u{10FFFF}\u{10FFFF}',
            '\u{10FFFF}',
            '\u{10FFFF}/x',
          ])
            keys.add(k);
        }
        keySets.push([...keys]);
        await t.store.createBucket(`set${set}`);
        for (const key of keys) await putBytes(t.store, `set${set}`, key, Buffer.from(key));
      }
    });
    after(async () => t.cleanup());

    it('pages through every random query exactly as the oracle orders and rolls up', async () => {
      let queries = 0;
      for (const [set, keys] of keySets.entries()) {
        const random = prng(2000 + set);
        const items = keys.map((key) => ({ key, id: '' }));
        for (let q = 0; q < 40; q++) {
          const prefix = randomPrefix(random, keys);
          const delimiter = pick(random, DELIMITERS);
          const startAfter = random() < 0.3 ? (random() < 0.5 ? pick(random, keys) : randomString(random, 3)) : undefined;
          const expected = oracle(items, prefix, delimiter, startAfter === undefined ? undefined : { value: startAfter });
          const maxKeys = 1 + Math.floor(random() * (expected.length + 1));
          const useMarker = random() < 0.5;
          const { entries, pageSizes } = await pageObjects(t.store, `set${set}`, prefix, delimiter, maxKeys, startAfter, useMarker);
          const context = JSON.stringify({ set, q, prefix, delimiter, startAfter, maxKeys, useMarker });
          assert.deepEqual(entries, expected, context);
          // Every page but the last is full; the last one is not empty unless the listing is.
          pageSizes.slice(0, -1).forEach((size) => assert.equal(size, maxKeys, context));
          assert.ok(pageSizes[pageSizes.length - 1]! <= maxKeys, context);
          if (expected.length > 0) assert.ok(pageSizes[pageSizes.length - 1]! > 0, context);
          queries++;
        }
      }
      assert.equal(queries, 240);
    });

    it('returns summaries with the stored size and ETag', async () => {
      const page = await t.store.listObjects({ bucket: 'set0', prefix: 'a/', maxKeys: 1000 });
      assert.ok(page.contents.length >= 3);
      for (const summary of page.contents) {
        const record = (await t.store.getObject('set0', summary.key))!;
        assert.deepEqual(summary, { key: record.key, size: record.size, etag: record.etag, lastModified: record.lastModified });
      }
    });

    it('skips a whole common prefix when continuing after it', async () => {
      await t.store.createBucket('roll');
      for (const key of ['x/1', 'x/2', 'x/3', 'y', 'z/1']) await putBytes(t.store, 'roll', key, Buffer.from(key));
      const first = await t.store.listObjects({ bucket: 'roll', delimiter: '/', maxKeys: 1 });
      assert.deepEqual(first.commonPrefixes, ['x/']);
      assert.equal(first.isTruncated, true);
      const second = await t.store.listObjects({ bucket: 'roll', delimiter: '/', maxKeys: 1, continuationToken: first.nextToken! });
      assert.deepEqual(
        second.contents.map((o) => o.key),
        ['y'],
      );
      const third = await t.store.listObjects({ bucket: 'roll', delimiter: '/', maxKeys: 5, continuationToken: second.nextToken! });
      assert.deepEqual(third.commonPrefixes, ['z/']);
      assert.equal(third.isTruncated, false);
      // A start-after inside a rolled-up prefix: that prefix was already returned.
      const inside = await t.store.listObjects({ bucket: 'roll', delimiter: '/', startAfter: 'x/1' });
      assert.deepEqual([inside.commonPrefixes, inside.contents.map((o) => o.key)], [['z/'], ['y']]);
    });

    it('handles max-keys 0, foreign tokens and malformed arguments', async () => {
      const empty = await t.store.listObjects({ bucket: 'set0', maxKeys: 0 });
      assert.deepEqual(empty, { contents: [], commonPrefixes: [], isTruncated: false });
      await rejectsWith(
        t.store.listObjects({ bucket: 'set0', continuationToken: 'not base64!' }),
        'InvalidArgument',
        'InvalidArgument',
        400,
      );
      await rejectsWith(t.store.listObjects({ bucket: 'set0', continuationToken: '__8' }), 'InvalidArgument'); // bytes ff ff: not UTF-8
      await rejectsWith(t.store.listObjects({ bucket: 'set0', prefix: '\uDC00' }), 'InvalidArgument');
      await rejectsWith(t.store.listObjects({ bucket: 'set0', maxKeys: -1 }), 'InvalidArgument');
    });

    it('computes prefix successors in UTF-8 byte order', () => {
      assert.equal(prefixUpperBound(''), undefined);
      assert.equal(prefixUpperBound('a/'), 'a0');
      assert.equal(prefixUpperBound('a\uD7FF'), 'a\uE000');
      assert.equal(prefixUpperBound('a\uFFFF'), 'a\u{10000}');
      assert.equal(prefixUpperBound('a\u{10FFFF}\u{10FFFF}'), 'b');
      assert.equal(prefixUpperBound('\u{10FFFF}'), undefined);
      // The successor sorts after every extension and before the next sibling, in bytes.
      for (const p of ['a/', 'a\uD7FF', '€', 'x😀']) {
        const upper = utf8(prefixUpperBound(p)!);
        for (const tail of ['', '\u0000', '\u{10FFFF}\u{10FFFF}', '\uFFFF']) assert.ok(Buffer.compare(utf8(p + tail), upper) < 0);
      }
    });

    it('lists multipart uploads by key and id, rolled up and paged, as the oracle does', async () => {
      const bucket = 'uploads';
      await t.store.createBucket(bucket);
      const random = prng(77);
      const items: { key: string; id: string }[] = [];
      const keys = [...new Set(Array.from({ length: 25 }, () => randomString(random, 4)))];
      for (const key of keys) {
        const copies = 1 + Math.floor(random() * 3);
        for (let i = 0; i < copies; i++) {
          const upload = await t.store.createUpload({ bucket, key, sse: sseRecord(), userMetadata: {}, standardHeaders: {} });
          assert.match(upload.uploadId, /^[0-9a-f]{44}$/);
          items.push({ key, id: upload.uploadId });
        }
      }
      for (let q = 0; q < 40; q++) {
        const prefix = randomPrefix(random, keys);
        const delimiter = pick(random, DELIMITERS);
        let keyMarker: string | undefined;
        let uploadIdMarker: string | undefined;
        if (random() < 0.3) {
          const item = pick(random, items);
          keyMarker = item.key;
          if (random() < 0.5) uploadIdMarker = item.id;
        }
        const expected = oracle(
          items,
          prefix,
          delimiter,
          keyMarker === undefined ? undefined : { value: keyMarker, ...(uploadIdMarker !== undefined && { id: uploadIdMarker }) },
        );
        const maxUploads = 1 + Math.floor(random() * (expected.length + 1));
        const seen: Entry[] = [];
        for (let guard = 0; ; guard++) {
          assert.ok(guard < 1000);
          const page = await t.store.listUploads({
            bucket,
            prefix,
            maxUploads,
            ...(delimiter !== undefined && { delimiter }),
            ...(keyMarker !== undefined && { keyMarker }),
            ...(uploadIdMarker !== undefined && { uploadIdMarker }),
          });
          const entries = [
            ...page.uploads.map((u) => ({ value: u.key, id: u.uploadId, prefix: false })),
            ...page.commonPrefixes.map((p) => ({ value: p, id: '', prefix: true })),
          ].sort(compareEntries);
          assert.ok(entries.length <= maxUploads);
          seen.push(...entries);
          if (!page.isTruncated) break;
          keyMarker = page.nextKeyMarker;
          uploadIdMarker = page.nextUploadIdMarker;
        }
        assert.deepEqual(seen, expected, JSON.stringify({ q, prefix, delimiter, maxUploads }));
      }
    });
  });
}
