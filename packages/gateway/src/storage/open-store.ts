// The backend factory: picks the metadata store and the blob store from the config's `backend`, and says
// what the rest of the gateway may know of them (a description without secrets, where rotation jobs live).
// Nothing outside storage reads the backend's paths or URLs.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BackendConfig, BlobsConfig, MetadataConfig, S3BlobsConfig } from '../config/backend.js';
import { openFsBlobStore } from './blobs/fs/index.js';
import type { BlobStore } from './blobs/types.js';
import { openSqliteMetadataStore } from './metadata/sqlite/index.js';
import type { PostgresMetadataStore } from './metadata/postgres/postgres-metadata-store.js';
import type { MetadataStore } from './metadata/types.js';
import { LayeredObjectStore, type BackendDescription, type RotationJobsHome } from './object-store.js';
import { DEFAULT_INLINE_THRESHOLD } from './inline-data.js';
import { ReclaimAfterGrace, ReclaimAtOnce, type ReclaimPolicy } from './reclaim.js';

/**
 * How long a superseded s3 blob stays readable: a GET that read the object's metadata before an overwrite
 * fetches each part's blob when it gets to it, so the old blobs must outlive the slowest such GET.
 */
const DEFAULT_RECLAIM_GRACE_MS = 15 * 60_000;
/**
 * With a shared metadata store, other gateways' writers are invisible here: a blob younger than this may be
 * one whose commit is on its way, so the sweep leaves it alone.
 */
const DEFAULT_ORPHAN_MIN_AGE_MS = 24 * 60 * 60_000;
/**
 * The sweep lease's time to live (renewed every third of it while the sweep runs): a gateway that died
 * sweeping holds up the others' sweeps for at most this long.
 */
const SWEEP_LEASE_TTL_MS = 60_000;

export interface OpenStoreOptions {
  /** Sweep orphans and leftovers before resolving (default true, as the gateway does at start). */
  sweepAtOpen?: boolean;
  /** Override DEFAULT_RECLAIM_GRACE_MS for blob stores that reclaim late (s3). */
  reclaimGraceMs?: number;
  /** Override DEFAULT_ORPHAN_MIN_AGE_MS for shared metadata stores (postgres). */
  orphanMinAgeMs?: number;
  /** This gateway's instance id, the holder of the sweep lease on a shared metadata store; default a fresh one. */
  holder?: string;
}

/**
 * Opens the two stores and the object store over them, and sweeps what a crash may have left behind.
 * Throws DataDirInUse when another process holds the embedded SQLite database.
 */
export async function openObjectStore(backend: BackendConfig, options: OpenStoreOptions = {}): Promise<LayeredObjectStore> {
  const { metadata: metadataConfig, blobs: blobsConfig } = storesOf(backend);
  const metadata = await openMetadata(metadataConfig);
  let blobs: BlobStore;
  try {
    blobs = await openBlobs(blobsConfig);
  } catch (err) {
    await metadata.close();
    throw err;
  }
  const shared = 'postgres' in metadataConfig;
  const reclaim: ReclaimPolicy =
    'fs' in blobsConfig ? new ReclaimAtOnce(blobs) : new ReclaimAfterGrace(blobs, options.reclaimGraceMs ?? DEFAULT_RECLAIM_GRACE_MS);
  const store = new LayeredObjectStore({
    metadata,
    blobs,
    reclaim,
    // The embedded SQLite store is locked by this process: its own pending writers are all there are.
    orphanMinAgeMs: shared ? (options.orphanMinAgeMs ?? DEFAULT_ORPHAN_MIN_AGE_MS) : undefined,
    description: describeBackend(backend),
    rotationJobs: rotationJobsHome(metadataConfig, metadata),
    ...(shared && { sweepLease: { holder: options.holder ?? randomUUID(), ttlMs: SWEEP_LEASE_TTL_MS } }),
    inlineThreshold: backend.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD,
  });
  if (options.sweepAtOpen ?? true) {
    try {
      store.startupSweep = await store.sweep();
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}

/** The embedded layout in one directory: SQLite at `path/meta.db`, blobs under `path/data/`. */
export async function openFsStore(
  options: { path: string; inlineThreshold?: number },
  more: OpenStoreOptions = {},
): Promise<LayeredObjectStore> {
  const { inlineThreshold, ...fs } = options;
  return openObjectStore({ fs, ...(inlineThreshold !== undefined && { inlineThreshold }) }, more);
}

function storesOf(backend: BackendConfig): { metadata: MetadataConfig; blobs: BlobsConfig } {
  if ('fs' in backend) return { metadata: { sqlite: { path: join(backend.fs.path, 'meta.db') } }, blobs: { fs: backend.fs } };
  return backend;
}

async function openMetadata(config: MetadataConfig): Promise<MetadataStore> {
  if ('sqlite' in config) return openSqliteMetadataStore(config.sqlite);
  const { openPostgresMetadataStore } = await loadStoreModule('postgres');
  return openPostgresMetadataStore({ url: config.postgres.url });
}

async function openBlobs(config: BlobsConfig): Promise<BlobStore> {
  if ('fs' in config) return openFsBlobStore(config.fs);
  const { S3BlobStore } = await loadStoreModule('s3');
  const { ca, ...rest } = config.s3;
  // The store gets the CA's PEM text, not a path: reading config files is the factory's job.
  return new S3BlobStore({ ...rest, ...(ca !== undefined && { ca: readFileSync(ca, 'utf8') }) });
}

interface PostgresModule {
  openPostgresMetadataStore(options: { url: string }): Promise<PostgresMetadataStore>;
}
interface S3Module {
  S3BlobStore: new (options: Omit<S3BlobsConfig, 'ca'> & { ca?: string }) => BlobStore;
}

/**
 * The PostgreSQL metadata store and the s3 blob store are loaded only when the config asks for them, so the
 * embedded layout never loads pg or the AWS SDK.
 */
async function loadStoreModule(kind: 'postgres'): Promise<PostgresModule>;
async function loadStoreModule(kind: 's3'): Promise<S3Module>;
async function loadStoreModule(kind: 'postgres' | 's3'): Promise<PostgresModule | S3Module> {
  return kind === 'postgres' ? import('./metadata/postgres/index.js') : import('./blobs/s3/index.js');
}

/** Rotation jobs: in a SQLite file beside SQLite metadata; with PostgreSQL, in PostgreSQL itself. */
function rotationJobsHome(config: MetadataConfig, metadata: MetadataStore): RotationJobsHome {
  if ('sqlite' in config) return { sqlite: join(dirname(config.sqlite.path), 'rotation.db') };
  return { postgres: (metadata as PostgresMetadataStore).db };
}

/** Kinds and places only: a postgres URL's user and password and an s3 store's keys never appear. */
export function describeBackend(backend: BackendConfig): BackendDescription {
  if ('fs' in backend) {
    const path = backend.fs.path;
    return { type: 'fs', path, metadata: { kind: 'sqlite', path: join(path, 'meta.db') }, blobs: { kind: 'fs', path } };
  }
  const { metadata, blobs } = backend;
  const m: BackendDescription['metadata'] =
    'sqlite' in metadata ? { kind: 'sqlite', path: metadata.sqlite.path } : describePostgres(metadata.postgres.url);
  const b: BackendDescription['blobs'] =
    'fs' in blobs
      ? { kind: 'fs', path: blobs.fs.path }
      : {
          kind: 's3',
          endpoint: safeOrigin(blobs.s3.endpoint),
          bucket: blobs.s3.bucket,
          prefix: blobs.s3.prefix,
          region: blobs.s3.region,
          pathStyle: blobs.s3.pathStyle,
        };
  return { type: `${m.kind}+${b.kind}`, metadata: m, blobs: b };
}

function describePostgres(url: string): BackendDescription['metadata'] {
  try {
    const u = new URL(url);
    return { kind: 'postgres', host: u.hostname, port: Number(u.port || 5432), database: decodeURIComponent(u.pathname.slice(1)) };
  } catch {
    return { kind: 'postgres' };
  }
}

/** scheme://host:port of a URL, without any user:password@ or path. */
function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}
