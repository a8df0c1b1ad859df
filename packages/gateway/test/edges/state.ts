// Everything a refused request could have changed, read through the S3 API and from the data
// directory: buckets, objects (key, ETag, size), bucket encryption, multipart uploads and their
// parts, and the files under data/ and tmp/. Equal snapshots before and after = nothing stored.
// Taking a snapshot is also the proof that the gateway still answers signed requests.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  GetBucketEncryptionCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface StoreSnapshot {
  buckets: string[];
  objects: Record<string, string[]>;
  encryption: Record<string, string>;
  uploads: Record<string, string[]>;
  dataFiles: string[];
  tmpFiles: string[];
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

export async function snapshot(s3: S3Client, dataDir: string): Promise<StoreSnapshot> {
  const snap: StoreSnapshot = { buckets: [], objects: {}, encryption: {}, uploads: {}, dataFiles: [], tmpFiles: [] };
  const list = await s3.send(new ListBucketsCommand({}));
  snap.buckets = (list.Buckets ?? []).map((b) => b.Name!).sort();
  for (const Bucket of snap.buckets) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket }));
    snap.objects[Bucket] = (page.Contents ?? []).map((o) => `${o.Key} ${o.ETag} ${o.Size}`);
    try {
      const enc = await s3.send(new GetBucketEncryptionCommand({ Bucket }));
      snap.encryption[Bucket] = JSON.stringify(enc.ServerSideEncryptionConfiguration);
    } catch (e) {
      snap.encryption[Bucket] = (e as { name: string }).name;
    }
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
    snap.uploads[Bucket] = [];
    for (const u of uploads.Uploads ?? []) {
      const parts = await s3.send(new ListPartsCommand({ Bucket, Key: u.Key!, UploadId: u.UploadId! }));
      snap.uploads[Bucket].push(
        `${u.Key} ${u.UploadId} ${(parts.Parts ?? []).map((p) => `${p.PartNumber}:${p.ETag}:${p.Size}`).join(',')}`,
      );
    }
  }
  snap.dataFiles = filesUnder(join(dataDir, 'data'));
  snap.tmpFiles = filesUnder(join(dataDir, 'tmp'));
  return snap;
}
