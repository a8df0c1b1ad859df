// A multipart upload by hand with RawS3: `size` bytes of `block` repeated, in parts of `partSize`, at most
// `inFlight` parts at a time — the request pattern of the gateway's s3 blob store, sent straight to an
// upstream to see what the upstream alone makes of it.
import { expectStatus, repeatingBody, type RawS3 } from './s3-raw.js';
import { MiB } from './stats.js';

/** Uploads and completes; returns MB/s (MiB per second) from the first request to the last answer. */
export async function timedMultipartPut(
  client: RawS3,
  bucket: string,
  key: string,
  opts: { size: number; block: Buffer; partSize: number; inFlight: number },
): Promise<number> {
  const start = performance.now();
  const created = expectStatus(
    await client.request('POST', bucket, key, { query: 'uploads=', sink: 'buffer' }),
    200,
    `CreateMultipartUpload ${key}`,
  );
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.body!.toString('utf8'))?.[1];
  if (!uploadId) throw new Error(`CreateMultipartUpload ${key} at ${client.endpoint} answered no UploadId`);
  const count = Math.ceil(opts.size / opts.partSize);
  const etags: string[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const n = next++;
      const size = Math.min(opts.partSize, opts.size - n * opts.partSize);
      const query = `partNumber=${n + 1}&uploadId=${encodeURIComponent(uploadId)}`;
      const r = expectStatus(
        await client.request('PUT', bucket, key, { query, body: repeatingBody(size, opts.block) }),
        200,
        `UploadPart ${n + 1} of ${key}`,
      );
      etags[n] = String(r.headers.etag);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.inFlight, count) }, worker));
  const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const done = await client.request('POST', bucket, key, {
    query: `uploadId=${encodeURIComponent(uploadId)}`,
    body: Buffer.from(xml),
    sink: 'buffer',
  });
  expectStatus(done, 200, `CompleteMultipartUpload ${key}`);
  if (done.body!.includes('<Error>'))
    throw new Error(`CompleteMultipartUpload ${key} at ${client.endpoint}: ${done.body!.toString('utf8').slice(0, 300)}`);
  return opts.size / MiB / ((performance.now() - start) / 1000);
}
