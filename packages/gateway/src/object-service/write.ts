import type { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createEncryptStream, encryptBuffer, PACKAGE_SIZE } from '@kesgate/dare';
import { PayloadVerifier, type PayloadDigests, type PayloadVerifierOptions } from '../s3/checksums.js';
import { validateObjectKey } from '../s3/names.js';
import type { SealedObject } from '../sse/mode.js';
import type { SSERequest } from '../sse/types.js';
import type { ChecksumAlgorithm, ObjectMetadata, ObjectRecord, ObjectStore, WritePrecondition } from '../storage/types.js';
import type { ObjectServiceDeps } from './deps.js';
import { toS3Error } from './errors.js';
import { objectHeaders } from './headers.js';
import { writtenVersionHeaders } from './version-id.js';

/**
 * A body to store: a PayloadVerifier that checks (MD5, SHA-256, checksums, size) the bytes passing through
 * it — `bodyStream()` for a request, or `verified(stream, opts)` for data the gateway reads itself (copies).
 */
export type WriteBody = PayloadVerifier;

export function verified(stream: Readable, options: PayloadVerifierOptions): PayloadVerifier {
  const v = new PayloadVerifier(options);
  stream.on('error', (e) => v.destroy(e));
  // pipe() does not pass a destroy upstream: a write that fails must also stop (and close) the source.
  v.on('close', () => stream.destroy());
  return stream.pipe(v);
}

export interface EncryptedData {
  dataId: string;
  encSize: number;
  digests: PayloadDigests;
}

/**
 * Streams the verified `body` through the DARE encoder into a new data file
 * of the store. Nothing is committed here: the caller hands `dataId` to putObject/putPart, which take
 * ownership. On any failure the data file is discarded.
 */
export async function writeEncrypted(store: ObjectStore, bucket: string, body: WriteBody, key: Buffer): Promise<EncryptedData> {
  const writer = await store.createDataWriter(bucket);
  try {
    const announced = body.announcedSize;
    if (announced !== undefined && announced <= PACKAGE_SIZE) await writeSmall(body, key, writer.stream);
    else await pipeline(body, createEncryptStream(key), writer.stream);
    const encSize = await writer.finish();
    if (!body.digests) throw new Error('payload verifier finished without digests');
    return { dataId: writer.id, encSize, digests: body.digests };
  } catch (err) {
    await writer.abort().catch(() => {});
    throw err;
  }
}

/**
 * A body announced to fit one package is read whole and encrypted in one call: the same bytes as the stream
 * (one package), without a stream pipeline per small PUT, whose set-up and teardown cost more than the
 * encryption of 4 KiB. The verifier still checks the body as it is read; an error on either side fails the
 * write as the pipeline would.
 */
async function writeSmall(body: WriteBody, key: Buffer, out: Writable): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  out.end(encryptBuffer(key, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
  await finished(out);
}

function storedChecksum(digests: PayloadDigests): ObjectRecord['checksum'] {
  if (!digests.checksum) return undefined;
  return { algorithm: digests.checksum.algorithm.toUpperCase() as ChecksumAlgorithm, value: digests.checksum.value, type: 'FULL_OBJECT' };
}

export interface PutRequest {
  bucket: string;
  key: string;
  sse: SSERequest | undefined;
  metadata: ObjectMetadata;
  body: WriteBody;
  precondition?: WritePrecondition;
  /** The destination checked and its key made beforehand (sealTarget); putObject takes it over and wipes the key. */
  sealed?: SealedObject;
}

/**
 * Everything about a write's destination that can refuse it, checked before a byte of the body is read
 * (or, for a copy, before the source is opened): the key's name, the bucket (which also gives the default
 * encryption) and the object key, from kes or the SSE-C key. The caller owns the returned OEK.
 */
export async function sealTarget(ctx: ObjectServiceDeps, bucket: string, key: string, sse: SSERequest | undefined): Promise<SealedObject> {
  validateObjectKey(key);
  const bucketDefault = await ctx.store.getBucketEncryption(bucket);
  return ctx.enc.seal(ctx.enc.choose(sse, bucketDefault), { bucket, key });
}

export interface PutResult {
  record: ObjectRecord;
  headers: Record<string, string>;
}

/**
 * PutObject: choose the SSE mode, get the object key (kes first: if kes is sealed or away, nothing is
 * read or written), encrypt while streaming, then commit the metadata in one step.
 */
export async function putObject(ctx: ObjectServiceDeps, req: PutRequest): Promise<PutResult> {
  try {
    let sealed = req.sealed;
    if (!sealed) {
      validateObjectKey(req.key);
      // Without SSE headers the bucket's default applies (a missing bucket fails here, before kes is asked).
      const choice = req.sse ?? ctx.enc.choose(undefined, await ctx.store.getBucketEncryption(req.bucket));
      sealed = await ctx.enc.seal(choice, { bucket: req.bucket, key: req.key });
    }
    const { oek, stored } = sealed;
    let data: EncryptedData;
    try {
      data = await writeEncrypted(ctx.store, req.bucket, req.body, oek);
    } finally {
      oek.fill(0);
    }
    const etag = ctx.enc.mode(stored.sse).etag(data.digests);
    const checksum = storedChecksum(data.digests);
    const record = await ctx.store.putObject({
      bucket: req.bucket,
      key: req.key,
      ...req.metadata,
      size: data.digests.size,
      etag,
      ...(checksum ? { checksum } : {}),
      sse: stored,
      parts: [{ number: 1, plainSize: data.digests.size, encSize: data.encSize, etag, dataId: data.dataId }],
      ...(req.precondition ? { precondition: req.precondition } : {}),
    });
    const all = objectHeaders(record, ctx.enc, true);
    const headers: Record<string, string> = { etag: all.etag! };
    for (const [k, v] of Object.entries(all))
      if (k.startsWith('x-amz-server-side-encryption') || k.startsWith('x-amz-checksum-')) headers[k] = v;
    return { record, headers: { ...headers, ...writtenVersionHeaders(record) } };
  } catch (err) {
    throw toS3Error(err);
  }
}
