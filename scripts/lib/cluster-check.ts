// `npm run cluster -- --check`: the proof that the gateways share one backend. An object PUT through
// gateway 1 is read through gateway 2; a multipart upload begun on gateway 1 gets a part from each and is
// completed on gateway 2; and the upstream bucket holds only ciphertext under names that say nothing.
// Throws with what differed; returns what it saw, line by line.
import { createHash, randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { RootCredentials } from './dev-state.js';

export interface CheckTarget {
  /** The gateways' plain-HTTP endpoints; the check uses the first two. */
  gateways: string[];
  creds: RootCredentials;
  /** A client of the upstream itself and the bucket the gateways keep their blobs in. */
  upstream: { client: S3Client; bucket: string };
}

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function bytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`cluster check failed: ${what}`);
}

export async function checkCluster(t: CheckTarget): Promise<string[]> {
  if (t.gateways.length < 2) throw new Error('the cluster check needs two gateways');
  const [one, two] = t.gateways.slice(0, 2).map(
    (endpoint) =>
      new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: t.creds.user, secretAccessKey: t.creds.password },
        maxAttempts: 1,
      }),
  ) as [S3Client, S3Client];
  const report: string[] = [];
  try {
    const bucket = `cluster-check-${randomBytes(4).toString('hex')}`;
    await one.send(new CreateBucketCommand({ Bucket: bucket }));

    // A PUT through gateway 1, read back (HEAD, GET, LIST) through gateway 2.
    const small = randomBytes(100 * 1024);
    await one.send(new PutObjectCommand({ Bucket: bucket, Key: 'put-on-1', Body: small }));
    const head = await two.send(new HeadObjectCommand({ Bucket: bucket, Key: 'put-on-1' }));
    expect(
      head.ContentLength === small.length,
      `HEAD through gateway 2 says ${head.ContentLength} bytes, the PUT through gateway 1 sent ${small.length}`,
    );
    const md5 = createHash('md5').update(small).digest('hex');
    expect(head.ETag === `"${md5}"`, `HEAD through gateway 2 answers ETag ${head.ETag}, expected the MD5 "${md5}"`);
    expect(
      sha(await bytes(two, bucket, 'put-on-1')) === sha(small),
      'GET through gateway 2 returned other bytes than the PUT through gateway 1',
    );
    report.push(`PUT through ${t.gateways[0]}, HEAD and GET through ${t.gateways[1]}: same ${small.length} bytes, ETag = MD5`);

    // A multipart upload begun on gateway 1, a part through each, completed on gateway 2, read through 1.
    const parts = [randomBytes(5 * MiB), randomBytes(MiB + 123)];
    const { UploadId } = await one.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multipart-1-to-2' }));
    const etags: string[] = [];
    for (const [i, client] of [one, two].entries()) {
      const r = await client.send(
        new UploadPartCommand({ Bucket: bucket, Key: 'multipart-1-to-2', UploadId, PartNumber: i + 1, Body: parts[i] }),
      );
      etags.push(r.ETag!);
    }
    const listed = await two.send(new ListPartsCommand({ Bucket: bucket, Key: 'multipart-1-to-2', UploadId }));
    expect(
      listed.Parts?.length === 2,
      `ListParts through gateway 2 shows ${listed.Parts?.length ?? 0} parts, expected the 2 uploaded through both gateways`,
    );
    await two.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'multipart-1-to-2',
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    const whole = Buffer.concat(parts);
    expect(
      sha(await bytes(one, bucket, 'multipart-1-to-2')) === sha(whole),
      'the multipart object completed on gateway 2 reads back other bytes through gateway 1',
    );
    report.push(
      `multipart upload begun on gateway 1, a part through each gateway, completed on gateway 2: ${whole.length} bytes read back through gateway 1`,
    );

    const keys = (await two.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key) ?? [];
    expect(keys.join(',') === 'multipart-1-to-2,put-on-1', `ListObjectsV2 through gateway 2 lists [${keys.join(', ')}]`);

    // What the upstream holds: blobs under names that are neither bucket nor key, none with plaintext in it.
    const blobs = (await t.upstream.client.send(new ListObjectsV2Command({ Bucket: t.upstream.bucket }))).Contents ?? [];
    expect(blobs.length >= 2, `the upstream bucket holds ${blobs.length} blobs, expected at least one per object`);
    for (const b of blobs) {
      expect(!/cluster-check|put-on-1|multipart-1-to-2/.test(b.Key!), `upstream blob name ${b.Key} gives away a bucket or object name`);
      const body = await bytes(t.upstream.client, t.upstream.bucket, b.Key!);
      for (const plain of [small, parts[0]!, parts[1]!]) {
        expect(!body.includes(plain.subarray(1000, 1064)), `upstream blob ${b.Key} holds plaintext`);
      }
    }
    report.push(`the upstream bucket holds ${blobs.length} blobs under opaque names, no plaintext in any of them`);
    return report;
  } finally {
    one.destroy();
    two.destroy();
  }
}
