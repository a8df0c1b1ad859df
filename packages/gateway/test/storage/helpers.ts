// Shared helpers of the storage tests: the store layouts the object-level suites run on, writing bytes
// through a real DataWriter, reading them back, and looking at what the blob store holds.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import {
  openFsStore,
  openObjectStore,
  type LayeredObjectStore,
  type ObjectRecord,
  type ObjectStore,
  type PartRecord,
  type PutObjectInput,
} from '../../src/storage/index.js';
import { clusterServices, clusterSkipReason, freshClusterBackend } from '../helpers/cluster-services.js';
import { sseRecord } from './fixtures/sse-records.js';

export interface TempStore {
  /** The layout's name. */
  layout: string;
  store: LayeredObjectStore;
  /** A directory holding only what the layout keeps on this machine, to prove nothing is written beside it. */
  base: string;
  /** Closes the store and opens it again on the same data. */
  reopen(): Promise<LayeredObjectStore>;
  cleanup(): Promise<void>;
  /** The ids of the blobs stored (the blob store's own listing). */
  blobIds(): Promise<string[]>;
  /** A stored blob's size, undefined when there is none. */
  blobSize(id: string): Promise<number | undefined>;
  /** What unfinished writers left in the blob store (fs: the names in tmp/; s3: open upstream multipart uploads). */
  leftovers(): Promise<string[]>;
  /** How many bytes a writer takes before it leaves something in the blob store (s3: more than one upstream part). */
  leftoverBytes: number;
  /**
   * Lets the reclaim of superseded blobs happen: a no-op where it happens at once (fs); with a grace period
   * (s3), the sweep removes now what the grace period would remove later.
   */
  settle(): Promise<void>;
  /** Every file the layout may keep under `base`, as a path relative to it. */
  localFiles: RegExp;
}

/** A metadata store × blob store combination the object-level suites run against. */
export interface StoreLayout {
  name: string;
  /** Why this layout cannot run here (a server binary is missing), or false. */
  skip: string | false;
  open(options?: StoreOptions): Promise<TempStore>;
}

/**
 * How a test store is opened. `inlineThreshold` defaults to 0 here: the suites written for data in blobs keep
 * every object in one (inline.test.ts runs the same layouts with small objects inline, as a gateway does).
 */
export interface StoreOptions {
  inlineThreshold?: number;
}

/** The embedded layout: SQLite and the blobs in one data directory. */
export interface EmbeddedTempStore extends TempStore {
  /** The data directory (inside `base`). */
  root: string;
}

async function listBlobs(store: LayeredObjectStore): Promise<Map<string, number>> {
  const blobs = new Map<string, number>();
  for await (const blob of store.blobs.list()) blobs.set(blob.id, blob.size);
  return blobs;
}

export async function openEmbeddedStore(options: StoreOptions = {}): Promise<EmbeddedTempStore> {
  const base = mkdtempSync(join(tmpdir(), 'kesgate-storage-'));
  const root = join(base, 'store');
  const inlineThreshold = options.inlineThreshold ?? 0;
  const temp: EmbeddedTempStore = {
    layout: 'embedded',
    store: await openFsStore({ path: root, inlineThreshold }),
    root,
    base,
    async reopen() {
      await temp.store.close();
      temp.store = await openFsStore({ path: root, inlineThreshold });
      return temp.store;
    },
    async cleanup() {
      await temp.store.close();
      rmSync(base, { recursive: true, force: true });
    },
    async blobIds() {
      return [...(await listBlobs(temp.store)).keys()];
    },
    async blobSize(id) {
      return (await listBlobs(temp.store)).get(id);
    },
    async leftovers() {
      return tmpFiles(root);
    },
    leftoverBytes: 1,
    async settle() {},
    localFiles: /^store\/(meta\.db(-wal|-journal)?|data\/[0-9a-f]{2}\/[0-9a-f]{32})$/,
  };
  return temp;
}

/**
 * The cluster layout, as the backend factory opens it from a config: PostgreSQL metadata (a fresh database of
 * the test file's cluster) and s3 blobs (a fresh bucket of the file's moto). Nothing is kept on this machine.
 * Superseded blobs wait out the gateway's grace period; `settle()` sweeps them with no minimum age instead.
 */
export async function openClusterStore(options: StoreOptions = {}): Promise<TempStore> {
  const { backend, bucket } = await freshClusterBackend('store');
  const { moto } = await clusterServices();
  const inlineThreshold = options.inlineThreshold ?? 0;
  const open = (): Promise<LayeredObjectStore> => openObjectStore({ ...backend, inlineThreshold }, { orphanMinAgeMs: 0 });
  const base = mkdtempSync(join(tmpdir(), 'kesgate-cluster-store-'));
  const temp: TempStore = {
    layout: 'cluster',
    store: await open(),
    base,
    async reopen() {
      await temp.store.close();
      temp.store = await open();
      return temp.store;
    },
    async cleanup() {
      await temp.store.close();
      rmSync(base, { recursive: true, force: true });
    },
    async blobIds() {
      return [...(await listBlobs(temp.store)).keys()];
    },
    async blobSize(id) {
      return (await listBlobs(temp.store)).get(id);
    },
    async leftovers() {
      const out = await moto.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
      return (out.Uploads ?? []).map((u) => u.Key!);
    },
    // The factory's s3 store sends blobs up to one 16 MiB part in one PUT: only a larger one opens an upload.
    leftoverBytes: 16 * 1024 * 1024 + 1,
    async settle() {
      await temp.store.sweep();
    },
    // Nothing at all: metadata and blobs are in the engines.
    localFiles: /(?!)/,
  };
  return temp;
}

/** The layouts every object-level suite runs on. */
export const layouts: StoreLayout[] = [
  { name: 'embedded (sqlite + fs)', skip: false, open: openEmbeddedStore },
  { name: 'cluster (postgres + s3 on moto)', skip: clusterSkipReason(), open: openClusterStore },
];

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** Writes `data` through a real DataWriter (in 16 KiB chunks) and returns its id and size. */
export async function writeData(store: ObjectStore, bucket: string, data: Buffer): Promise<{ dataId: string; encSize: number }> {
  const writer = await store.createDataWriter(bucket);
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += 16384) chunks.push(data.subarray(i, i + 16384));
  await pipeline(Readable.from(chunks), writer.stream);
  const encSize = await writer.finish();
  return { dataId: writer.id, encSize };
}

/**
 * Stores `parts` (one buffer per part) as an object. The bytes are stored as they are: storage is
 * opaque, so "encrypted" and plain sizes coincide here. The sha256 of the whole object is kept in
 * userMetadata for later checks.
 */
export async function putBytes(
  store: ObjectStore,
  bucket: string,
  key: string,
  parts: Buffer | Buffer[],
  extra: Partial<PutObjectInput> = {},
): Promise<ObjectRecord> {
  const buffers = Array.isArray(parts) ? parts : [parts];
  const records: PartRecord[] = [];
  for (const [i, data] of buffers.entries()) {
    const { dataId, encSize } = await writeData(store, bucket, data);
    records.push({ number: i + 1, plainSize: data.length, encSize, etag: md5(data), dataId });
  }
  const whole = Buffer.concat(buffers);
  return store.putObject({
    bucket,
    key,
    size: whole.length,
    etag: md5(whole),
    userMetadata: { sha256: sha256(whole) },
    standardHeaders: {},
    sse: sseRecord({ sse: 'SSE-S3', iv: 'aXY=' }),
    parts: records,
    ...extra,
  });
}

export async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** All bytes of an object, part after part, through openPartRange. */
export async function readObject(store: ObjectStore, record: ObjectRecord): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const part of record.parts) {
    parts.push(await readStream(await store.openPartRange(part, 0, part.encSize)));
  }
  return Buffer.concat(parts);
}

/** Every file under `dir`, as paths relative to it. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

/** The ids of the data files on disk. */
export function dataFileIds(root: string): string[] {
  return listFiles(join(root, 'data')).map((path) => path.split('/')[1]!);
}

export function dataFileSize(root: string, dataId: string): number {
  return statSync(join(root, 'data', dataId.slice(0, 2), dataId)).size;
}

export function tmpFiles(root: string): string[] {
  return readdirSync(join(root, 'tmp'));
}

/** Asserts a promise rejects with a StorageError of the given code and status. */
export async function rejectsWith(promise: Promise<unknown>, name: string, code?: string, status?: number): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    const e = err as Error & { code?: string; status?: number };
    if (e.name !== name) throw new Error(`expected ${name}, got ${e.name}: ${e.message}`, { cause: err });
    if (code !== undefined && e.code !== code) throw new Error(`expected code ${code}, got ${e.code}`, { cause: err });
    if (status !== undefined && e.status !== status) throw new Error(`expected status ${status}, got ${e.status}`, { cause: err });
    return e;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
}

/** A small deterministic PRNG (mulberry32), so a failing random case can be replayed by seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
