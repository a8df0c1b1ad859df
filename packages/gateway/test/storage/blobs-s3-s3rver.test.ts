// The s3 blob store against s3rver (npm, in this process): the blob store contract.
//
// s3rver's quirks: it stores an aws-chunked upload body (the SDK's default with request checksums) as the
// object's bytes, chunk framing included, hence the store's requestChecksumCalculation 'WHEN_REQUIRED'; it
// implements neither ListMultipartUploads (501) nor AbortMultipartUpload (405): abort() leaves the parts of
// an aborted upload in s3rver's directory, and sweepLeftovers() finds nothing to sweep (the store treats
// 501 as "no leftovers can be listed"); it reads "Range: bytes=0-0" as "bytes=0-" and sends the whole
// object, which the store cuts to the range asked for.
import { after, before } from 'node:test';
import { describeBlobStore } from './contract/blob-contract.js';
import { openS3Fixture } from '../helpers/s3-blob-fixture.js';
import { startS3rver, type Upstream } from '../helpers/upstreams.js';

let s3rver: Upstream;
before(async () => {
  s3rver = await startS3rver();
});
after(async () => {
  await s3rver?.close();
});

describeBlobStore('s3 on s3rver', () => openS3Fixture(s3rver, { leftovers: false }), {
  noLeftovers: 's3rver does not implement ListMultipartUploads, so no leftover upload can be listed or swept',
});
describeBlobStore(
  's3 on s3rver, with a prefix and foreign objects in the bucket',
  () => openS3Fixture(s3rver, { prefix: 'blobs/', decoys: { multipart: false }, leftovers: false }),
  { noLeftovers: 's3rver does not implement ListMultipartUploads, so no leftover upload can be listed or swept' },
);
