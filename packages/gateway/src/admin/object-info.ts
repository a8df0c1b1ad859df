// What the store holds for one object: its SSE fields and parts as JSON (all of it sealed or public),
// and the raw ciphertext of a part, for audits, backup checks and offline recovery.
import type { Readable } from 'node:stream';
import { NoSuchKey, NoSuchVersion, type ObjectRecord, type ObjectStore } from '../storage/index.js';
import { AdminError, badRequest } from './errors.js';

/** The SSE fields docs/object-format.md lists, in a fixed order; whatever else is stored follows. */
const SSE_FIELDS = [
  'sse',
  'iv',
  'sealAlgorithm',
  'sealedKey',
  'kmsKey',
  'kmsKeyVersion',
  'kmsCiphertext',
  'kmsContext',
  'sseCKeyMD5',
  'multipart',
];

export interface ObjectStatus {
  bucket: string;
  key: string;
  versionId: string;
  size: number;
  etag: string;
  lastModified: string;
  revision: string;
  contentType?: string;
  sse: Record<string, unknown>;
  /** `inline`: the part's encrypted bytes are in the metadata row (a small object), not in a blob named dataId. */
  parts: {
    number: number;
    plainSize: number;
    encSize: number;
    etag: string;
    dataId: string;
    inline?: true;
    extra?: Record<string, unknown>;
  }[];
}

/** The version asked for (the latest without a version id); a delete marker holds nothing to show. */
async function record(store: ObjectStore, bucket: string, key: string, versionId: string | undefined): Promise<ObjectRecord> {
  const { version } = await store.getVersion(bucket, key, versionId);
  if (version?.deleteMarker) {
    throw new AdminError(404, 'DeleteMarker', `Version ${version.versionId} of ${key} is a delete marker: it has no data or keys.`);
  }
  if (!version) throw versionId === undefined ? new NoSuchKey(bucket, key) : new NoSuchVersion(key, versionId);
  return version;
}

/** The versionId query parameter: absent or one this gateway issues. */
export function parseVersionIdParam(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  if (raw === '') throw badRequest('versionId must not be empty.');
  return raw;
}

export async function objectStatus(store: ObjectStore, bucket: string, key: string, versionId?: string): Promise<ObjectStatus> {
  const r = await record(store, bucket, key, versionId);
  const stored: Record<string, unknown> = { ...r.sse };
  const sse: Record<string, unknown> = {};
  for (const f of SSE_FIELDS) if (stored[f] !== undefined) sse[f] = stored[f];
  for (const [f, v] of Object.entries(stored)) if (!(f in sse)) sse[f] = v;
  return {
    bucket: r.bucket,
    key: r.key,
    versionId: r.versionId,
    size: r.size,
    etag: r.etag,
    lastModified: r.lastModified.toISOString(),
    revision: r.revision,
    ...(r.contentType !== undefined ? { contentType: r.contentType } : {}),
    sse,
    parts: r.parts.map((p) => ({
      number: p.number,
      plainSize: p.plainSize,
      encSize: p.encSize,
      etag: p.etag,
      dataId: p.dataId,
      ...(p.inline !== undefined ? { inline: true as const } : {}),
      ...(p.extra !== undefined ? { extra: p.extra } : {}),
    })),
  };
}

/** `part` as given in the query: absent, or a part number of the object. */
export function parsePartNumber(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  if (!/^[1-9]\d{0,4}$/.test(raw) || Number(raw) > 10000)
    throw badRequest(`part must be a part number from 1 to 10000; got "${raw.slice(0, 20)}".`);
  return Number(raw);
}

export interface RawPart {
  number: number;
  partsCount: number;
  size: number;
  dataId: string;
  stream: Readable;
}

/** The stored bytes of one part; without a part number, the object must have exactly one part. */
export async function openRawPart(
  store: ObjectStore,
  bucket: string,
  key: string,
  part: number | undefined,
  versionId?: string,
): Promise<RawPart> {
  const r = await record(store, bucket, key, versionId);
  const numbers = r.parts.map((p) => p.number);
  if (part === undefined && r.parts.length > 1) {
    throw badRequest(`The object has ${r.parts.length} parts (${numbers.join(', ')}): name one with part=N.`);
  }
  const p = part === undefined ? r.parts[0] : r.parts.find((x) => x.number === part);
  if (!p) throw new AdminError(404, 'NoSuchPart', `The object has no part ${part}; its parts are ${numbers.join(', ')}.`);
  return {
    number: p.number,
    partsCount: r.parts.length,
    size: p.encSize,
    dataId: p.dataId,
    stream: await store.openPartRange(p, 0, p.encSize),
  };
}
