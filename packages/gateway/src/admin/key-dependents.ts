// What depends on a master key: how many objects (and unfinished uploads) become unreadable if the
// key is deleted at kes, or unreadable for a while if it is sealed. Asked before either, by the
// `kesgate key dependents` command, the console, and `kes key delete`'s guard.
import type { ObjectStore } from '../storage/types.js';
import { badRequest } from './errors.js';

interface BucketDependents {
  bucket: string;
  objects: number;
  /** Every stored version (the current one and noncurrent ones) under the key. */
  versions: number;
  uploads: number;
}

export interface KeyDependentsReport {
  key: string;
  objects: number;
  versions: number;
  uploads: number;
  /** Only buckets with any dependents, in bucket order. */
  buckets: BucketDependents[];
}

// kes's key-name rule, so a typo is a clear 400 rather than a silent "0 dependents".
const KEY_NAME = /^[0-9A-Za-z_](?:[0-9A-Za-z_-]{0,78}[0-9A-Za-z_])?$/;

export async function keyDependents(store: ObjectStore, key: string): Promise<KeyDependentsReport> {
  if (!KEY_NAME.test(key)) {
    throw badRequest("That is not a kes key name: kes names are 1-80 characters of 0-9 A-Z a-z _ -, not starting or ending with '-'.");
  }
  // Versions counts noncurrent versions too: deleting the key erases every one of them.
  const buckets = (await store.keyDependents(key)).map((b) => ({
    bucket: b.bucket,
    objects: b.objects,
    versions: b.versions,
    uploads: b.uploads,
  }));
  const sum = (field: 'objects' | 'versions' | 'uploads'): number => buckets.reduce((n, b) => n + b[field], 0);
  return { key, objects: sum('objects'), versions: sum('versions'), uploads: sum('uploads'), buckets };
}
