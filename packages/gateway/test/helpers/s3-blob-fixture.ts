// Opens an S3BlobStore on a fresh bucket of an upstream, for the blob store contract and the s3 store's own
// tests: small parts (so multipart paths run with small blobs), an optional prefix, and optional decoys in
// the bucket that the store must leave alone.
import { randomBytes } from 'node:crypto';
import { CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { S3BlobStore, type S3BlobStoreOptions, type S3BlobTuning } from '../../src/storage/blobs/s3/index.js';
import type { BlobStoreFixture } from '../storage/contract/blob-contract.js';
import type { Upstream } from './upstreams.js';

const MiB = 1024 * 1024;
/** The smallest part S3 (and moto, and kesgate) accept for all but the last part. */
export const SMALL_PART = 5 * MiB;

export interface S3FixtureOptions {
  prefix?: string;
  /** Store options to override (endpoint, ca, pathStyle, …). */
  store?: Partial<S3BlobStoreOptions>;
  tuning?: S3BlobTuning;
  /**
   * Puts objects the store must ignore into the bucket: outside the prefix, and under it with names that
   * are not blob ids; `multipart` also begins such uploads (for upstreams that list multipart uploads).
   */
  decoys?: { multipart: boolean };
  /** Whether the upstream lists multipart uploads (s3rver does not): then the fixture can leave leftovers. */
  leftovers: boolean;
}

export interface S3Fixture extends BlobStoreFixture {
  store: S3BlobStore;
  bucket: string;
  prefix: string;
  /** The keys of the decoys put into the bucket. */
  decoys: string[];
}

export async function openS3Fixture(upstream: Upstream, options: S3FixtureOptions): Promise<S3Fixture> {
  const bucket = await upstream.newBucket();
  const prefix = options.prefix ?? '';
  const decoys: string[] = [];
  if (options.decoys) {
    const names = [`other/${randomBytes(16).toString('hex')}`, `${prefix}README`, `${prefix}sub/${randomBytes(16).toString('hex')}`];
    if (prefix) names.push(randomBytes(16).toString('hex'));
    for (const key of names) {
      await upstream.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'not a blob' }));
      decoys.push(key);
    }
    if (options.decoys.multipart) {
      for (const key of [`other/${randomBytes(16).toString('hex')}`, `${prefix}not-an-id`]) {
        await upstream.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      }
    }
  }
  const store = new S3BlobStore(
    {
      endpoint: upstream.endpoint,
      bucket,
      region: upstream.region,
      accessKey: upstream.accessKey,
      secretKey: upstream.secretKey,
      prefix,
      pathStyle: true,
      ...options.store,
    },
    { partSize: SMALL_PART, ...options.tuning },
  );
  const fixture: S3Fixture = {
    store,
    bucket,
    prefix,
    decoys,
    // Two parts and a bit: the large-blob path with a multipart upload of three parts.
    largeBlobSize: 2 * SMALL_PART,
    // The upstream server is thrown away with the test file; closing the store releases its sockets.
    cleanup: () => store.close(),
  };
  if (options.leftovers) {
    // A gateway that died mid-upload: a multipart upload under a blob name, begun and never completed.
    fixture.leaveLeftover = async () => {
      await upstream.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: prefix + randomBytes(16).toString('hex') }));
    };
  }
  return fixture;
}
