// Damaging a small object that lives inline, as someone with write access to the metadata database could:
// its encrypted bytes are in its row, not in a data file a test could edit. Written through the metadata
// store of the gateway's own (in-process) object store, so it works on either database.
import assert from 'node:assert/strict';
import { LayeredObjectStore, type ObjectStore } from '../../src/storage/index.js';

/** Replaces the stored bytes of the inline object `bucket/key` with what `change` makes of a copy of them. */
export async function tamperInlineRow(store: ObjectStore, bucket: string, key: string, change: (stored: Buffer) => Buffer): Promise<void> {
  assert.ok(store instanceof LayeredObjectStore, 'the gateway runs in this process, on a layered store');
  const record = (await store.getObject(bucket, key))!;
  const part = record.parts[0]!;
  assert.ok(part.inline, `${bucket}/${key} must be stored inline`);
  await store.metadata.putObject({ ...record, parts: [{ ...part, inline: change(Buffer.from(part.inline)) }] }, () => {});
}
