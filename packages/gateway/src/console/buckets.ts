// The Buckets page: each bucket's default encryption, versioning state and its objects counted by listing
// (bounded, so a huge bucket shows "at least N"); and the one change it offers, the default encryption.
import { z } from 'zod';
import { badRequest } from '../admin/errors.js';
import type { BucketVersioning, ObjectStore } from '../storage/types.js';

export interface BucketRow {
  name: string;
  createdAt: string;
  /** `bucketKeyEnabled` only where the stored default encryption has that field. */
  encryption: { sse: string; kmsKeyId?: string; bucketKeyEnabled?: boolean } | null;
  versioning: BucketVersioning;
  objects: number;
  bytes: number;
  /** More objects than were counted. */
  truncated: boolean;
}

/** Objects counted per bucket before the count stops. */
const COUNT_LIMIT = 100_000;

async function count(store: ObjectStore, bucket: string): Promise<Pick<BucketRow, 'objects' | 'bytes' | 'truncated'>> {
  let objects = 0;
  let bytes = 0;
  let token: string | undefined;
  for (;;) {
    const page = await store.listObjects({ bucket, maxKeys: 1000, ...(token ? { continuationToken: token } : {}) });
    objects += page.contents.length;
    for (const o of page.contents) bytes += o.size;
    if (!page.isTruncated || !page.nextToken) return { objects, bytes, truncated: false };
    if (objects >= COUNT_LIMIT) return { objects, bytes, truncated: true };
    token = page.nextToken;
  }
}

export async function bucketRows(store: ObjectStore): Promise<BucketRow[]> {
  const buckets = await store.listBuckets();
  return Promise.all(
    buckets.map(async (b) => {
      const [enc, versioning, counted] = await Promise.all([
        store.getBucketEncryption(b.name),
        store.getBucketVersioning(b.name),
        count(store, b.name),
      ]);
      const bucketKey = (enc as { bucketKeyEnabled?: unknown } | undefined)?.bucketKeyEnabled;
      return {
        name: b.name,
        createdAt: b.createdAt.toISOString(),
        encryption: enc
          ? {
              sse: enc.sse,
              ...(enc.kmsKeyId ? { kmsKeyId: enc.kmsKeyId } : {}),
              ...(typeof bucketKey === 'boolean' ? { bucketKeyEnabled: bucketKey } : {}),
            }
          : null,
        versioning,
        ...counted,
      };
    }),
  );
}

const encryptionBody = z.discriminatedUnion('sse', [
  z.object({ sse: z.literal('none') }).strict(),
  z.object({ sse: z.literal('AES256') }).strict(),
  z.object({ sse: z.literal('aws:kms'), kmsKeyId: z.string().min(1).optional() }).strict(),
]);

/** PutBucketEncryption / DeleteBucketEncryption, as the console asks for them. */
export async function setBucketEncryption(store: ObjectStore, bucket: string, raw: unknown): Promise<BucketRow['encryption']> {
  const r = encryptionBody.safeParse(raw);
  if (!r.success) throw badRequest('Expected {"sse": "none" | "AES256" | "aws:kms", "kmsKeyId"?: "<key name>" (aws:kms only)}.');
  const b = r.data;
  if (b.sse === 'none') {
    await store.deleteBucketEncryption(bucket);
    return null;
  }
  const config = b.sse === 'aws:kms' && b.kmsKeyId ? { sse: b.sse, kmsKeyId: b.kmsKeyId } : { sse: b.sse };
  await store.putBucketEncryption(bucket, config);
  return config;
}
