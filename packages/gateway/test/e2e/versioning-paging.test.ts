// ListObjectVersions through the AWS SDK for JavaScript v3 over many versions: of one key, and of many keys
// with delete markers, paged with max-keys and the NextKeyMarker / NextVersionIdMarker pair. The pages, put
// together, are exactly the single listing of the same versions (each once, key ascending, newest first), and
// every version written is there. More than 1,000 versions on the embedded layout; on the cluster layout (every
// write a round trip to PostgreSQL and the upstream) fewer, across several pages still, so the suite stays within
// its time on a shared machine — the paging code is the same, and the storage suite pages both layouts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { Stack } from '../helpers/stack.js';
import { stackLayouts } from '../helpers/stack-layouts.js';

let st: Stack;

/** Runs `task` for each item, `width` at a time. */
async function pool<T>(items: readonly T[], width: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

interface Entry {
  key: string;
  id: string;
  latest: boolean;
  marker: boolean;
}

type Listed = { Key?: string; VersionId?: string; IsLatest?: boolean; LastModified?: Date };

/**
 * One page's entries in S3's order. The SDK returns versions and delete markers as two lists, each in the
 * page's order: they are merged back by key, a key's latest first, then newest first.
 */
function entriesOf(out: { Versions?: Listed[]; DeleteMarkers?: Listed[] }): Entry[] {
  const of = (l: Listed, marker: boolean) => ({
    key: l.Key!,
    id: l.VersionId!,
    latest: l.IsLatest!,
    marker,
    at: l.LastModified!.getTime(),
  });
  const versions = (out.Versions ?? []).map((v) => of(v, false));
  const markers = (out.DeleteMarkers ?? []).map((d) => of(d, true));
  const merged: ReturnType<typeof of>[] = [];
  while (versions.length > 0 || markers.length > 0) {
    const v = versions[0];
    const m = markers[0];
    const takeMarker =
      v === undefined ||
      (m !== undefined &&
        (Buffer.compare(Buffer.from(m.key), Buffer.from(v.key)) < 0 || (m.key === v.key && (m.latest || (!v.latest && m.at > v.at)))));
    merged.push(takeMarker ? markers.shift()! : versions.shift()!);
  }
  return merged.map(({ key, id, latest, marker }) => ({ key, id, latest, marker }));
}

async function pages(Bucket: string, MaxKeys: number): Promise<{ entries: Entry[]; count: number }> {
  const entries: Entry[] = [];
  let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
  for (let count = 1; ; count++) {
    const out = await st.s3.send(new ListObjectVersionsCommand({ Bucket, MaxKeys, ...markers }));
    const page = entriesOf(out);
    assert.ok(page.length <= MaxKeys);
    entries.push(...page);
    if (!out.IsTruncated) return { entries, count };
    assert.ok(out.NextKeyMarker && out.NextVersionIdMarker, 'a truncated page names the version to go on after');
    assert.deepEqual([out.NextKeyMarker, out.NextVersionIdMarker], [page.at(-1)!.key, page.at(-1)!.id]);
    markers = { KeyMarker: out.NextKeyMarker, VersionIdMarker: out.NextVersionIdMarker };
  }
}

for (const layout of stackLayouts)
  describe(layout.name, { skip: layout.skip }, () => {
    const full = layout === stackLayouts[0];
    /** Versions of the one key; keys of the many (3 entries each: two versions and a delete marker). */
    const oneKey = full ? 1030 : 230;
    const manyKeys = full ? 360 : 90;
    before(async () => {
      st = await layout.start();
    });
    after(async () => st?.close());

    test(`${oneKey} versions of one key, paged`, async () => {
      const B = 'paging-one-key';
      await st.s3.send(new CreateBucketCommand({ Bucket: B }));
      await st.s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: 'Enabled' } }));
      const written = new Set<string>();
      await pool(
        Array.from({ length: oneKey }, (_, i) => i),
        8,
        async (i) => {
          written.add((await st.s3.send(new PutObjectCommand({ Bucket: B, Key: 'the-key', Body: `v${i}` }))).VersionId!);
        },
      );
      const whole = entriesOf(await st.s3.send(new ListObjectVersionsCommand({ Bucket: B })));
      assert.equal(whole.length, Math.min(oneKey, 1000), 'one request answers at most 1,000');
      const { entries, count } = await pages(B, full ? 300 : 70);
      assert.equal(count, 4);
      assert.equal(entries.length, oneKey);
      assert.deepEqual(new Set(entries.map((e) => e.id)), written, 'every version once');
      assert.deepEqual(entries.slice(0, 1000), whole, 'pages agree with the single listing');
      assert.deepEqual(
        entries.map((e) => e.latest),
        entries.map((_, i) => i === 0),
        'only the newest is the latest',
      );
    });

    test(`${manyKeys * 3} versions and delete markers of ${manyKeys} keys, paged`, async () => {
      const B = 'paging-many-keys';
      await st.s3.send(new CreateBucketCommand({ Bucket: B }));
      await st.s3.send(new PutBucketVersioningCommand({ Bucket: B, VersioningConfiguration: { Status: 'Enabled' } }));
      const keys = Array.from({ length: manyKeys }, (_, i) => `dir${i % 3}/key-${String(i).padStart(4, '0')}`);
      const expected = new Map<string, string[]>();
      await pool(keys, 8, async (Key) => {
        const ids: string[] = [];
        for (let v = 0; v < 2; v++)
          ids.unshift((await st.s3.send(new PutObjectCommand({ Bucket: B, Key, Body: `${Key}#${v}` }))).VersionId!);
        ids.unshift((await st.s3.send(new DeleteObjectCommand({ Bucket: B, Key }))).VersionId!);
        expected.set(Key, ids);
      });
      const order = [...expected.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      const want = order.flatMap((key) => expected.get(key)!.map((id, i) => ({ key, id, latest: i === 0, marker: i === 0 })));
      assert.equal(want.length, manyKeys * 3);
      for (const maxKeys of full ? [1000, 137] : [1000, 41]) {
        const { entries } = await pages(B, maxKeys);
        assert.deepEqual(entries, want, `max-keys ${maxKeys}`);
      }
    });
  });
