import { bodyStream } from '../../s3/body.js';
import { S3Error } from '../../s3/errors.js';
import { authOf } from '../../s3/middleware.js';
import { isChecksumAlgorithm } from '../../s3/checksums.js';
import { parseCompleteMultipartUpload } from '../../s3/xml.js';
import { parseConditions } from '../../object-service/conditions.js';
import { quoteETag } from '../../object-service/headers.js';
import { completeUpload, createUpload, uploadPart, uploadPartCopy } from '../../object-service/multipart.js';
import { MAX_PART_SIZE } from '../../s3/multipart-limits.js';
import { parseCopySourceKey, parseReadSSE, parseWriteSSE } from '../../sse/headers.js';
import type { ChecksumAlgorithm } from '../../storage/types.js';
import type { S3Call } from '../services.js';
import { firstHeader } from '../../s3/header-values.js';
import { objectMetadata, parseCopySource } from '../request.js';
import { writePrecondition } from './objects.js';
import { sendXML, setHeaders } from '../reply.js';
import { requirePrivateAcl } from './acl.js';
import { smallBody } from './buckets.js';
import { tagsOfRequest } from './tagging.js';

const refOf = (c: S3Call) => ({ bucket: c.bucket, key: c.key, uploadId: c.query.get('uploadId') ?? '' });

function partNumberOf(c: S3Call): number {
  const v = c.query.get('partNumber') ?? '';
  if (!/^\d+$/.test(v)) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      extra: { ArgumentName: 'partNumber', ArgumentValue: v },
    });
  }
  return Number(v);
}

export async function createUploadHandler(c: S3Call): Promise<void> {
  const alg = firstHeader(c.req.headers, 'x-amz-checksum-algorithm')?.toLowerCase();
  if (alg !== undefined && !isChecksumAlgorithm(alg)) {
    throw new S3Error(
      'InvalidRequest',
      'Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]',
    );
  }
  requirePrivateAcl(c);
  const { upload, headers } = await createUpload(c.svc, {
    bucket: c.bucket,
    key: c.key,
    sse: parseWriteSSE(c.req.headers),
    metadata: { ...objectMetadata(c.req.headers), ...tagsOfRequest(c) },
    ...(alg ? { checksumAlgorithm: alg.toUpperCase() as ChecksumAlgorithm } : {}),
  });
  setHeaders(c.res, headers);
  if (alg) c.res.setHeader('x-amz-checksum-algorithm', alg.toUpperCase());
  sendXML(c.res, 'InitiateMultipartUploadResult', { Bucket: c.bucket, Key: c.key, UploadId: upload.uploadId });
}

export async function uploadPartHandler(c: S3Call): Promise<void> {
  const partNumber = partNumberOf(c);
  const customer = parseReadSSE(c.req.headers);
  const upload = await c.svc.store.getUpload(refOf(c));
  const md5 = c.svc.enc.mode(upload.sse.sse).etagIsMD5;
  const body = bodyStream(c.req, authOf(c.res), { maxSize: MAX_PART_SIZE, requireLength: true, md5 });
  const { part, headers } = await uploadPart(c.svc, { ref: refOf(c), partNumber, ...(customer ? { customer } : {}), body });
  setHeaders(c.res, headers);
  c.res.setHeader('ETag', quoteETag(part.etag));
  c.res.status(200).end();
}

export async function uploadPartCopyHandler(c: S3Call): Promise<void> {
  const partNumber = partNumberOf(c);
  const customer = parseReadSSE(c.req.headers);
  const source = parseCopySource(firstHeader(c.req.headers, 'x-amz-copy-source') ?? '');
  const srcCustomer = parseCopySourceKey(c.req.headers);
  const range = firstHeader(c.req.headers, 'x-amz-copy-source-range');
  const { part, headers } = await uploadPartCopy(c.svc, {
    ref: refOf(c),
    partNumber,
    ...(customer ? { customer } : {}),
    source: {
      ...source,
      ...(srcCustomer ? { customer: srcCustomer } : {}),
      conditions: parseConditions(c.req.headers, 'x-amz-copy-source-'),
      ...(range !== undefined ? { range } : {}),
    },
  });
  setHeaders(c.res, headers);
  sendXML(c.res, 'CopyPartResult', { LastModified: part.lastModified.toISOString(), ETag: quoteETag(part.etag) });
}

export async function completeUploadHandler(c: S3Call): Promise<void> {
  const parts = parseCompleteMultipartUpload(await smallBody(c, 4 * 1024 * 1024));
  const { record, headers } = await completeUpload(
    c.svc,
    refOf(c),
    parts.map((p) => ({ number: p.partNumber, etag: p.etag })),
    writePrecondition(c),
  );
  setHeaders(c.res, headers);
  sendXML(c.res, 'CompleteMultipartUploadResult', {
    Location: `/${c.bucket}/${encodeURIComponent(c.key)}`,
    Bucket: c.bucket,
    Key: c.key,
    ETag: quoteETag(record.etag),
  });
}

export async function abortUploadHandler(c: S3Call): Promise<void> {
  await c.svc.store.abortUpload(refOf(c));
  c.res.status(204).end();
}
